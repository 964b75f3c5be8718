package receipt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/merkle"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/app/ziggysig"
	"github.com/datadragon/datadragon/ingest/digest"
)

// Message is one message of a chunk, the form Verify's data takes: a JSON
// list of {"seq": N, "data": "<base64>"} in seq order.
type Message struct {
	Seq  uint64 `json:"seq"`
	Data []byte `json:"data"`
}

// Verify checks every link of r against the trusted genesis (CometBFT's
// genesis document with DataDragon's app_state) and, if data is not nil,
// that the chunk's messages (a JSON list of Message) hash to the record's
// digest. It returns nil only if everything holds, else a *LinkError
// naming the first broken link.
func Verify(r *Receipt, genesis *cmttypes.GenesisDoc, data []byte) error {
	return VerifyCached(r, genesis, data, nil)
}

// Cache remembers the signatures and commits a verifier has checked, so
// that the records of one file receipt, which share commits and vote
// extensions, check each once. A nil *Cache remembers nothing. A Cache is
// not safe for concurrent use.
type Cache struct {
	ok map[[32]byte]bool
}

// NewCache returns an empty Cache.
func NewCache() *Cache { return &Cache{ok: map[[32]byte]bool{}} }

// check runs f unless the same check (key parts, hashed) succeeded before.
func (c *Cache) check(f func() error, parts ...[]byte) error {
	if c == nil {
		return f()
	}
	h := sha256.New()
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	var k [32]byte
	h.Sum(k[:0])
	if c.ok[k] {
		return nil
	}
	if err := f(); err != nil {
		return err
	}
	c.ok[k] = true
	return nil
}

// VerifyCached is Verify with a Cache shared by several receipts checked
// against the same genesis.
func VerifyCached(r *Receipt, genesis *cmttypes.GenesisDoc, data []byte, cache *Cache) error {
	return verify(r, genesis, data, cache, nil)
}

