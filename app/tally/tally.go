package tally

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/datadragon/datadragon/app/wire"
)

// Params are the consensus parameters of the rule.
type Params struct {
	Powers []int64 // voting power by validator index
	Total  int64   // sum of Powers
	Num    uint64  // threshold numerator
	Den    uint64  // threshold denominator; Num/Den ∈ [1/2, 1)
	Window int64   // W ≥ 1: dispute window and settle window, in blocks
}

// NewParams checks and returns the parameters.
func NewParams(powers []int64, num, den uint64, window int64) (*Params, error) {
	p := &Params{Powers: slices.Clone(powers), Num: num, Den: den, Window: window}
	if len(powers) == 0 {
		return nil, errors.New("no validators")
	}
	for i, pw := range powers {
		if pw < 0 {
			return nil, fmt.Errorf("validator %d has power %d; powers must not be negative", i, pw)
		}
		if p.Total > (1<<62)-pw {
			return nil, errors.New("total voting power overflows")
		}
		p.Total += pw
	}
	if p.Total == 0 {
		return nil, errors.New("no validator has power")
	}
	if err := CheckThreshold(num, den); err != nil {
		return nil, err
	}
	if window < 1 {
		return nil, fmt.Errorf("window %d; it must be at least 1 block", window)
	}
	return p, nil
}

// CheckThreshold checks 1/2 ≤ num/den < 1 and den ≤ 1,000,000.
func CheckThreshold(num, den uint64) error {
	switch {
	case den == 0:
		return errors.New("threshold denominator is 0")
	case den > 1_000_000:
		return fmt.Errorf("threshold denominator %d is over 1000000", den)
	case 2*num < den:
		return fmt.Errorf("threshold %d/%d is below 1/2: two different digests could both be accepted", num, den)
	case num >= den:
		return fmt.Errorf("threshold %d/%d is not below 1: no digest could ever hold more than all the power", num, den)
	}
	return nil
}

// Exceeds reports whether power > Num/Den of Total, exactly (128-bit).
func (p *Params) Exceeds(power int64) bool {
	if power <= 0 {
		return false
	}
	hiL, loL := bits.Mul64(uint64(power), p.Den)
	hiR, loR := bits.Mul64(uint64(p.Total), p.Num)
	return hiL > hiR || hiL == hiR && loL > loR
}

// Claim is what an attestation says about a chunk: digest and verdict.
type Claim struct {
	Digest  wire.Digest
	Verdict wire.Verdict
}

func (c Claim) compare(o Claim) int {
	if x := bytes.Compare(c.Digest[:], o.Digest[:]); x != 0 {
		return x
	}
	if c.Verdict.Kind != o.Verdict.Kind {
		return int(c.Verdict.Kind) - int(o.Verdict.Kind)
	}
	switch {
	case c.Verdict.Code < o.Verdict.Code:
		return -1
	case c.Verdict.Code > o.Verdict.Code:
		return 1
	}
	return 0
}

func (c Claim) isGap() bool { return c.Verdict.Kind == wire.VerdictGap }

// Vote is one counted attestation and where it came from.
type Vote struct {
	Validator   int // index in the validator set
	Attestation wire.Attestation
	Height      int64  // block whose injected commit carried it
	Vote        uint16 // position of the validator's vote in that commit
	Leaf        uint16 // position of the attestation in the extension
}

// Entry is one validator's standing on one chunk.
type Entry struct {
	Validator   int
	Claim       Claim
	TimeMs      int64
	Height      int64
	Vote, Leaf  uint16
	Equivocated bool
	Late        bool // first counted after the decision
	Outcome     wire.Outcome
}

// Chunk is the tally of one chunk from its first counted attestation until
// it is settled.
type Chunk struct {
	Key           wire.ChunkKey
	Status        wire.Status
	Settled       bool
	FirstHeight   int64 // block that counted the first attestation
	StartHeight   int64 // block at whose end more than 1/3 of the power had attested (0: not yet)
	DecidedHeight int64
	Deadline      int64 // end of this block: drop if unconfirmed, dispute if pending, settle if decided
	Claim         Claim // the accepted claim
	Power         int64 // power behind it
	TimeMs        int64 // its weighted-median time
	Entries       []Entry
}

// New starts the tally of a chunk at height h. Until more than a third of
// the power has attested it, its deadline is the drop deadline h+W−1.
func New(p *Params, key wire.ChunkKey, h int64) *Chunk {
	return &Chunk{Key: key, FirstHeight: h, Deadline: h + p.Window - 1}
}

// Effect says what Apply did.
type Effect uint8

// The effects.
const (
	Counted     Effect = iota // a new entry
	Duplicate                 // same claim again, or a gap after a claim: ignored
	Upgraded                  // a gap replaced by a claim
	Equivocated               // a second, different claim: the entry is voided
	Ignored                   // the chunk is settled, or the entry already voided
)

