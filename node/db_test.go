package node

import (
	"fmt"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
)

func TestGuardedDBReadsAfterCloseFindNothing(t *testing.T) {
	cfg := cmtcfg.DefaultConfig().SetRoot(t.TempDir())
	db, err := guardedDBProvider(&cmtcfg.DBContext{ID: "test", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("get before close: %q %v", v, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Without the guard this read panics with the default backend.
	if v, err := db.Get([]byte("k")); err != nil || v != nil {
		t.Fatalf("get after close: %q %v", v, err)
	}
	if ok, _ := db.Has([]byte("k")); ok {
		t.Fatal("has after close")
	}
	if _, err := db.Iterator(nil, nil); err == nil {
		t.Fatal("iterator after close")
	}
	if err := db.Close(); err != nil {
		t.Fatal("second close:", err)
	}
}

// TestCometDBsUseSmallPebbleCaches: CometBFT's block, state and evidence
// databases keep their block caches within the node's sizes, not pebble's
// 8 MB each, and keep what they were given across a flush and a reopen.
func TestCometDBsUseSmallPebbleCaches(t *testing.T) {
	cfg := cmtcfg.DefaultConfig().SetRoot(t.TempDir())
	for id, sz := range pebbleSizes {
		for round := range 2 {
			db, err := openCometDB(&cmtcfg.DBContext{ID: id, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			p, ok := db.(*dbm.PebbleDB)
			if !ok {
				t.Fatalf("%s: a %T, not pebble (CometBFT's default backend)", id, db)
			}
			for i := range 400 {
				k := fmt.Appendf(nil, "%s/%d/%d", id, round, i)
				if err := db.Set(k, make([]byte, 8<<10)); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.DB().Flush(); err != nil {
				t.Fatal(err)
			}
			// Reading 6.4 MB back from the tables would fill pebble's default
			// cache past any of the node's sizes.
			for r := range round + 1 {
				for i := range 400 {
					if v, err := db.Get(fmt.Appendf(nil, "%s/%d/%d", id, r, i)); err != nil || len(v) != 8<<10 {
						t.Fatalf("%s: round %d's value %d after a flush and reopen: %d bytes, %v", id, r, i, len(v), err)
					}
				}
			}
			if got := p.DB().Metrics().BlockCache.Size; got > sz.cache {
				t.Fatalf("%s: block cache of %d bytes, want at most %d", id, got, sz.cache)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Other databases are opened as CometBFT would.
	if db, err := openCometDB(&cmtcfg.DBContext{ID: "tx_index", Config: cfg}); err != nil {
		t.Fatal(err)
	} else {
		db.Close()
	}
}