func verify(r *Receipt, genesis *cmttypes.GenesisDoc, data []byte, cache *Cache, spec *RawStreamSpec) error {
	if r == nil {
		return broken("receipt", "no receipt")
	}
	if r.Version != Version && r.Version != VersionSummaries {
		return broken("version", "receipt version %d, this verifier reads versions %d and %d", r.Version, Version, VersionSummaries)
	}
	if uses := r.usesSummaries(); uses != (r.Version == VersionSummaries) {
		return broken("version", "receipt version %d, but its attestations use epoch summaries: %v (version %d is the form with them, %d without)", r.Version, uses, VersionSummaries, Version)
	}
	if genesis == nil {
		return broken("genesis", "no genesis")
	}
	gs, err := trustedGenesis(genesis.AppState)
	if err != nil {
		return broken("genesis", "app_state: %v", err)
	}
	chainID := genesis.ChainID
	if r.ChainID != chainID {
		return broken("chain_id", "receipt is for chain %q, the genesis is chain %q", r.ChainID, chainID)
	}

	// 1. Validators: exactly the genesis set, or the set its history
	// (history.go) gives at the record's height.
	vals := gs.Validators
	byAddr := map[string]int{}
	var total int64
	var valSet *cmttypes.ValidatorSet
	if len(r.History) > 0 {
		if vals, valSet, err = historySets(r, chainID, max(genesis.InitialHeight, 1), gs, cache); err != nil {
			return err
		}
		for i, v := range vals {
			byAddr[string(v.Address)] = i
			total += v.Power
		}
	} else if valSet, err = genesisValidators(r, gs, byAddr, &total); err != nil {
		return err
	}

	// 2. Record.
	rec, err := wire.UnmarshalRecord(r.Record)
	if err != nil {
		return broken("record", "%v", err)
	}
	if !bytes.Equal(rec.Marshal(), r.Record) {
		return broken("record", "encoding is not canonical")
	}
	if rec.Stream != r.Stream || rec.Index != r.Index {
		return broken("record", "record is for %s/%d, the receipt names %s/%d", rec.Stream, rec.Index, r.Stream, r.Index)
	}
	if rec.Status != wire.StatusAccepted {
		return broken("record", "record is %s, not accepted", rec.Status)
	}
	if rec.DecidedHeight != r.Block.Height {
		return broken("record", "decided at height %d, the receipt's block is %d", rec.DecidedHeight, r.Block.Height)
	}
	if rec.TotalPower != total {
		return broken("record", "total power %d, the genesis set has %d", rec.TotalPower, total)
	}

	// 3. Record proof.
	root, err := hash32(r.Block.RecordRoot)
	if err != nil {
		return broken("block", "record_root: %v", err)
	}
	path, err := hashes(r.RecordProof.Path)
	if err != nil {
		return broken("record_proof", "%v", err)
	}
	if err := merkle.Verify(root, merkle.LeafHash(r.Record), r.RecordProof.Leaf, r.RecordProof.Leaves, path); err != nil {
		return broken("record_proof", "the record is not leaf %d of %d under record root %x", r.RecordProof.Leaf, r.RecordProof.Leaves, root)
	}

	// 4. Block: app hash.
	cs, err := hash32(r.Block.ChangesetHash)
	if err != nil {
		return broken("block", "changeset_hash: %v", err)
	}
	if want := appHash(r.Block.PrevAppHash, r.Block.Height, root, cs); !bytes.Equal(want, r.Block.AppHash) {
		return broken("block", "app hash %x does not follow from prev_app_hash, height, record_root and changeset_hash (%x)", []byte(r.Block.AppHash), want)
	}

	// 5. Header.
	h := r.Header
	if h == nil {
		return broken("header", "missing")
	}
	if h.ChainID != chainID {
		return broken("header", "chain id %q, want %q", h.ChainID, chainID)
	}
	if h.Height != r.Block.Height+1 {
		return broken("header", "height %d, want %d (the block after the record's)", h.Height, r.Block.Height+1)
	}
	if !bytes.Equal(h.AppHash, r.Block.AppHash) {
		return broken("header", "app_hash %X is not the block's app hash %X", []byte(h.AppHash), []byte(r.Block.AppHash))
	}
	if !bytes.Equal(h.ValidatorsHash, valSet.Hash()) {
		return broken("header", "validators_hash %X is not the genesis set's %X", []byte(h.ValidatorsHash), valSet.Hash())
	}
	if err := h.ValidateBasic(); err != nil {
		return broken("header", "%v", err)
	}

	// 6. Commit.
	c := r.Commit
	if c == nil {
		return broken("commit", "missing")
	}
	if c.Height != h.Height {
		return broken("commit", "height %d, header height %d", c.Height, h.Height)
	}
	if hh := h.Hash(); !bytes.Equal(c.BlockID.Hash, hh) {
		return broken("commit", "signs block %X, the header hashes to %X", []byte(c.BlockID.Hash), []byte(hh))
	}
	// CometBFT checks each signature against the set's validator at its
	// index and ignores the address beside it; a receipt's bytes must all
	// mean something, so the address must be that validator's.
	if len(c.Signatures) == len(valSet.Validators) {
		for idx, cs := range c.Signatures {
			if cs.BlockIDFlag != cmttypes.BlockIDFlagAbsent && !bytes.Equal(cs.ValidatorAddress, valSet.Validators[idx].Address) {
				return broken("commit", "signature %d names validator %s, but the set's validator %d is %s", idx, cs.ValidatorAddress, idx, valSet.Validators[idx].Address)
			}
		}
	}
	cc, cb := cache, commitBytes(c)
	if cb == nil {
		cc = nil // not encodable: check it every time
	}
	if err := cc.check(func() error { return valSet.VerifyCommit(chainID, c.BlockID, h.Height, c) },
		[]byte("commit"), []byte(chainID), valSet.Hash(), cb); err != nil {
		return broken("commit", "%s", commitProblem(chainID, c, valSet, r.Validators, err))
	}

	// 7. Attestations of the majority.
	agreed := map[string]wire.RecordAttestation{}
	for _, ra := range rec.Attestations {
		if ra.Outcome == wire.OutcomeAgreed {
			agreed[string(ra.Validator)] = ra
		}
	}
	seen := map[string]bool{}
	var power int64
	for i, a := range r.Attestations {
		vi, ok := byAddr[string(a.Validator)]
		if !ok {
			return broken("attestations", "attestation %d: %s is not a genesis validator", i, a.Validator)
		}
		if seen[string(a.Validator)] {
			return broken("attestations", "attestation %d: %s attests twice", i, a.Validator)
		}
		seen[string(a.Validator)] = true
		ra, ok := agreed[string(a.Validator)]
		if !ok {
			return broken("attestations", "attestation %d: the record has no agreeing attestation of %s", i, a.Validator)
		}
		if ra.Digest != rec.Digest || ra.Verdict != rec.Verdict {
			return broken("record", "agreeing attestation of %s differs from the accepted claim", a.Validator)
		}
		if ra.Power != vals[vi].Power {
			return broken("record", "attestation of %s has power %d, genesis %d", a.Validator, ra.Power, vals[vi].Power)
		}
		if a.ExtensionHeight != ra.Height-1 {
			return broken("attestations", "attestation %d: extension height %d, the record says it was included at %d", i, a.ExtensionHeight, ra.Height)
		}
		if a.Proof.Leaf != int(ra.Leaf) {
			return broken("attestations", "attestation %d: leaf %d, the record says %d", i, a.Proof.Leaf, ra.Leaf)
		}
		att := rec.AttestationOf(&ra)
		eroot, err := hash32(a.Root)
		if err != nil {
			return broken("attestations", "attestation %d: root: %v", i, err)
		}
		p, err := hashes(a.Proof.Path)
		if err != nil {
			return broken("attestations", "attestation %d: %v", i, err)
		}
		if err := merkle.Verify(eroot, merkle.LeafHash(att.AppendBinary(nil)), a.Proof.Leaf, a.Proof.Leaves, p); err != nil {
			return broken("attestations", "attestation %d (%s): not in its extension's root", i, a.Validator)
		}
		if err := verifySignedRoot(chainID, i, &r.Attestations[i], eroot, vals[vi].ZiggyPubKey, who(r.Validators[vi]), cache); err != nil {
			return err
		}
		power += ra.Power
	}
	th := gs.Threshold
	if th.Denominator == 0 || uint64(power)*th.Denominator <= th.Numerator*uint64(total) {
		return broken("attestations", "signed attestations hold %d of %d power, not more than %d/%d", power, total, th.Numerator, th.Denominator)
	}

	// 8. Producer: a signed pushed chunk's signature.
	if p := rec.Push; p != nil && len(p.Producer) > 0 {
		if sha256.Sum256(r.ProducerSignature) != p.SignatureHash {
			return broken("producer_signature", "missing or not the signature the record holds the hash of")
		}
		msg := wire.ProducerSignBytes(chainID, rec.Stream, rec.Index, p.Offset, rec.Digest)
		if err := (ziggysig.Scheme{}).Verify(p.Producer, msg, r.ProducerSignature); err != nil {
			return broken("producer_signature", "Ziggy signature of producer %x: %v", p.Producer, err)
		}
	} else if len(r.ProducerSignature) > 0 {
		return broken("producer_signature", "the record names no producer")
	}

	// 9. Data.
	if data != nil {
		check := checkData
		if rec.Raw != nil {
			check = func(rec *wire.Record, data []byte) error { return checkRawData(gs, rec, data, spec) }
		}
		if err := check(rec, data); err != nil {
			return err
		}
	}
	return nil
}