func (e Effect) String() string {
	return [...]string{"counted", "duplicate", "upgraded", "equivocated", "ignored"}[e]
}

func (c *Chunk) find(v int) int {
	i, ok := slices.BinarySearchFunc(c.Entries, v, func(e Entry, v int) int { return e.Validator - v })
	if !ok {
		return -i - 1
	}
	return i
}

// Apply counts one validator's attestation for this chunk at height h.
// The caller has checked the signature and that the validator exists.
func (c *Chunk) Apply(v Vote) Effect {
	if c.Settled {
		return Ignored
	}
	claim := Claim{v.Attestation.Digest, v.Attestation.Verdict}
	i := c.find(v.Validator)
	if i < 0 {
		e := Entry{Validator: v.Validator, Claim: claim, TimeMs: v.Attestation.TimeMs,
			Height: v.Height, Vote: v.Vote, Leaf: v.Leaf, Late: c.Status != wire.StatusPending}
		c.classify(&e)
		c.Entries = slices.Insert(c.Entries, -i-1, e)
		return Counted
	}
	e := &c.Entries[i]
	switch {
	case e.Equivocated:
		return Ignored
	case e.Claim == claim, claim.isGap():
		return Duplicate
	case e.Claim.isGap():
		e.Claim, e.TimeMs, e.Height, e.Vote, e.Leaf = claim, v.Attestation.TimeMs, v.Height, v.Vote, v.Leaf
		if c.Status != wire.StatusPending {
			e.Late = true
		}
		c.classify(e)
		return Upgraded
	default:
		e.Equivocated = true
		e.Outcome = wire.OutcomeEquivocated
		return Equivocated
	}
}

// classify sets the outcome of an entry of a decided chunk (pending
// chunks' entries have none yet, except equivocations).
func (c *Chunk) classify(e *Entry) {
	switch {
	case e.Equivocated:
		e.Outcome = wire.OutcomeEquivocated
	case c.Status == wire.StatusPending:
		e.Outcome = wire.OutcomeNone
	case e.Claim.isGap():
		e.Outcome = wire.OutcomeGap
	case c.Status == wire.StatusDisputed:
		e.Outcome = wire.OutcomeAttested
	case e.Claim == c.Claim:
		e.Outcome = wire.OutcomeAgreed
	default:
		e.Outcome = wire.OutcomeFaulty
	}
}

// Standing returns the power behind each claim of a pending chunk, in
// claim order; gaps and equivocators support nothing.
func (c *Chunk) Standing(p *Params) (claims []Claim, powers []int64) {
	for _, e := range c.Entries {
		if e.Equivocated || e.Claim.isGap() {
			continue
		}
		j, found := slices.BinarySearchFunc(claims, e.Claim, Claim.compare)
		if !found {
			claims = slices.Insert(claims, j, e.Claim)
			powers = slices.Insert(powers, j, 0)
		}
		powers[j] += p.Powers[e.Validator]
	}
	return claims, powers
}

// Confirmed reports whether more than a third of the total power has
// attested the chunk (with any claim, gaps included), so that its dispute
// clock runs.
func (c *Chunk) Confirmed() bool { return c.StartHeight > 0 }

// Evaluate, at the end of block h, accepts a pending chunk if one claim
// holds more than the threshold of total power, and reports whether it
// did. Otherwise, if the attesters now hold more than 1/3 of the total
// power and the dispute clock was not running, it starts it: the chunk is
// disputed at the end of block h+W−1 unless accepted before.
func (c *Chunk) Evaluate(p *Params, h int64) bool {
	if c.Status != wire.StatusPending {
		return false
	}
	if c.accept(p, h) {
		return true
	}
	if c.StartHeight == 0 {
		var attested int64
		for _, e := range c.Entries {
			attested += p.Powers[e.Validator]
		}
		// 3·attested > total, in 128 bits.
		hiL, loL := bits.Mul64(uint64(attested), 3)
		if hiL > 0 || loL > uint64(p.Total) {
			c.StartHeight = h
			c.Deadline = h + p.Window - 1
		}
	}
	return false
}

func (c *Chunk) accept(p *Params, h int64) bool {
	claims, powers := c.Standing(p)
	for j, claim := range claims {
		if !p.Exceeds(powers[j]) {
			continue
		}
		c.Status = wire.StatusAccepted
		c.DecidedHeight = h
		c.Deadline = h + p.Window
		c.Claim = claim
		c.Power = powers[j]
		var ts []Timed
		for _, e := range c.Entries {
			if !e.Equivocated && e.Claim == claim {
				ts = append(ts, Timed{e.TimeMs, p.Powers[e.Validator]})
			}
		}
		c.TimeMs = WeightedMedian(ts)
		for i := range c.Entries {
			c.classify(&c.Entries[i])
		}
		return true
	}
	return false
}

