package app

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datadragon/datadragon/app/store"
	"github.com/datadragon/datadragon/app/tally"
	"github.com/datadragon/datadragon/app/wire"
)

// verifyCache remembers the outcome of checking one extension from one
// validator at one height, so VerifyVoteExtension, ProcessProposal and
// FinalizeBlock verify each Ziggy signature once. The check is a pure
// function of the key, so the cache changes speed, never results.
//
// It keeps two generations of at most max entries: when the current one
// is full it becomes the old one and the oldest is dropped, so the latest
// max entries are always kept. Emptying the whole cache when full instead
// dropped the extensions of the height in progress every few dozen
// heights, and each node verified those signatures again
// (TestEachExtensionVerifiedOnce: 4,864 checks for 4,800 extensions).
type verifyCache struct {
	mu       sync.Mutex
	max      int
	cur, old map[[32]byte]cached
}

type cached struct {
	ext *wire.Extension
	err error
}

func newVerifyCache(max int) *verifyCache {
	return &verifyCache{max: max, cur: map[[32]byte]cached{}, old: map[[32]byte]cached{}}
}

func cacheKey(chainID string, val int, height int64, raw []byte) [32]byte {
	h := sha256.New()
	var b [8 + 8 + 8]byte
	binary.BigEndian.PutUint64(b[:], uint64(len(chainID)))
	binary.BigEndian.PutUint64(b[8:], uint64(val))
	binary.BigEndian.PutUint64(b[16:], uint64(height))
	h.Write(b[:])
	h.Write([]byte(chainID))
	h.Write(raw)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *verifyCache) get(k [32]byte) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		c.putLocked(k, v) // still in use: keep it past the next turn
	}
	return v, ok
}

func (c *verifyCache) put(k [32]byte, v cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v)
}

func (c *verifyCache) putLocked(k [32]byte, v cached) {
	if _, ok := c.cur[k]; !ok && len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[[32]byte]cached, c.max)
	}
	c.cur[k] = v
}

// each calls fn with every entry (tests).
func (c *verifyCache) each(fn func(k [32]byte, v cached)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range []map[[32]byte]cached{c.old, c.cur} {
		for k, v := range m {
			fn(k, v)
		}
	}
}

// ErrUnknownStream is wrapped by the error for an attestation of a stream
// the registry does not have.
var ErrUnknownStream = errors.New("unknown stream")

// checkExtension decodes a non-empty extension of validator val for the
// given height and checks it completely: encoding, limits, height, streams
// and the Ziggy signature with the validator's registered key.
func (a *App) checkExtension(c *chain, val int, height int64, raw []byte) (*wire.Extension, error) {
	k := cacheKey(c.ChainID, val, height, raw)
	if v, ok := a.cache.get(k); ok {
		return v.ext, v.err
	}
	ext, err := a.checkExtensionUncached(c, val, height, raw)
	if ext != nil {
		// Checked: nothing reads the ~20 KB signature again, and the cache
		// would keep it for each of its entries.
		ext.Signature = nil
	}
	a.cache.put(k, cached{ext, err})
	return ext, err
}

func (a *App) checkExtensionUncached(c *chain, val int, height int64, raw []byte) (*wire.Extension, error) {
	ext, err := wire.UnmarshalExtension(raw)
	if err != nil {
		return nil, err
	}
	if ext == nil {
		return nil, errors.New("empty extension")
	}
	if ext.Height != height {
		return nil, fmt.Errorf("extension is for height %d, the vote for height %d", ext.Height, height)
	}
	for i := range ext.Attestations {
		if !a.streamKnown(c, ext.Attestations[i].Stream) {
			return nil, fmt.Errorf("attestation %d: %w %q", i, ErrUnknownStream, ext.Attestations[i].Stream)
		}
	}
	msg := wire.SignBytes(c.ChainID, height, c.addrs[val], ext.Root())
	if err := a.cfg.Scheme.Verify(c.genesis.Validators[val].ZiggyPubKey, msg, ext.Signature); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	return ext, nil
}

// self returns this node's validator index, found by the signer's public
// key, or −1.
func (a *App) self(c *chain) int {
	if a.cfg.Signer == nil {
		return -1
	}
	if i, ok := c.byZiggy[string(a.cfg.Signer.PublicKey())]; ok {
		return i
	}
	return -1
}

