package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/zk/ziggy"
)

func TestInitHomes(t *testing.T) {
	dir := t.TempDir()
	var seen []Member
	members, err := InitHomes(InitOptions{
		Dir: dir, Validators: 3, ChainID: "test-chain", Host: "127.0.0.1",
		BasePort: 36000, Power: 10, CommitTimeout: 100 * time.Millisecond,
		AppState: func(ms []Member) (json.RawMessage, error) {
			seen = ms
			return json.RawMessage(`{"ok":true}`), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 3 || len(seen) != 3 {
		t.Fatalf("got %d members, app state saw %d", len(members), len(seen))
	}
	gen, err := cmttypes.GenesisDocFromFile(filepath.Join(dir, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	var state bytes.Buffer
	if err := json.Compact(&state, gen.AppState); err != nil {
		t.Fatal(err)
	}
	if gen.ChainID != "test-chain" || len(gen.Validators) != 3 || state.String() != `{"ok":true}` {
		t.Fatalf("genesis %+v", gen)
	}
	if !gen.ConsensusParams.Feature.VoteExtensionsEnabled(1) {
		t.Fatal("vote extensions are not enabled from height 1")
	}
	// CometBFT keeps pruned blocks' headers and commits for the evidence
	// age: its 48 h default kept a gigabyte a node at the demo's rate.
	if ev := gen.ConsensusParams.Evidence; ev.MaxAgeNumBlocks != EvidenceMaxAgeBlocks || ev.MaxAgeDuration != EvidenceMaxAge {
		t.Fatalf("evidence age %d blocks, %v; want %d, %v", ev.MaxAgeNumBlocks, ev.MaxAgeDuration, EvidenceMaxAgeBlocks, EvidenceMaxAge)
	}
	for i, m := range members {
		pub, err := ziggy.LoadPublicKey(filepath.Join(m.Home, ZiggyPubFile))
		if err != nil || pub != m.ZiggyPub {
			t.Fatalf("member %d Ziggy key: %v", i, err)
		}
		st, err := os.Stat(filepath.Join(m.Home, ZiggyKeyFile))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("member %d private key file: %v %v", i, err, st.Mode())
		}
		cfg := cmtcfg.DefaultConfig().SetRoot(m.Home)
		if _, err := os.Stat(cfg.PrivValidatorKeyFile()); err != nil {
			t.Fatal(err)
		}
		nc, err := LoadConfig(m.Home)
		if err != nil {
			t.Fatal(err)
		}
		raw := strings.Join(nc.Peers, ",")
		for j, o := range members {
			has := strings.Contains(raw, o.NodeID+"@"+o.P2PAddr)
			if has != (i != j) {
				t.Fatalf("home %d lists peer %d: %v", i, j, has)
			}
		}
	}
	// A second init into the same directory must not overwrite keys.
	if _, err := InitHomes(InitOptions{Dir: dir, Validators: 1, ChainID: "x", Host: "127.0.0.1", BasePort: 36000, Power: 1,
		AppState: func([]Member) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }}); err == nil {
		t.Fatal("init overwrote an existing home")
	}
}

func TestInitHomesPerValidatorHosts(t *testing.T) {
	dir := t.TempDir()
	state := func([]Member) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }
	hosts := []string{"node0", "node1", "node2"}
	members, err := InitHomes(InitOptions{
		Dir: dir, Validators: 3, ChainID: "c", Host: "127.0.0.1", Hosts: hosts, ListenHost: "0.0.0.0",
		BasePort: 26656, APIBasePort: 8080, Power: 10, AppState: state,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range members {
		if want := fmt.Sprintf("%s:%d", hosts[i], 26656+10*i); m.P2PAddr != want {
			t.Fatalf("member %d dialled at %s, want %s", i, m.P2PAddr, want)
		}
		nc, err := LoadConfig(m.Home)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("0.0.0.0:%d", 26656+10*i); nc.P2PListen != want {
			t.Fatalf("member %d listens at %s, want %s", i, nc.P2PListen, want)
		}
		if want := fmt.Sprintf("0.0.0.0:%d", 8080+i); nc.API != want {
			t.Fatalf("member %d API at %s, want %s", i, nc.API, want)
		}
		for _, p := range nc.Peers {
			if strings.Contains(p, "127.0.0.1") || strings.Contains(p, "0.0.0.0") || strings.Contains(p, hosts[i]+":") {
				t.Fatalf("member %d has peer %s", i, p)
			}
		}
		if len(nc.Peers) != 2 {
			t.Fatalf("member %d peers %v", i, nc.Peers)
		}
	}
	ok, err := HomesExist(dir, 3)
	if !ok || err != nil {
		t.Fatalf("HomesExist after init: %v %v", ok, err)
	}
	if _, err := HomesExist(dir, 4); err == nil {
		t.Fatal("HomesExist accepted a network of 3 as one of 4")
	}
	if ok, err := HomesExist(t.TempDir(), 4); ok || err != nil {
		t.Fatalf("HomesExist on an empty dir: %v %v", ok, err)
	}
	v6, err := InitHomes(InitOptions{Dir: t.TempDir(), Validators: 2, ChainID: "c", Hosts: []string{"fd00::1", "10.0.0.2"},
		BasePort: 26656, Power: 1, AppState: state})
	if err != nil || v6[0].P2PAddr != "[fd00::1]:26656" || v6[1].P2PAddr != "10.0.0.2:26666" {
		t.Fatalf("IPv6 and IPv4 hosts: %v %+v", err, v6)
	}
	for _, bad := range [][]string{{"a", "b"}, {"a", "b", ""}, {"a", "b:1", "c"}, {"a", "b c", "d"}} {
		if _, err := InitHomes(InitOptions{Dir: t.TempDir(), Validators: 3, ChainID: "c", Hosts: bad,
			BasePort: 26656, Power: 1, AppState: state}); err == nil {
			t.Fatalf("hosts %q accepted", bad)
		}
	}
}

// TestCometConfigKeepsNoABCIResponses: CometBFT is told not to store what
// nothing reads (the per-block ABCI responses, the tx index), which would
// only grow a node's state database.
func TestCometConfigKeepsNoABCIResponses(t *testing.T) {
	c := &Config{Moniker: "n", P2PListen: "127.0.0.1:1"}
	cc := c.comet(t.TempDir())
	if !cc.Storage.DiscardABCIResponses || cc.TxIndex.Indexer != "null" {
		t.Fatalf("discard_abci_responses %v, indexer %q", cc.Storage.DiscardABCIResponses, cc.TxIndex.Indexer)
	}
}

// retain_blocks: absent is the default window, 0 keeps every block, a
// window too small for CometBFT and the archive is refused, saying what
// is allowed; CometBFT's pruner runs on the key layout the node's
// extended-commit deletion assumes.
func TestRetainBlocksSetting(t *testing.T) {
	c := &Config{Moniker: "n", P2PListen: "127.0.0.1:1"}
	if c.retainBlocks() != DefaultRetainBlocks {
		t.Fatalf("absent retain_blocks gives %d, want %d", c.retainBlocks(), DefaultRetainBlocks)
	}
	for _, v := range []int64{0, minRetainBlocks, 100000} {
		c.RetainBlocks = &v
		if err := c.validate(); err != nil || c.retainBlocks() != v {
			t.Fatalf("retain_blocks %d: %v, %d", v, err, c.retainBlocks())
		}
	}
	for _, v := range []int64{-1, 1, minRetainBlocks - 1} {
		c.RetainBlocks = &v
		err := c.validate()
		if err == nil || !strings.Contains(err.Error(), "retain_blocks must be 0") {
			t.Fatalf("retain_blocks %d accepted or unexplained: %v", v, err)
		}
	}
	cc := c.comet(t.TempDir())
	if cc.Storage.ExperimentalKeyLayout != "v1" || cc.Storage.Pruning.Interval != pruneInterval || cc.Storage.Pruning.DataCompanion.Enabled {
		t.Fatalf("storage config %+v, pruning %+v", cc.Storage, cc.Storage.Pruning)
	}
}
