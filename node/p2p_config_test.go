package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestP2PExternal: p2p_external becomes the address CometBFT tells its
// peers (so a peer that lost the connection can redial it), and an
// address no peer could dial is refused when the config is read.
func TestP2PExternal(t *testing.T) {
	load := func(extra string) (*Config, error) {
		home := t.TempDir()
		js := `{"moniker":"v0","p2p_listen":"0.0.0.0:26656","peers":[],"commit_timeout":"100ms"` + extra + `}`
		if err := os.WriteFile(filepath.Join(home, NodeFile), []byte(js), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(home)
	}
	c, err := load(`,"p2p_external":"node2:26676"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.comet(t.TempDir()).P2P.ExternalAddress; got != "node2:26676" {
		t.Fatalf("CometBFT's external address is %q, want node2:26676", got)
	}
	c, err = load(``)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.comet(t.TempDir()).P2P.ExternalAddress; got != "" {
		t.Fatalf("without p2p_external CometBFT's external address is %q, want empty", got)
	}
	for _, bad := range []string{"node2", "0.0.0.0:26656", "[::]:26656", "node2:0", "node2:70000", "a@b:1", ":26656"} {
		if _, err := load(`,"p2p_external":"` + bad + `"`); err == nil || !strings.Contains(err.Error(), "p2p_external") {
			t.Errorf("p2p_external %q: got %v, want an error naming p2p_external", bad, err)
		}
	}
}
