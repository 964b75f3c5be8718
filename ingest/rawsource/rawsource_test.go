package rawsource

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/datadragon/datadragon/ingest/digest"
)

var norm = digest.Normalize{IgnoreField: "type", IgnoreValues: []string{"heartbeat"}, DropFields: []string{"conn_id"}}

func dial(t *testing.T, url string, subscribe bool) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if subscribe {
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","channels":["ticker"]}`)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Two subscribers see different bytes (connection ids, heartbeats) that
// normalise to the same run of messages; the dropped-to one misses some.
func TestSubscribersNormaliseAlikeAndDropsMissMessages(t *testing.T) {
	s, err := New(Config{Rate: 500, Seed: 3, Heartbeat: 20 * time.Millisecond, DropTo: 2, DropEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hs := httptest.NewServer(s)
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/feed"
	a, b := dial(t, url, true), dial(t, url, true)
	time.Sleep(50 * time.Millisecond) // both subscribed before production
	go s.Run(ctx)
	read := func(c *websocket.Conn, n int) (kept [][]byte, beats int, raw [][]byte) {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		for len(kept) < n {
			_, m, err := c.Read(rctx)
			if err != nil {
				t.Fatal(err)
			}
			raw = append(raw, m)
			out, ign := norm.Apply(m)
			if ign {
				beats++
				continue
			}
			kept = append(kept, out)
		}
		return
	}
	ka, beats, rawA := read(a, 200)
	kb, _, rawB := read(b, 160)
	if beats == 0 {
		t.Fatal("no heartbeats")
	}
	if string(rawA[len(rawA)-1]) == string(rawB[len(rawB)-1]) || !strings.Contains(string(rawA[5]), `"conn_id":`) {
		t.Fatal("subscribers got the same bytes: no connection id")
	}
	// b misses every 5th message: its kept messages are a's without them.
	j := 0
	for i := 0; j < len(kb); i++ {
		if (i+2)%5 == 0 {
			continue
		}
		if string(ka[i]) != string(kb[j]) {
			t.Fatalf("message %d of the dropped-to subscriber is %s, the other saw %s", j, kb[j], ka[i])
		}
		j++
	}
}

func TestSubscribeFirst(t *testing.T) {
	s, _ := New(Config{Rate: 10})
	hs := httptest.NewServer(s)
	defer hs.Close()
	c := dial(t, "ws"+strings.TrimPrefix(hs.URL, "http"), false)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c.Write(ctx, websocket.MessageText, []byte(`{"hello":1}`))
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("a client that did not subscribe got %v", err)
	}
	for _, bad := range []Config{{Rate: 0}, {Rate: MaxRate * 2}, {Rate: 1, DropTo: 1}, {Rate: 1, MaxSubscribers: MaxSubscribersLimit + 1}} {
		if _, err := New(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
