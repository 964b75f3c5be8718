// Package gen makes the content of DataDragon's demo data sources: sensor
// readings, market ticks, log lines and a file's bytes, as frames that are a
// pure function of (kind, seed, seq) and of the stream's clock.
//
// Determinism is the point. Every validator observing a source must see the
// same frame k whoever asks and whenever they ask, including after the
// source restarts; and a test (or an auditor) must be able to regenerate the
// frames without the network. So no generator reads the wall clock or keeps
// state between frames: frame k's payload is computed from the seed, k and
// k's source time alone, with a small integer-only mixing function (no
// floating point, so every platform produces the same bytes).
//
// # Source time
//
// A source's frame k carries the source time
//
//	time(k) = epoch + k · interval,   interval = round(1e9 / rate) ns
//
// where epoch is fixed per stream (DefaultEpoch, 2025-01-01T00:00:00Z,
// unless configured) and rate is the configured frames per second. It is
// not the moment the frame was sent: the wall clock only paces emission. A
// restarted source therefore emits the very same frames again, and
// source-time chunk windows fall on the same frames for every observer.
// When each frame was actually observed is the observer's own business (the
// node's observation time).
package gen
