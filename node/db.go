package node

import (
	"errors"
	"sync"

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
	db, err := cmtcfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	return &guardedDB{DB: db}, nil
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
