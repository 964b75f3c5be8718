package node

import (
	"bytes"
	"encoding/json"
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
