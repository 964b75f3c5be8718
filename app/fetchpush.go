package app

import (
	"encoding/binary"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/store"
	"github.com/datadragon/datadragon/app/wire"
)

// bucketPushFetch keeps, for a fetched chunk without a record yet, what a
// validator needs to fetch and check its bytes again after a restart.
const bucketPushFetch = "pushfetch" // chunk key → u32 len ‖ rules ‖ fetch tx encoding

// FetchOrder tells a validator to fetch a pushed chunk's bytes: the chain
// has the chunk's index, its message lengths and the content id of the
// bytes, but not the bytes. The validator attests the digest it computes
// from bytes that match, with the verdict of Rules, or a gap.
type FetchOrder struct {
	Tx    wire.FetchChunkTx
	Rules []byte // the stream's rules when the chunk went on chain
}

func (f *FetchOrder) marshal() []byte {
	tb, _ := f.Tx.Marshal() // validated when it was decoded
	w := codec.Writer{}
	w.Bytes32(f.Rules)
	w.Raw(tb)
	return w.B
}

func unmarshalFetchOrder(b []byte) (*FetchOrder, bool) {
	r := codec.NewReader(b)
	rules := r.Bytes32(64<<10, "rules")
	if r.Err() != nil {
		return nil, false
	}
	tx, err := wire.UnmarshalTx(b[r.Offset():])
	if err != nil || tx.Fetch == nil {
		return nil, false
	}
	return &FetchOrder{Tx: *tx.Fetch, Rules: rules}, true
}

// applyFetchChunk is applyChunk for a chunk whose bytes are fetched: the
// same stream, mode and idempotency checks as a gateway-chunked public
// chunk, and no hashing — the digest is each validator's own, attested
// once it has the bytes.
func (a *App) applyFetchChunk(c *chain, get getter, put func(string, []byte, []byte), height int64, t *wire.FetchChunkTx) (*PushedChunk, *txError) {
	s, _, err := lookupStream(c, get, t.Stream)
	if err != nil {
		return nil, txErr(CodeMalformed, "stream %s: %v", t.Stream, err)
	}
	if s == nil {
		return nil, txErr(CodeUnknownStream, "stream %q is not registered", t.Stream)
	}
	if !s.IsPush() {
		return nil, txErr(CodeWrongMode, "stream %q is observed from its source; it takes no pushed chunks", t.Stream)
	}
	if len(s.Producers) > 0 {
		return nil, txErr(CodeNotAllowed, "stream %q takes only chunks signed by one of its producers", t.Stream)
	}
	ok := originKey(t.Stream, t.Origin, t.FirstSeq)
	v, err := get(bucketOrigins, ok)
	if err != nil {
		return nil, txErr(CodeMalformed, "%v", err)
	}
	if len(v) == 8 {
		k := wire.ChunkKey{Stream: t.Stream, Index: binary.BigEndian.Uint64(v)}
		return &PushedChunk{Key: k}, txErr(CodeDuplicate, "already on chain as chunk %s", k)
	}
	var index uint64
	nb, err := get(bucketPushNext, []byte(t.Stream))
	if err != nil {
		return nil, txErr(CodeMalformed, "%v", err)
	}
	if len(nb) == 8 {
		index = binary.BigEndian.Uint64(nb)
	}
	key := wire.ChunkKey{Stream: t.Stream, Index: index}
	order := &FetchOrder{Tx: *t, Rules: []byte(s.Rules)}
	if put != nil {
		pc := &pushedChunk{Info: wire.PushInfo{Origin: t.Origin, FirstSeq: t.FirstSeq, Offset: t.Offset,
			Lengths: t.Lengths, TxHeight: height}}
		put(bucketPushed, key.Bytes(), pc.marshal())
		put(bucketPushPending, key.Bytes(), nil)
		put(bucketPushFetch, key.Bytes(), order.marshal())
		put(bucketOrigins, ok, u64(index))
		put(bucketPushNext, []byte(t.Stream), u64(index+1))
	}
	return &PushedChunk{Key: key, Fetch: order}, nil
}

// fetchOrder returns the fetch order of a pending fetched chunk.
func fetchOrder(tx store.Tx, k wire.ChunkKey) *FetchOrder {
	b := tx.Get([]byte(bucketPushFetch), k.Bytes())
	if b == nil {
		return nil
	}
	f, ok := unmarshalFetchOrder(b)
	if !ok {
		return nil
	}
	return f
}