// Expire handles a pending chunk whose deadline is block h. A confirmed
// chunk is disputed; an unconfirmed one (at most a third of the power ever
// attested it, which a Byzantine minority alone can do) is to be dropped:
// Expire returns true and the caller forgets the chunk, so its clock
// cannot have been started early by faulty validators.
func (c *Chunk) Expire(p *Params, h int64) (drop bool) {
	if c.Status != wire.StatusPending {
		return false
	}
	if !c.Confirmed() {
		return true
	}
	c.Dispute(p, h)
	return false
}

// Dispute marks a pending chunk disputed at height h.
func (c *Chunk) Dispute(p *Params, h int64) {
	if c.Status != wire.StatusPending {
		return
	}
	c.Status = wire.StatusDisputed
	c.DecidedHeight = h
	c.Deadline = h + p.Window
	for i := range c.Entries {
		c.classify(&c.Entries[i])
	}
}

// Counters are one validator's totals over settled chunks.
type Counters struct {
	Attested      uint64 // chunks it attested (any claim, gaps included)
	Agreed        uint64
	Faulty        uint64 // another claim than the accepted one, or an equivocation
	Equivocations uint64
	Gaps          uint64
	Absent        uint64
	Late          uint64 // attestations first counted after the decision
}

// Settle finalises a decided chunk: every validator's outcome is fixed and
// added to counters (indexed by validator). Validators with no entry are
// absent.
func (c *Chunk) Settle(p *Params, counters []Counters) {
	if c.Status == wire.StatusPending || c.Settled {
		return
	}
	c.Settled = true
	j := 0
	for v := range p.Powers {
		if j < len(c.Entries) && c.Entries[j].Validator == v {
			e := &c.Entries[j]
			j++
			k := &counters[v]
			k.Attested++
			if e.Late {
				k.Late++
			}
			switch e.Outcome {
			case wire.OutcomeAgreed:
				k.Agreed++
			case wire.OutcomeFaulty:
				k.Faulty++
			case wire.OutcomeEquivocated:
				k.Faulty++
				k.Equivocations++
			case wire.OutcomeGap:
				k.Gaps++
			}
			continue
		}
		counters[v].Absent++
	}
}

// Outcome returns validator v's outcome: its entry's, or absent once the
// chunk is settled, or none.
func (c *Chunk) Outcome(v int) wire.Outcome {
	if i := c.find(v); i >= 0 {
		return c.Entries[i].Outcome
	}
	if c.Settled {
		return wire.OutcomeAbsent
	}
	return wire.OutcomeNone
}

// Entry returns validator v's entry, if any.
func (c *Chunk) Entry(v int) (Entry, bool) {
	if i := c.find(v); i >= 0 {
		return c.Entries[i], true
	}
	return Entry{}, false
}

// Timed is an observation time with the power behind it.
type Timed struct {
	TimeMs int64
	Power  int64
}

// WeightedMedian returns the lower power-weighted median: the smallest
// time t such that the power of times ≤ t is at least half of the total.
// It returns 0 for no input.
func WeightedMedian(ts []Timed) int64 {
	if len(ts) == 0 {
		return 0
	}
	s := slices.Clone(ts)
	slices.SortFunc(s, func(a, b Timed) int {
		switch {
		case a.TimeMs < b.TimeMs:
			return -1
		case a.TimeMs > b.TimeMs:
			return 1
		}
		return 0
	})
	var total int64
	for _, t := range s {
		total += t.Power
	}
	var cum int64
	for _, t := range s {
		cum += t.Power
		if 2*cum >= total {
			return t.TimeMs
		}
	}
	return s[len(s)-1].TimeMs
}

// Record builds the chunk's record once it is decided. validators holds
// each validator's address by index. Only the entries counted up to the
// decision (not late ones) are in the record.
func (c *Chunk) Record(p *Params, validators [][]byte) *wire.Record {
	r := &wire.Record{
		Stream: c.Key.Stream, Index: c.Key.Index, Status: c.Status,
		FirstHeight: c.FirstHeight, DecidedHeight: c.DecidedHeight, TotalPower: p.Total,
	}
	if c.Status == wire.StatusAccepted {
		r.Digest, r.Verdict, r.TimeMs, r.Power = c.Claim.Digest, c.Claim.Verdict, c.TimeMs, c.Power
	}
	for _, e := range c.Entries {
		if e.Late {
			continue
		}
		r.Attestations = append(r.Attestations, wire.RecordAttestation{
			Validator: validators[e.Validator], Power: p.Powers[e.Validator],
			Digest: e.Claim.Digest, TimeMs: e.TimeMs, Verdict: e.Claim.Verdict,
			Height: e.Height, Vote: e.Vote, Leaf: e.Leaf, Outcome: e.Outcome,
		})
	}
	return r
}
