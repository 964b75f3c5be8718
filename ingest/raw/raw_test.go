package raw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// feedServer is a third-party feed: it wants an API key header and a
// subscribe message, then sends text and binary messages; the first
// connection is cut after cutAfter messages.
type feedServer struct {
	conns    atomic.Int32
	cutAfter int
	big      bool
}

func (f *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Api-Key") != "k" {
		http.Error(w, "no key", http.StatusUnauthorized)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	n := f.conns.Add(1)
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	_, sub, err := c.Read(ctx)
	if err != nil || string(sub) != `{"op":"subscribe"}` {
		c.Close(websocket.StatusPolicyViolation, "subscribe first")
		return
	}
	if f.big {
		c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", 2000)))
	}
	for i := 0; ; i++ {
		if n == 1 && i == f.cutAfter {
			return // the connection drops
		}
		typ, msg := websocket.MessageText, fmt.Appendf(nil, `{"conn":%d,"i":%d}`, n, i)
		if i%3 == 2 {
			typ, msg = websocket.MessageBinary, []byte{byte(n), byte(i)}
		}
		if c.Write(ctx, typ, msg) != nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSubscribeHeadersMessagesAndGapOnReconnect(t *testing.T) {
	f := &feedServer{cutAfter: 5}
	s := httptest.NewServer(f)
	defer s.Close()
	cfg := Config{URL: "ws" + strings.TrimPrefix(s.URL, "http"), Header: map[string]string{"X-Api-Key": "k"}, Subscribe: []string{`{"op":"subscribe"}`}, MinBackoff: 10 * time.Millisecond}
	var evs []Event
	done := errors.New("done")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Run(ctx, cfg, func(ev Event) error {
		evs = append(evs, ev)
		if len(evs) > 14 {
			return done
		}
		return nil
	})
	if !errors.Is(err, done) {
		t.Fatal(err)
	}
	// Connected, 5 messages, Gap, Connected, messages of the second connection.
	want := "C MMMMM G C "
	var got strings.Builder
	bin := 0
	for i, ev := range evs {
		switch ev := ev.(type) {
		case Connected:
			got.WriteString("C ")
		case Message:
			if i < 6 {
				got.WriteString("M")
			}
			if ev.Binary {
				bin++
			}
		case Gap:
			got.WriteString(" G ")
		}
	}
	if !strings.HasPrefix(got.String(), want) {
		t.Fatalf("events %q, want %q…", got.String(), want)
	}
	if bin == 0 {
		t.Fatal("no binary message delivered")
	}
	if m := evs[8].(Message); string(m.Data) != `{"conn":2,"i":0}` {
		t.Fatalf("second connection's first message %q", m.Data)
	}
}

func TestOversizedMessageIsAGapNotAMessage(t *testing.T) {
	s := httptest.NewServer(&feedServer{big: true, cutAfter: -1})
	defer s.Close()
	cfg := Config{URL: "ws" + strings.TrimPrefix(s.URL, "http"), Header: map[string]string{"X-Api-Key": "k"}, Subscribe: []string{`{"op":"subscribe"}`}, MaxMessageBytes: 1000, MaxAttempts: 2, MinBackoff: time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Run(ctx, cfg, func(ev Event) error {
		if m, ok := ev.(Message); ok {
			return fmt.Errorf("a message of %d bytes got through a 1000-byte limit", len(m.Data))
		}
		return nil
	})
	if !errors.Is(err, ErrGaveUp) {
		t.Fatal(err)
	}
}

func TestSilentFeedIsReconnected(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		<-r.Context().Done()
	}))
	defer s.Close()
	cfg := Config{URL: "ws" + strings.TrimPrefix(s.URL, "http"), ReadTimeout: 50 * time.Millisecond, MinBackoff: time.Millisecond, MaxAttempts: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Run(ctx, cfg, func(Event) error { return nil })
	if !errors.Is(err, ErrGaveUp) || !strings.Contains(err.Error(), "sent nothing") {
		t.Fatal(err)
	}
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	cfg := Config{URL: "ws://127.0.0.1:1/", MinBackoff: time.Millisecond, MaxBackoff: 8 * time.Millisecond, MaxAttempts: 7, DialTimeout: time.Second}
	var waits []time.Duration
	err := Run(context.Background(), cfg, func(ev Event) error {
		if g, ok := ev.(Gap); ok {
			waits = append(waits, g.Retry)
		}
		return nil
	})
	if !errors.Is(err, ErrGaveUp) || len(waits) != 6 {
		t.Fatalf("%v after %d waits", err, len(waits))
	}
	for i, w := range waits {
		if w > 8*time.Millisecond*12/10 {
			t.Fatalf("wait %d of %s beyond the 8ms bound", i, w)
		}
	}
	if waits[5] < 4*waits[0] {
		t.Fatalf("backoff did not grow: %v", waits)
	}
}

func TestConfigBounds(t *testing.T) {
	bad := []Config{
		{URL: "http://x/"},
		{URL: "ws:///x"},
		{URL: "ws://x/", Subscribe: make([]string, MaxSubscribe+1)},
		{URL: "ws://x/", Subscribe: []string{strings.Repeat("a", MaxSubscribeBytes+1)}},
		{URL: "ws://x/", Subscribe: []string{""}},
		{URL: "ws://x/", Header: map[string]string{"A": "b\r\nC: d"}},
		{URL: "ws://x/", MaxMessageBytes: HardMaxMessageBytes + 1},
		{URL: "ws://x/", MaxBackoff: HardMaxBackoff + 1},
	}
	for i, c := range bad {
		if c.Validate() == nil {
			t.Errorf("config %d accepted", i)
		}
	}
}
