package gateway

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/gateway/wal"
)

// signedChunks is the durable log of producer-chunked, signed chunk
// transactions of one stream: the producer chose the index and signed
// the digest, so the gateway only keeps each transaction safe until the
// chain has it.
type signedChunks struct {
	ps  *pushStream
	log *wal.Log

	mu    sync.Mutex
	items []*signedItem
	byTx  map[[32]byte]*signedItem
}

type signedItem struct {
	seq         uint64
	key         wire.ChunkKey
	hash        [32]byte
	state       ChunkState
	submittedAt time.Time
	err         string
}

func openSignedChunks(ps *pushStream, dir string) (*signedChunks, error) {
	l, err := wal.Open(dir, wal.Options{MaxMessageBytes: wire.MaxTxBytes, NoSync: ps.g.cfg.NoSync})
	if err != nil {
		return nil, err
	}
	sc := &signedChunks{ps: ps, log: l, byTx: map[[32]byte]*signedItem{}}
	next, _ := l.Next()
	for seq := uint64(0); seq < next; {
		ents, err := l.Read(seq, 1024, 64<<20)
		if err != nil {
			l.Close()
			return nil, err
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			seq = e.Seq + 1
			tx, err := wire.UnmarshalTx(e.Data)
			if err != nil || tx.Chunk == nil {
				continue // checked before it was logged; cannot happen
			}
			it := &signedItem{seq: e.Seq, key: wire.ChunkKey{Stream: tx.Chunk.Stream, Index: tx.Chunk.Index}, hash: sha256.Sum256(e.Data)}
			sc.resolve(it)
			sc.items = append(sc.items, it)
		}
	}
	return sc, nil
}

func (sc *signedChunks) resolve(it *signedItem) {
	switch sc.ps.g.cfg.Chain.RecordStatus(it.key) {
	case "accepted":
		it.state = StateAccepted
	case "disputed":
		it.state = StateDisputed
	case "pending":
		it.state = StateOnChain
	}
}

// add logs a checked transaction durably.
func (sc *signedChunks) add(raw []byte, k wire.ChunkKey) error {
	seq, err := sc.log.Append([][]byte{raw}, true)
	if err != nil {
		return err
	}
	sc.mu.Lock()
	sc.items = append(sc.items, &signedItem{seq: seq, key: k, hash: sha256.Sum256(raw)})
	sc.mu.Unlock()
	sc.ps.poke()
	return nil
}

func (sc *signedChunks) submitDue() {
	sc.mu.Lock()
	var due []*signedItem
	inflight := 0
	now := time.Now()
	for _, it := range sc.items {
		if it.state == StateSubmitted {
			if now.Sub(it.submittedAt) > sc.ps.g.cfg.ResubmitAfter {
				sc.resolve(it)
				if it.state == StateSubmitted {
					it.state = StateLogged
				}
			} else {
				inflight++
			}
		}
	}
	for _, it := range sc.items {
		if inflight+len(due) >= sc.ps.g.cfg.MaxInflight {
			break
		}
		if it.state == StateLogged {
			due = append(due, it)
		}
	}
	sc.mu.Unlock()
	for _, it := range due {
		ents, err := sc.log.Read(it.seq, 1, wire.MaxTxBytes+1)
		if err != nil || len(ents) != 1 {
			return
		}
		// Known by its hash before it reaches the mempool: the block that
		// carries it may be committed before Submit returns.
		sc.mu.Lock()
		it.state, it.submittedAt = StateSubmitted, time.Now()
		sc.byTx[it.hash] = it
		sc.mu.Unlock()
		code, lg, err := sc.ps.g.cfg.Chain.Submit(ents[0].Data)
		sc.mu.Lock()
		switch {
		case err != nil:
			if it.state == StateSubmitted {
				it.state = StateLogged
			}
			delete(sc.byTx, it.hash)
			sc.mu.Unlock()
			return
		case code == app.CodeOK || code == app.CodeDuplicate:
			if code == app.CodeDuplicate && it.state == StateSubmitted {
				sc.resolve(it)
			}
		default:
			delete(sc.byTx, it.hash)
			it.state, it.err = StateRejected, lg
		}
		sc.mu.Unlock()
	}
}

func (sc *signedChunks) committed(s app.CommitSummary) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, o := range s.Txs {
		it, ok := sc.byTx[o.TxHash]
		if !ok {
			continue
		}
		delete(sc.byTx, o.TxHash)
		if o.Code == app.CodeOK || o.Code == app.CodeDuplicate {
			if it.state < StateOnChain {
				it.state = StateOnChain
			}
		} else {
			it.state, it.err = StateRejected, o.Log
		}
	}
	if len(s.Records) == 0 {
		return
	}
	decided := map[wire.ChunkKey]wire.Status{}
	for _, r := range s.Records {
		decided[r.Key()] = r.Status
	}
	for _, it := range sc.items {
		if st, ok := decided[it.key]; ok {
			if st == wire.StatusAccepted {
				it.state = StateAccepted
			} else {
				it.state = StateDisputed
			}
		}
	}
}

// nextIndex is one above the highest index logged here.
func (sc *signedChunks) nextIndex() uint64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	var n uint64
	for _, it := range sc.items {
		if it.key.Index+1 > n {
			n = it.key.Index + 1
		}
	}
	return n
}

func (sc *signedChunks) close() error { return sc.log.Close() }
