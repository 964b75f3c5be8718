// Package observe is the validator's side of a data source: it subscribes
// to a source's WebSocket, delivers its frames in seq order exactly once,
// and keeps doing so across disconnections.
//
// Run dials the source with ?from=S, reads frames, and hands each event to
// a callback: Data for a frame, Gap for frames that will never come (the
// source reported them gone, or skipped them), End when the stream is
// finished, Connected and Disconnected for the connection's life. When the
// connection drops (network, source restart, or the source dropping a slow
// subscriber) it waits with exponential backoff and jitter, then resumes
// from the seq after the last one delivered, so nothing is duplicated and
// nothing is skipped without a Gap. The callback runs on Run's goroutine;
// a slow callback slows reading, which the source answers by dropping the
// connection, which Run then resumes: memory stays bounded either way.
//
// Every message is limited to frame.MaxMessageSize bytes before it is read,
// and a ping every PingInterval detects a source that vanished without
// closing the connection. URLs may be ws://, wss:// (TLS: the source's
// certificate is verified against the system roots, or Config.TLS's
// RootCAs, or Config.HTTPClient's transport), http:// or https://. A
// certificate that does not verify is a failed connection like any other:
// Run reports it in Disconnected and keeps retrying.
package observe
