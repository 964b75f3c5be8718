//go:build unix

package api

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// smallBufListener shrinks the send buffer of accepted connections so a
// client that does not read stalls the server's writes quickly.
type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

func TestFeedDropsStalledSubscriber(t *testing.T) {
	a := newTestAPI(t, func(c *Config) {
		c.Feed = NewFeed(FeedOptions{QueueLen: 100000, WriteTimeout: 100 * time.Millisecond})
	})
	srv := httptest.NewUnstartedServer(a.h)
	srv.Listener = smallBufListener{srv.Listener}
	srv.Start()
	defer srv.Close()
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/streams/sensor/feed", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	feed := a.h.Feed()
	waitFor(t, "the subscriber", func() bool { return feed.Subscribers() == 1 })
	// The client never reads; a few MB of records stall the writes.
	for i := uint64(0); feed.droppedStall.Load() == 0; i++ {
		if ctx.Err() != nil {
			t.Fatal("the stalled subscriber was never dropped")
		}
		feed.Publish(summary(int64(i+1), wireRecord("sensor", i, false)))
		if i%100 == 99 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(t, "the stalled subscriber to leave", func() bool { return feed.Subscribers() == 0 })
}