// ExtendVote returns this validator's extension for the height: its
// attestations not yet counted, in flight or decided, signed with Ziggy.
// Any failure gives an empty extension (and a log line), never an error:
// the precommit must go out regardless.
func (a *App) ExtendVote(_ context.Context, req *abci.ExtendVoteRequest) (*abci.ExtendVoteResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	empty := &abci.ExtendVoteResponse{}
	c := a.chain.Load()
	if c == nil || a.cfg.Signer == nil || a.cfg.Attestor == nil {
		return empty, nil
	}
	me := a.self(c)
	if me < 0 {
		if !a.warned {
			a.log.Error("this node's Ziggy key is not a registered validator key; extending votes with nothing")
			a.warned = true
		}
		return empty, nil
	}
	atts := a.selectAttestations(c, me, req.Height, a.cfg.Attestor.Attestations(req.Height))
	if len(atts) == 0 {
		return empty, nil
	}
	ext := &wire.Extension{Height: req.Height, Attestations: atts}
	sig, err := a.cfg.Signer.Sign(wire.SignBytes(c.ChainID, req.Height, c.addrs[me], ext.Root()))
	if err != nil {
		a.log.Error("signing the vote extension failed; extending with nothing", "height", req.Height, "err", err)
		return empty, nil
	}
	ext.Signature = sig
	raw, err := ext.Marshal()
	if err != nil {
		a.log.Error("encoding the vote extension failed; extending with nothing", "height", req.Height, "err", err)
		return empty, nil
	}
	fl := a.inflight[req.Height]
	if fl == nil {
		fl = map[wire.ChunkKey]tally.Claim{}
		a.inflight[req.Height] = fl
	}
	for _, at := range atts {
		fl[at.Key()] = tally.Claim{Digest: at.Digest, Verdict: at.Verdict}
	}
	for h := range a.inflight {
		if h < req.Height-1 {
			delete(a.inflight, h)
		}
	}
	return &abci.ExtendVoteResponse{VoteExtension: raw}, nil
}

// selectAttestations filters what the attestor offers: valid, known
// streams, one per chunk (a real claim before a gap), not in the
// extension of the previous height (in flight), not already counted with
// the same claim, not for settled chunks; sorted and capped.
func (a *App) selectAttestations(c *chain, me int, height int64, offered []wire.Attestation) []wire.Attestation {
	byKey := map[wire.ChunkKey]wire.Attestation{}
	prev := a.inflight[height-1]
	for _, at := range offered {
		if err := at.Validate(); err != nil {
			a.log.Warn("attestor offered an invalid attestation; dropped", "chunk", at.Key().String(), "err", err)
			continue
		}
		if !a.streamKnown(c, at.Stream) {
			a.log.Warn("attestor offered an attestation for an unregistered stream; dropped", "stream", at.Stream)
			continue
		}
		k := at.Key()
		if cl, ok := prev[k]; ok && cl == (tally.Claim{Digest: at.Digest, Verdict: at.Verdict}) {
			continue
		}
		if old, ok := byKey[k]; ok && old.Verdict.Kind != wire.VerdictGap {
			continue
		}
		byKey[k] = at
	}
	out := make([]wire.Attestation, 0, len(byKey))
	err := a.store.View(func(tx store.Tx) error {
		for k, at := range byKey {
			if b := tx.Get([]byte(bucketChunks), k.Bytes()); b != nil {
				ch, err := tally.UnmarshalChunk(b)
				if err == nil {
					if ch.Settled {
						a.stale = append(a.stale, k)
						continue
					}
					if e, ok := ch.Entry(me); ok && (e.Equivocated || e.Claim == (tally.Claim{Digest: at.Digest, Verdict: at.Verdict})) {
						continue
					}
				}
			}
			out = append(out, at)
		}
		return nil
	})
	if err != nil {
		// A damaged store attests nothing: what it says was counted
		// cannot be trusted.
		a.log.Error("not attesting: reading the state failed", "err", err)
		return nil
	}
	slices.SortFunc(out, func(x, y wire.Attestation) int { return x.Key().Compare(y.Key()) })
	if len(out) > wire.MaxAttestations {
		out = out[:wire.MaxAttestations]
	}
	return out
}

// VerifyVoteExtension accepts an empty extension, or one that decodes
// within the limits, is for this height, names only registered streams and
// carries a valid signature by the validator's registered Ziggy key.
func (a *App) VerifyVoteExtension(_ context.Context, req *abci.VerifyVoteExtensionRequest) (*abci.VerifyVoteExtensionResponse, error) {
	accept := &abci.VerifyVoteExtensionResponse{Status: abci.VERIFY_VOTE_EXTENSION_STATUS_ACCEPT}
	reject := &abci.VerifyVoteExtensionResponse{Status: abci.VERIFY_VOTE_EXTENSION_STATUS_REJECT}
	if len(req.VoteExtension) == 0 {
		return accept, nil
	}
	c := a.chain.Load()
	if c == nil {
		return reject, nil
	}
	val, ok := c.byAddr[string(req.ValidatorAddress)]
	if !ok {
		a.log.Warn("vote extension from an unknown validator rejected", "validator", fmt.Sprintf("%X", req.ValidatorAddress))
		return reject, nil
	}
	if _, err := a.checkExtension(c, val, req.Height, req.VoteExtension); err != nil {
		a.log.Warn("vote extension rejected", "validator", c.genesis.Validators[val].Name,
			"height", req.Height, "bytes", len(req.VoteExtension), "err", err)
		return reject, nil
	}
	return accept, nil
}

// verifyCacheSize bounds each generation of the verified-extension cache.
// An entry holds a decoded extension without its signature (a few hundred
// bytes); the cache only has to bridge VerifyVoteExtension,
// ProcessProposal and FinalizeBlock of the last few heights (a miss just
// verifies again), so a few hundred entries serve a network of dozens of
// validators. With the signatures
// kept, the cache filled to ~6 MB a node and emptied again, the largest
// part of the heap that changed during a soak.
const verifyCacheSize = 256
