package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// node.json's snapshot_interval, snapshot_keep and state_sync reach the
// app and CometBFT as written, with their defaults, and careless values
// are refused naming the field and what to write instead.
func TestStateSyncConfig(t *testing.T) {
	load := func(extra string) (*Config, error) {
		home := t.TempDir()
		js := `{"moniker":"v0","p2p_listen":"127.0.0.1:1","peers":[],"commit_timeout":"100ms"` + extra + `}`
		if err := os.WriteFile(filepath.Join(home, NodeFile), []byte(js), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(home)
	}
	c, err := load("")
	if err != nil {
		t.Fatal(err)
	}
	if sc := c.snapshotConfig(nil); sc.Interval != DefaultSnapshotInterval || sc.Keep != DefaultSnapshotKeep || c.comet(t.TempDir()).StateSync.Enable || c.snapshotWarning() != "" {
		t.Fatalf("defaults: %+v, state sync %v, warning %q", sc, c.comet(t.TempDir()).StateSync.Enable, c.snapshotWarning())
	}
	hash := strings.Repeat("AB", 32)
	c, err = load(`,"snapshot_interval":0,"snapshot_keep":5,"state_sync":{"rpc_servers":["10.0.0.1:26657","http://10.0.0.2:26657"],"trust_height":42,"trust_hash":"` + hash + `","trust_period":"24h","discovery_time":"6s"}`)
	if err != nil {
		t.Fatal(err)
	}
	ss := c.comet(t.TempDir()).StateSync
	if sc := c.snapshotConfig(nil); sc.Interval != 0 || sc.Keep != 5 {
		t.Fatalf("snapshot settings: %+v", sc)
	}
	if !ss.Enable || ss.TrustHeight != 42 || ss.TrustHash != strings.ToLower(hash) || ss.TrustPeriod != 24*time.Hour || ss.DiscoveryTime != 6*time.Second ||
		len(ss.RPCServers) != 2 || ss.RPCServers[0] != "http://10.0.0.1:26657" || ss.RPCServers[1] != "http://10.0.0.2:26657" {
		t.Fatalf("CometBFT's statesync config: %+v", ss)
	}
	if err := ss.ValidateBasic(); err != nil {
		t.Fatalf("CometBFT refuses the mapped config: %v", err)
	}
	if c, err = load(`,"retain_blocks":100,"snapshot_interval":80`); err != nil || !strings.Contains(c.snapshotWarning(), "at most 50") {
		t.Fatalf("a snapshot interval beyond half the retain window: %v, warning %q", err, c.snapshotWarning())
	}
	ok := `"rpc_servers":["a:1","b:2"],"trust_height":5,"trust_hash":"` + hash + `"`
	for _, bad := range []struct{ json, want string }{
		{`,"snapshot_interval":-1`, "snapshot_interval"},
		{`,"snapshot_keep":1000`, "snapshot_keep"},
		{`,"state_sync":{"rpc_servers":["a:1"],"trust_height":5,"trust_hash":"` + hash + `"}`, "2 to 32 nodes"},
		{`,"state_sync":{"rpc_servers":["a:1","no port"],"trust_height":5,"trust_hash":"` + hash + `"}`, "host:port"},
		{`,"state_sync":{"rpc_servers":["a:1","b:2"],"trust_hash":"` + hash + `"}`, "trust_height"},
		{`,"state_sync":{"rpc_servers":["a:1","b:2"],"trust_height":5,"trust_hash":"abc"}`, "64 hex digits"},
		{`,"state_sync":{` + ok + `,"discovery_time":"1s"}`, "discovery_time"},
		{`,"state_sync":{` + ok + `,"trust_period":"-1h"}`, "trust_period"},
	} {
		if _, err := load(bad.json); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("node.json with %s: %v; want an error naming %q", bad.json, err, bad.want)
		}
	}
}
