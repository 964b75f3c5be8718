package node

import (
	"errors"
	"sync"

	"github.com/cockroachdb/pebble"
	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
)

// errDBClosed answers writes and iterations after a CometBFT database was
// closed.
var errDBClosed = errors.New("node: database closed")

// guardedDB wraps one of CometBFT's databases so that a read after Close
// finds nothing instead of crashing the process. CometBFT v1.0.1 closes
// its block store when the node stops while a peer routine of its
// consensus reactor may still be asleep between two reads of it; with the
// default backend that late read panics ("pebble: closed") and takes every
// node of the process down with it — in devnet, all of them. The lock makes
// Close wait for reads in flight.
type guardedDB struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

func guardedDBProvider(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	db, err := openCometDB(ctx)
	if err != nil {
		return nil, err
	}
	return &guardedDB{DB: db}, nil
}

// pebbleSizes are the block cache and memtable sizes of each of CometBFT's
// pebble databases. Pebble's defaults (an 8 MB cache, 4 MB memtables of
// which two may be queued) are for one database a process; a node opens
// three (blocks, state, evidence) and devnet runs four nodes in one
// process, so they came to ~40 MB a node outside the Go heap, filled
// slowly over the first hour (the state database's memtable fills at
// ~1 KB a height) — memory that grew with the chain's age until it
// reached them. The block store reads little but recent blocks, which
// its memtable holds; state and evidence write and read a few KB a
// height.
var pebbleSizes = map[string]struct{ cache, memtable int64 }{
	"blockstore": {cache: 2 << 20, memtable: 4 << 20},
	"state":      {cache: 1 << 20, memtable: 1 << 20},
	"evidence":   {cache: 512 << 10, memtable: 512 << 10},
}

// openCometDB opens one of CometBFT's databases as CometBFT would, but a
// pebble database with pebbleSizes.
func openCometDB(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	sz, ok := pebbleSizes[ctx.ID]
	if !ok || dbm.BackendType(ctx.Config.DBBackend) != dbm.PebbleDBBackend {
		return cmtcfg.DefaultDBProvider(ctx)
	}
	cache := pebble.NewCache(sz.cache)
	defer cache.Unref() // the open database holds its own reference
	opts := &pebble.Options{Cache: cache, MemTableSize: uint64(sz.memtable)}
	return dbm.NewPebbleDBWithOpts(ctx.ID, ctx.Config.DBDir(), opts)
}

func (d *guardedDB) Get(key []byte) ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, nil
	}
	return d.DB.Get(key)
}

func (d *guardedDB) Has(key []byte) (bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return false, nil
	}
	return d.DB.Has(key)
}

func (d *guardedDB) Iterator(start, end []byte) (dbm.Iterator, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, errDBClosed
	}
	return d.DB.Iterator(start, end)
}

func (d *guardedDB) ReverseIterator(start, end []byte) (dbm.Iterator, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, errDBClosed
	}
	return d.DB.ReverseIterator(start, end)
}

func (d *guardedDB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.DB.Close()
}

func (d *guardedDB) write(f func() error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return errDBClosed
	}
	return f()
}

func (d *guardedDB) Set(key, value []byte) error {
	return d.write(func() error { return d.DB.Set(key, value) })
}

func (d *guardedDB) SetSync(key, value []byte) error {
	return d.write(func() error { return d.DB.SetSync(key, value) })
}

func (d *guardedDB) Delete(key []byte) error {
	return d.write(func() error { return d.DB.Delete(key) })
}

func (d *guardedDB) DeleteSync(key []byte) error {
	return d.write(func() error { return d.DB.DeleteSync(key) })
}
