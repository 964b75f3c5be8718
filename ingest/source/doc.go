// Package source serves a generated data stream over WebSocket in the
// DataDragon frame format: the "endpoints that generate a data stream" of
// the seed, which validators observe.
//
// A Server produces frames at a fixed rate from a gen.Generator and keeps
// the newest ones in a replay buffer bounded by a number of frames and of
// bytes. Each subscriber has a cursor into that buffer rather than a queue
// of its own: producing a frame never waits for anyone, and a subscriber
// costs a goroutine and at most one frame in flight, however slow it is. A
// subscriber that falls so far behind that its next frame has left the
// buffer is dropped with close code frame.CloseTooSlow and a reason saying
// where to resume; a write that stalls longer than WriteTimeout drops it
// too. A new subscriber asking for ?from=S gets the buffered frames from S
// on, then live ones; if S has already left the buffer it first gets a gap
// message for S..oldest-1 (see package frame).
//
// Frame k's payload and source time depend only on the generator, its seed
// and the stream clock (package gen), never on when the frame is sent, so
// every subscriber sees the same frame k and a restarted source re-emits
// the same stream from seq 0.
//
// The server also answers GET /healthz with a JSON status (kind, rate,
// next and oldest buffered seq, subscribers).
//
// A Server is a plain http.Handler: served with http.Server.ServeTLS (a
// certificate in TLSConfig) the stream is wss://, which observers verify
// against their roots (observe.Config.TLS).
package source