// checkData recomputes the record's digest from data: for a pushed chunk
// the whole pushed file (the record says where the chunk lies in it and
// how it splits into messages) or the chunk's bytes alone; for an observed
// chunk its messages as a JSON list of Message.
func checkData(rec *wire.Record, data []byte) error {
	var dm []digest.Message
	if p := rec.Push; p != nil {
		n := p.Bytes()
		var chunk []byte
		switch {
		case uint64(len(data)) == n:
			chunk = data
		case uint64(len(data)) >= p.Offset+n:
			chunk = data[p.Offset : p.Offset+n]
		default:
			return broken("data", "%d bytes: neither the chunk (%d bytes) nor a file holding it at offset %d", len(data), n, p.Offset)
		}
		for i, l := range p.Lengths {
			dm = append(dm, digest.Message{Seq: p.FirstSeq + uint64(i), Data: chunk[:l]})
			chunk = chunk[l:]
		}
	} else {
		var msgs []Message
		if err := json.Unmarshal(data, &msgs); err != nil {
			return broken("data", "want a JSON list of {\"seq\", \"data\" (base64)}: %v", err)
		}
		dm = make([]digest.Message, len(msgs))
		for i, m := range msgs {
			dm[i] = digest.Message{Seq: m.Seq, Data: m.Data}
		}
	}
	d, err := digest.Compute(rec.Stream, rec.Index, dm)
	if err != nil {
		return broken("data", "%v", err)
	}
	if wire.Digest(d) != rec.Digest {
		return broken("data", "digest %s, the record's is %s", d, rec.Digest)
	}
	return nil
}

