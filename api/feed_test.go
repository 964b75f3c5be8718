package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

func dialFeed(t *testing.T, srvURL, stream string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srvURL, "http")+"/v1/streams/"+stream+"/feed", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func readRecord(t *testing.T, c *websocket.Conn) (Record, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("message type %v", typ)
	}
	var r Record
	var m map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &m)
	return r, m
}

func summary(height int64, recs ...*wire.Record) app.CommitSummary {
	return app.CommitSummary{Height: height, AppHash: []byte{1}, Records: recs}
}

func TestFeedDeliversRecords(t *testing.T) {
	a := newTestAPI(t, nil)
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	feed := a.h.Feed()
	sensor := dialFeed(t, srv.URL, "sensor")
	sensor2 := dialFeed(t, srv.URL, "sensor")
	ticker := dialFeed(t, srv.URL, "ticker")
	waitFor(t, "3 subscribers", func() bool { return feed.Subscribers() == 3 })

	feed.Publish(summary(10, wireRecord("sensor", 300, false), wireRecord("ticker", 9, true), wireRecord("sensor", 301, false)))
	feed.Publish(summary(11))                                     // nothing decided
	feed.Publish(summary(12, wireRecord("other", 1, false), nil)) // nobody follows it
	feed.Publish(summary(13, wireRecord("sensor", 302, false)))

	for _, c := range []*websocket.Conn{sensor, sensor2} {
		for _, want := range []uint64{300, 301, 302} {
			r, m := readRecord(t, c)
			if r.Stream != "sensor" || r.Index != want || r.Status != "accepted" || r.Digest != fixtureDigest("sensor", want).String() {
				t.Fatalf("got %+v, want sensor/%d", r, want)
			}
			hasKeys(t, "feed record", m, "stream", "index", "digest", "timestamp", "height", "status", "attestations")
			hasKeys(t, "feed attestation", m["attestations"].([]any)[0], "validator", "digest", "time", "verdict", "signature_ok")
			if r.Attestations[1].Name != "node1" || !r.Attestations[1].SignatureOK || r.Attestations[3].Outcome != "faulty" {
				t.Fatalf("attestations %+v", r.Attestations)
			}
		}
	}
	r, _ := readRecord(t, ticker)
	if r.Stream != "ticker" || r.Index != 9 || r.Status != "disputed" || r.Timestamp != nil {
		t.Fatalf("ticker got %+v", r)
	}

	// A client that leaves is forgotten.
	ticker.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "2 subscribers", func() bool { return feed.Subscribers() == 2 })

	// Shutdown ends every subscription with 1001 and a reason.
	feed.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := sensor.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after Close: %v", err)
	}
	if feed.Subscribers() != 0 {
		t.Fatalf("%d subscribers after Close", feed.Subscribers())
	}
	code, body, _ := a.do(http.MethodGet, "/v1/streams/sensor/feed", nil)
	if code != http.StatusUpgradeRequired {
		t.Fatalf("plain GET: %d %s", code, body)
	}
	_, _, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/streams/sensor/feed", nil)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("dial after Close: %v", err)
	}
}

func TestFeedDropsSlowSubscriber(t *testing.T) {
	a := newTestAPI(t, func(c *Config) { c.Feed = NewFeed(FeedOptions{QueueLen: 2}) })
	release := make(chan struct{})
	blocked := make(chan struct{}, 1)
	a.h.feedWriteHook = func() {
		select {
		case blocked <- struct{}{}:
		default:
		}
		<-release
	}
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	feed := a.h.Feed()
	slow := dialFeed(t, srv.URL, "sensor")
	waitFor(t, "the subscriber", func() bool { return feed.Subscribers() == 1 })

	// The writer takes record 0 and blocks; 1 and 2 fill the queue; 3
	// overflows it. Publish never waits.
	feed.Publish(summary(1, wireRecord("sensor", 0, false)))
	<-blocked
	start := time.Now()
	for i := uint64(1); i <= 5; i++ {
		feed.Publish(summary(int64(i+1), wireRecord("sensor", i, false)))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Publish waited %v for a slow subscriber", d)
	}
	if feed.Subscribers() != 0 || feed.droppedSlow.Load() != 1 {
		t.Fatalf("subscribers %d, dropped %d", feed.Subscribers(), feed.droppedSlow.Load())
	}
	close(release)

	// The client gets what was in flight, then the close with a reason
	// naming the lowest index it missed.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []uint64
	for {
		_, b, err := slow.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != CloseTooSlow || !strings.Contains(ce.Reason, "too slow") {
				t.Fatalf("close: %v", err)
			}
			want := fmt.Sprintf("from index %d", len(got))
			if !strings.Contains(ce.Reason, want) {
				t.Fatalf("reason %q does not say %q (got %v)", ce.Reason, want, got)
			}
			break
		}
		var r Record
		json.Unmarshal(b, &r)
		got = append(got, r.Index)
	}
	if len(got) != 1 || got[0] != 0 {
		t.Fatalf("delivered %v", got)
	}
	_, metrics, _ := a.do(http.MethodGet, "/metrics", nil)
	if !strings.Contains(string(metrics), `datadragon_feed_dropped_total{reason="slow"} 1`) {
		t.Fatal("the drop is not in the metrics")
	}
}

func TestSlowReasonFits(t *testing.T) {
	r := slowReason(^uint64(0), 1<<30, true)
	if len(r) > 123 {
		t.Fatalf("close reason of %d bytes: %s", len(r), r)
	}
}

