package api

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// feedWS serves GET /v1/streams/{id}/feed: a WebSocket of JSON text
// messages, one per record of the stream decided from now on.
func (h *Handler) feedWS(w http.ResponseWriter, r *http.Request) {
	id, ok := streamID(w, r.PathValue("id"))
	if !ok {
		return
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		writeError(w, http.StatusUpgradeRequired, "this is a WebSocket endpoint; connect with a WebSocket client (ws://HOST/v1/streams/"+id+"/feed), or page through GET /v1/streams/"+id+"/records")
		return
	}
	if _, err := h.app.Stream(id); err != nil {
		h.appError(w, r, err, unknownStream(id))
		return
	}
	h.loadNames()
	sub, err := h.feed.subscribe(id)
	if err != nil {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	// The server's read and write timeouts would otherwise carry over to
	// the hijacked connection and cut the feed after them.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.origins})
	if err != nil {
		h.feed.unsubscribe(sub) // Accept has answered the client
		return
	}
	c.SetReadLimit(4096) // clients have nothing to say; CloseRead answers their control frames
	ctx := c.CloseRead(context.Background())
	h.serveFeed(ctx, c, sub)
}

// serveFeed writes sub's records to c until the client leaves or the feed
// drops it.
func (h *Handler) serveFeed(ctx context.Context, c *websocket.Conn, sub *subscriber) {
	f := h.feed
	defer f.unsubscribe(sub)
	ping := time.NewTicker(f.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-sub.done:
			h.closeDropped(c, sub)
			return
		default:
		}
		select {
		case <-ctx.Done(): // the client closed or the connection broke
			c.CloseNow()
			return
		case <-sub.done:
			h.closeDropped(c, sub)
			return
		case m := <-sub.ch:
			if h.feedWriteHook != nil {
				h.feedWriteHook()
			}
			wctx, cancel := context.WithTimeout(ctx, f.opts.WriteTimeout)
			err := c.Write(wctx, websocket.MessageText, m.data)
			cancel()
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					f.droppedStall.Add(1)
					h.log.Info("api: feed subscriber stalled, dropped", "stream", sub.stream)
				}
				c.CloseNow()
				return
			}
			f.sent.Add(1)
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, f.opts.WriteTimeout)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				// A client that has not closed but does not answer
				// a ping within the write timeout is not reading:
				// dropped, and counted, like one whose writes stall.
				// A ping cut short by the client's own close fails
				// otherwise (possibly before ctx says so): not a drop.
				if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					f.droppedPing.Add(1)
					h.log.Info("api: feed subscriber did not answer a ping, dropped", "stream", sub.stream)
				}
				c.CloseNow()
				return
			}
		}
	}
}

// closeDropped closes the connection of a subscriber the feed dropped,
// with its code and a reason saying what to do next.
func (h *Handler) closeDropped(c *websocket.Conn, sub *subscriber) {
	reason := sub.reason
	if sub.code == CloseTooSlow {
		lowest := sub.lost
		for {
			select {
			case m := <-sub.ch:
				lowest = min(lowest, m.index)
				continue
			default:
			}
			break
		}
		reason = slowReason(lowest, cap(sub.ch), sub.positions)
		h.log.Info("api: feed subscriber too slow, dropped", "stream", sub.stream, "from", lowest)
	}
	c.Close(sub.code, reason)
}

// loadNames gives the feed the validators' names once the chain is
// initialised (the validator set is fixed at genesis).
func (h *Handler) loadNames() {
	if h.feed.hasNames() {
		return
	}
	vs, err := h.app.Validators()
	if err != nil || len(vs) == 0 {
		return
	}
	names := make(map[string]string, len(vs))
	for _, v := range vs {
		if v.Name != "" {
			names[hex.EncodeToString(v.Address)] = v.Name
		}
	}
	h.feed.setNames(names)
}

// headerHasToken reports whether a comma-separated header holds token
// (case-insensitive).
func headerHasToken(hd http.Header, name, token string) bool {
	for _, v := range hd.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