// commitBytes is the commit's protobuf encoding: what a cached commit
// check is keyed by.
func commitBytes(c *cmttypes.Commit) []byte {
	b, err := c.ToProto().Marshal()
	if err != nil {
		return nil
	}
	return b
}

func hash32(b []byte) (merkle.Hash, error) {
	var h merkle.Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("%d bytes, want %d", len(b), len(h))
	}
	copy(h[:], b)
	return h, nil
}

func hashes(bs []HexBytes) ([]merkle.Hash, error) {
	out := make([]merkle.Hash, len(bs))
	for i, b := range bs {
		h, err := hash32(b)
		if err != nil {
			return nil, fmt.Errorf("path %d: %w", i, err)
		}
		out[i] = h
	}
	return out, nil
}

// who names a validator for people: its name and address.
func who(v Validator) string {
	if v.Name != "" {
		return fmt.Sprintf("validator %s (%s)", v.Name, v.Address)
	}
	return fmt.Sprintf("validator %s", v.Address)
}

// commitProblem says which validator's commit signature fails, in words,
// when CometBFT's check refused the commit (err); otherwise err's own
// message.
func commitProblem(chainID string, c *cmttypes.Commit, vs *cmttypes.ValidatorSet, vals []Validator, err error) string {
	for idx, cs := range c.Signatures {
		if cs.BlockIDFlag != cmttypes.BlockIDFlagCommit || idx >= len(vs.Validators) {
			continue
		}
		val := vs.Validators[idx]
		if !bytes.Equal(cs.ValidatorAddress, val.Address) {
			continue // CometBFT's message covers a misplaced signature
		}
		if !val.PubKey.VerifySignature(c.VoteSignBytes(chainID, int32(idx)), cs.Signature) {
			name := fmt.Sprintf("validator %s", val.Address)
			for _, v := range vals {
				if bytes.Equal(v.Address, val.Address) {
					name = who(v)
				}
			}
			return fmt.Sprintf("the commit signature of %s does not verify: the commit was forged or altered (%v)", name, err)
		}
	}
	return err.Error()
}

// genesisValidators checks that a receipt without history names exactly
// the genesis set, and returns its CometBFT set.
func genesisValidators(r *Receipt, gs *genesisSet, byAddr map[string]int, total *int64) (*cmttypes.ValidatorSet, error) {
	if len(r.Validators) != len(gs.Validators) {
		return nil, broken("validators", "%d validators, genesis has %d", len(r.Validators), len(gs.Validators))
	}
	cvals := make([]*cmttypes.Validator, len(gs.Validators))
	for i, g := range gs.Validators {
		v := r.Validators[i]
		pk, err := cryptoenc.PubKeyFromTypeAndBytes(g.PubKey.Type, g.PubKey.Value)
		if err != nil {
			return nil, broken("genesis", "validator %d: %v", i, err)
		}
		if !bytes.Equal(pk.Address(), g.Address) && len(g.Address) > 0 {
			return nil, broken("genesis", "validator %d: address does not match its key", i)
		}
		if !bytes.Equal(v.Address, pk.Address()) || v.PubKey.Type != g.PubKey.Type || !bytes.Equal(v.PubKey.Value, g.PubKey.Value) ||
			!bytes.Equal(v.ZiggyPubKey, g.ZiggyPubKey) || v.Power != g.Power || (v.Name != "" && v.Name != g.Name) {
			return nil, broken("validators", "validator %d (%s) differs from the genesis", i, v.Address)
		}
		cvals[i] = cmttypes.NewValidator(pk, g.Power)
		byAddr[string(pk.Address())] = i
		*total += g.Power
	}
	return cmttypes.NewValidatorSet(cvals), nil
}
