package api

import (
	"io"
	"net/http"
	"time"
)

// A request refused with 413 is usually still sending its body. Closing the
// connection with unread bytes in the kernel's buffer makes it send a TCP
// reset, and a client that writes its whole body before it reads (most
// simple clients, and curl on a slow link) then sees "connection reset"
// instead of the answer: the reset discards the 413 already delivered to
// it. So the answer is flushed first, then up to maxRefusedDrain bytes of
// the body are read and discarded within refusedDrainTime, and only then is
// the connection closed. A body declared larger than that is not read at
// all, and one that trickles is cut at the deadline: the bound is what a
// refusal may cost this node.
const (
	maxRefusedDrain  = 16 << 20
	refusedDrainTime = 10 * time.Second
)

// drainRefused flushes the 413 already written to w and discards what is
// left of body (declared is its Content-Length, -1 if unknown), within the
// bounds above. The connection is closed after it
// (the answer says Connection: close).
func drainRefused(w http.ResponseWriter, body io.ReadCloser, declared int64) {
	if body == nil || body == http.NoBody || declared > maxRefusedDrain {
		return
	}
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(refusedDrainTime))
	_, _ = io.CopyN(io.Discard, body, maxRefusedDrain)
}