func TestFeedRefusals(t *testing.T) {
	a := newTestAPI(t, func(c *Config) { c.Feed = NewFeed(FeedOptions{MaxSubscribers: 1}) })
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws := "ws" + strings.TrimPrefix(srv.URL, "http")
	// A cross-origin browser is refused unless allowed.
	hd := http.Header{"Origin": []string{"https://evil.example"}}
	if _, resp, err := websocket.Dial(ctx, ws+"/v1/streams/ticker/feed", &websocket.DialOptions{HTTPHeader: hd}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross origin: %v", err)
	}
	for path, want := range map[string]int{
		"/v1/streams/nope/feed":   404,
		"/v1/streams/-bad/feed":   400,
		"/v1/streams/sensor/feed": 0,
	} {
		c, resp, err := websocket.Dial(ctx, ws+path, nil)
		if want == 0 {
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			defer c.CloseNow()
			continue
		}
		if err == nil || resp == nil || resp.StatusCode != want {
			t.Fatalf("%s: %v %v", path, err, resp)
		}
	}
	waitFor(t, "the subscriber", func() bool { return a.h.Feed().Subscribers() == 1 })
	_, resp, err := websocket.Dial(ctx, ws+"/v1/streams/ticker/feed", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("over the limit: %v %v", err, resp)
	}
	if n := a.h.Feed().Subscribers(); n != 1 {
		t.Fatalf("refused dials left %d subscribers", n)
	}
	a.fake.initialised = false
	if _, resp, err := websocket.Dial(ctx, ws+"/v1/streams/ticker/feed", nil); err == nil || resp.StatusCode != 503 {
		t.Fatalf("uninitialised: %v", err)
	}
}

// The server's read and write timeouts must not cut the feed.
func TestFeedOutlivesServerTimeouts(t *testing.T) {
	a := newTestAPI(t, func(c *Config) { c.Feed = NewFeed(FeedOptions{PingInterval: 50 * time.Millisecond}) })
	srv := httptest.NewUnstartedServer(a.h)
	srv.Config.ReadTimeout = 200 * time.Millisecond
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()
	c := dialFeed(t, srv.URL, "sensor")
	// Pings need a reader on the client side too.
	ctx := c.CloseRead(context.Background())
	_ = ctx
	waitFor(t, "the subscriber", func() bool { return a.h.Feed().Subscribers() == 1 })
	time.Sleep(500 * time.Millisecond)
	if n := a.h.Feed().Subscribers(); n != 1 {
		t.Fatalf("the feed was cut after the server timeouts (%d subscribers)", n)
	}
	if ctx.Err() != nil {
		t.Fatal("the connection was closed")
	}
}

func TestFeedOutlivesServerTimeoutsDelivering(t *testing.T) {
	a := newTestAPI(t, nil)
	srv := httptest.NewUnstartedServer(a.h)
	srv.Config.ReadTimeout = 200 * time.Millisecond
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()
	c := dialFeed(t, srv.URL, "sensor")
	waitFor(t, "the subscriber", func() bool { return a.h.Feed().Subscribers() == 1 })
	time.Sleep(400 * time.Millisecond)
	a.h.Feed().Publish(summary(5, wireRecord("sensor", 77, false)))
	if r, _ := readRecord(t, c); r.Index != 77 {
		t.Fatalf("got %+v", r)
	}
}

// TestFeedDropsUnresponsiveSubscriber: a client that holds its
// subscription open but never reads answers no ping; the feed drops it and
// counts the drop, even when no record was ever sent to it.
func TestFeedDropsUnresponsiveSubscriber(t *testing.T) {
	a := newTestAPI(t, func(c *Config) {
		// The pong deadline leaves a loaded machine time to answer: the
		// polite client below must never miss it.
		c.Feed = NewFeed(FeedOptions{PingInterval: 50 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	})
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A client that never calls Read never answers a ping.
	silent, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/streams/sensor/feed", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.CloseNow()
	feed := a.h.Feed()
	waitFor(t, "the subscriber", func() bool { return feed.Subscribers() == 1 })
	waitFor(t, "the silent subscriber to be dropped", func() bool { return feed.Subscribers() == 0 })
	_, metrics, _ := a.do(http.MethodGet, "/metrics", nil)
	if !strings.Contains(string(metrics), `datadragon_feed_dropped_total{reason="unresponsive"} 1`) {
		t.Fatalf("the drop is not counted in the metrics:\n%s", grepLines(string(metrics), "feed_dropped"))
	}
	// A client that closes on its own is not a drop.
	polite, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/streams/sensor/feed", nil)
	if err != nil {
		t.Fatal(err)
	}
	go polite.Read(ctx) // answers pings
	waitFor(t, "the second subscriber", func() bool { return feed.Subscribers() == 1 })
	time.Sleep(300 * time.Millisecond) // several pings, all answered
	if feed.Subscribers() != 1 {
		t.Fatal("a subscriber that answers pings was dropped")
	}
	polite.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the second subscriber to leave", func() bool { return feed.Subscribers() == 0 })
	_, metrics, _ = a.do(http.MethodGet, "/metrics", nil)
	if !strings.Contains(string(metrics), `datadragon_feed_dropped_total{reason="unresponsive"} 1`) {
		t.Fatalf("a client that closed was counted as dropped:\n%s", grepLines(string(metrics), "feed_dropped"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
