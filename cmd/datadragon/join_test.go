package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/node"
)

// join writes a follower home whose node.json joins by state sync with
// what the command line said, refuses an incomplete state sync and an
// existing home.
func TestJoinWritesAFollowerHome(t *testing.T) {
	dir := t.TempDir()
	net := filepath.Join(dir, "net")
	code, out, errOut := runCLI(t, "init", "--validators", "1", "--out", net, "--p2p-port", "24800")
	wantCode(t, nil, code, exitOK, out, errOut)
	home := filepath.Join(dir, "follower")
	hash := strings.Repeat("ab", 32)
	args := []string{"join", "--home", home, "--genesis", filepath.Join(net, "genesis.json"), "--peer", "0123456789abcdef0123456789abcdef01234567@127.0.0.1:24800",
		"--p2p-listen", "127.0.0.1:24850", "--rpc-server", "127.0.0.1:24801", "--rpc-server", "http://127.0.0.1:24811",
		"--trust-height", "120", "--trust-hash", hash}
	code, out, errOut = runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	if !strings.Contains(out, "state sync, trusting block 120") || !strings.Contains(out, "datadragon node --home "+home) {
		t.Errorf("join output: %s", out)
	}
	cfg, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.StateSync
	if s == nil || s.TrustHeight != 120 || s.TrustHash != hash || len(s.RPCServers) != 2 || cfg.Moniker != "follower" || len(cfg.Peers) != 1 {
		t.Fatalf("node.json: %+v, state_sync %+v", cfg, s)
	}
	code, out, errOut = runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.Contains(errOut, "already exists") {
		t.Errorf("a second join into the same home: %s", errOut)
	}
	for _, bad := range [][]string{
		{"join", "--home", home + "2", "--genesis", filepath.Join(net, "genesis.json"), "--peer", "x@h:1", "--p2p-listen", "127.0.0.1:1", "--trust-height", "5"},
		{"join", "--genesis", filepath.Join(net, "genesis.json")},
	} {
		code, out, errOut := runCLI(t, bad...)
		wantCode(t, bad, code, exitUsage, out, errOut)
	}
}
