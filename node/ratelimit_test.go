package node

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
)

// TestRateLimitFromNodeJSON: node.json's rate_limit reaches the API.
func TestRateLimitFromNodeJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	members, err := InitHomes(InitOptions{
		Dir: t.TempDir(), Validators: 1, ChainID: "dd-rl", Host: "127.0.0.1", BasePort: 29800, APIBasePort: 29850,
		Power: 10, CommitTimeout: 100 * time.Millisecond, AppState: AppState([]app.Stream{}, 5),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(members[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RateLimit = &RateLimitConfig{WriteRate: 0.01, WriteBurst: 1, Loopback: true}
	if err := cfg.Save(members[0].Home); err != nil {
		t.Fatal(err)
	}
	net := &testNet{t: t, members: members, nodes: make([]*Node, 1)}
	net.start(0)
	t.Cleanup(func() { net.nodes[0].Stop() })
	post := func() int {
		resp, err := http.Post("http://127.0.0.1:29850/v1/tx", "application/octet-stream", strings.NewReader("not a transaction"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(); c != http.StatusBadRequest {
		t.Fatalf("first write: %d, want 400 (a bad transaction, within the limit)", c)
	}
	if c := post(); c != http.StatusTooManyRequests {
		t.Fatalf("second write: %d, want 429 (burst of 1)", c)
	}
}
