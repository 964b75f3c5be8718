package node

import (
	"testing"

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
