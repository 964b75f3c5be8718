package tally

import (
	"math"
	"testing"

	"github.com/datadragon/datadragon/app/wire"
)

var key = wire.ChunkKey{Stream: "s", Index: 7}

func d(b byte) wire.Digest { return wire.Digest{b} }

func vote(val int, dg wire.Digest, v wire.Verdict, tms, h int64) Vote {
	return Vote{Validator: val, Height: h, Attestation: wire.Attestation{Stream: key.Stream, Index: key.Index, Digest: dg, TimeMs: tms, Verdict: v}}
}

func ok(val int, dg byte, h int64) Vote { return vote(val, d(dg), wire.OK, 1000+int64(val), h) }

func gap(val int, h int64) Vote { return vote(val, wire.Digest{}, wire.Gap, 1000, h) }

func params(t *testing.T, powers []int64, num, den uint64, w int64) *Params {
	t.Helper()
	p, err := NewParams(powers, num, den, w)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestThresholdExactlyHalfIsNotEnough(t *testing.T) {
	cases := []struct {
		name     string
		powers   []int64
		num, den uint64
		agree    []int // validators attesting digest 1
		accepted bool
	}{
		{"4 equal, 2 agree = 1/2", []int64{1, 1, 1, 1}, 1, 2, []int{0, 1}, false},
		{"4 equal, 3 agree", []int64{1, 1, 1, 1}, 1, 2, []int{0, 1, 2}, true},
		{"4 equal, 4 agree", []int64{1, 1, 1, 1}, 1, 2, []int{0, 1, 2, 3}, true},
		{"3 equal, 2 agree", []int64{1, 1, 1}, 1, 2, []int{0, 1}, true},
		{"2 equal, 1 agrees = 1/2", []int64{5, 5}, 1, 2, []int{0}, false},
		{"weighted: 5 of 10", []int64{5, 3, 1, 1}, 1, 2, []int{0}, false},
		{"weighted: 6 of 10", []int64{5, 3, 1, 1}, 1, 2, []int{0, 2}, true},
		{"weighted: 5 small of 10", []int64{5, 3, 1, 1}, 1, 2, []int{1, 2, 3}, false},
		{"weighted: big one alone over half", []int64{51, 49}, 1, 2, []int{0}, true},
		{"2/3: exactly 2/3 is not enough", []int64{1, 1, 1}, 2, 3, []int{0, 1}, false},
		{"2/3: 3 of 4", []int64{1, 1, 1, 1}, 2, 3, []int{0, 1, 2}, true},
		{"51/100: 51 of 100", []int64{51, 49}, 51, 100, []int{0}, false},
		{"51/100: 52 of 100", []int64{52, 48}, 51, 100, []int{0}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := params(t, c.powers, c.num, c.den, 5)
			ch := New(p, key, 1)
			for _, v := range c.agree {
				if e := ch.Apply(ok(v, 1, 1)); e != Counted {
					t.Fatalf("apply: %v", e)
				}
			}
			if got := ch.Evaluate(p, 1); got != c.accepted {
				t.Fatalf("accepted = %v, want %v", got, c.accepted)
			}
		})
	}
}

func TestExceedsLargePowers(t *testing.T) {
	total := int64(math.MaxInt64 / 8)
	p := &Params{Total: total, Num: 1, Den: 2}
	half := total / 2
	if total%2 == 1 {
		// total odd: half+1 is the first power strictly above total/2
		if p.Exceeds(half) || !p.Exceeds(half+1) {
			t.Fatal("odd total boundary")
		}
	} else if p.Exceeds(half) || !p.Exceeds(half+1) {
		t.Fatal("even total boundary")
	}
	p = &Params{Total: total, Num: 999_999, Den: 1_000_000}
	if !p.Exceeds(total) || p.Exceeds(total/1_000_000*999_999) {
		t.Fatal("999999/1000000 boundary")
	}
}

func TestCheckThreshold(t *testing.T) {
	for _, c := range []struct {
		num, den uint64
		ok       bool
	}{{1, 2, true}, {2, 3, true}, {51, 100, true}, {1, 3, false}, {49, 100, false}, {1, 1, false}, {3, 2, false}, {1, 0, false}, {0, 2, false}, {1_000_001, 2_000_000, false}} {
		if err := CheckThreshold(c.num, c.den); (err == nil) != c.ok {
			t.Errorf("%d/%d: err=%v", c.num, c.den, err)
		}
	}
	// A removed validator keeps its index with power 0; a set with no
	// power at all, or a negative power, is refused.
	if _, err := NewParams([]int64{1, 0}, 1, 2, 1); err != nil {
		t.Errorf("a removed validator (power 0) refused: %v", err)
	}
	if _, err := NewParams([]int64{0, 0}, 1, 2, 1); err == nil {
		t.Error("a set without power accepted")
	}
	if _, err := NewParams([]int64{1, -1}, 1, 2, 1); err == nil {
		t.Error("negative power accepted")
	}
	if _, err := NewParams([]int64{1}, 1, 2, 0); err == nil {
		t.Error("window 0 accepted")
	}
	if _, err := NewParams(nil, 1, 2, 1); err == nil {
		t.Error("no validators accepted")
	}
}

func TestTieIsNeverAccepted(t *testing.T) {
	p := params(t, []int64{1, 1, 1, 1}, 1, 2, 3)
	ch := New(p, key, 10)
	ch.Apply(ok(0, 1, 10))
	ch.Apply(ok(1, 1, 10))
	ch.Apply(ok(2, 2, 10))
	ch.Apply(ok(3, 2, 10))
	for h := int64(10); h < 13; h++ {
		if ch.Evaluate(p, h) {
			t.Fatal("2–2 tie accepted")
		}
	}
	if ch.Deadline != 12 {
		t.Fatalf("deadline %d, want first height + W − 1 = 12", ch.Deadline)
	}
	ch.Dispute(p, 12)
	if ch.Status != wire.StatusDisputed || ch.DecidedHeight != 12 || ch.Deadline != 15 {
		t.Fatalf("after dispute: %+v", ch)
	}
	for v := 0; v < 4; v++ {
		if o := ch.Outcome(v); o != wire.OutcomeAttested {
			t.Fatalf("validator %d outcome %v", v, o)
		}
	}
	// Nothing accepts a disputed chunk.
	ch.Apply(ok(0, 2, 13))
	if ch.Evaluate(p, 13) || ch.Status != wire.StatusDisputed {
		t.Fatal("disputed chunk changed")
	}
}

func TestMissingAndLateAttestationsCount(t *testing.T) {
	p := params(t, []int64{1, 1, 1, 1}, 1, 2, 5)
	ch := New(p, key, 1)
	ch.Apply(ok(0, 1, 1))
	ch.Apply(ok(1, 1, 1))
	if ch.Evaluate(p, 1) {
		t.Fatal("accepted with half")
	}
	// Validator 2's extension was missing at height 1; it arrives at 3.
	if e := ch.Apply(ok(2, 1, 3)); e != Counted {
		t.Fatal(e)
	}
	if !ch.Evaluate(p, 3) {
		t.Fatal("later attestation not counted")
	}
	if ch.DecidedHeight != 3 || ch.FirstHeight != 1 || ch.Power != 3 || ch.Deadline != 8 {
		t.Fatalf("%+v", ch)
	}
	// Validator 3 arrives after the decision: late, agreed, not in the record.
	if e := ch.Apply(ok(3, 1, 4)); e != Counted {
		t.Fatal(e)
	}
	if en, _ := ch.Entry(3); !en.Late || en.Outcome != wire.OutcomeAgreed {
		t.Fatalf("late entry %+v", en)
	}
	rec := ch.Record(p, [][]byte{{0}, {1}, {2}, {3}})
	if len(rec.Attestations) != 3 {
		t.Fatalf("record has %d attestations, want the 3 timely ones", len(rec.Attestations))
	}
	counters := make([]Counters, 4)
	ch.Settle(p, counters)
	for v := 0; v < 4; v++ {
		k := counters[v]
		if k.Agreed != 1 || k.Attested != 1 || k.Absent != 0 || k.Faulty != 0 {
			t.Fatalf("validator %d counters %+v", v, k)
		}
	}
	if counters[3].Late != 1 || counters[0].Late != 0 {
		t.Fatal("late counter")
	}
	if e := ch.Apply(ok(3, 9, 9)); e != Ignored {
		t.Fatalf("attestation after settlement: %v", e)
	}
	// Settling twice counts nothing more.
	ch.Settle(p, counters)
	if counters[0].Agreed != 1 {
		t.Fatal("settled twice")
	}
}

func TestWrongDigestIsFaultySilentIsAbsent(t *testing.T) {
	p := params(t, []int64{1, 1, 1, 1, 1}, 1, 2, 2)
	ch := New(p, key, 1)
	ch.Apply(ok(0, 1, 1))
	ch.Apply(ok(1, 1, 1))
	ch.Apply(ok(2, 1, 1))
	ch.Apply(ok(3, 2, 1)) // Byzantine: another digest
	// 4 silent
	if !ch.Evaluate(p, 1) {
		t.Fatal("3 of 5 not accepted")
	}
	if ch.Outcome(3) != wire.OutcomeFaulty || ch.Outcome(0) != wire.OutcomeAgreed || ch.Outcome(4) != wire.OutcomeNone {
		t.Fatal("outcomes before settlement")
	}
	counters := make([]Counters, 5)
	ch.Settle(p, counters)
	if counters[3].Faulty != 1 || counters[3].Agreed != 0 {
		t.Fatalf("faulty validator: %+v", counters[3])
	}
	if counters[4].Absent != 1 || counters[4].Attested != 0 || ch.Outcome(4) != wire.OutcomeAbsent {
		t.Fatalf("silent validator: %+v", counters[4])
	}
	// Same digest, different verdict is a different claim: faulty too.
	ch2 := New(p, key, 1)
	for v := 0; v < 3; v++ {
		ch2.Apply(ok(v, 1, 1))
	}
	ch2.Apply(vote(3, d(1), wire.Violation(4), 5, 1))
	ch2.Evaluate(p, 1)
	if ch2.Outcome(3) != wire.OutcomeFaulty {
		t.Fatal("other verdict not faulty")
	}
	// A rule-violation verdict can itself be accepted.
	ch3 := New(p, key, 1)
	for v := 0; v < 3; v++ {
		ch3.Apply(vote(v, d(1), wire.Violation(4), 5, 1))
	}
	if !ch3.Evaluate(p, 1) || ch3.Claim.Verdict != wire.Violation(4) {
		t.Fatal("violation verdict not accepted")
	}
}

func TestDuplicatesAndEquivocation(t *testing.T) {
	p := params(t, []int64{1, 1, 1, 1}, 1, 2, 5)
	ch := New(p, key, 1)
	ch.Apply(ok(0, 1, 1))
	ch.Apply(ok(1, 1, 1))
	ch.Apply(ok(2, 2, 1))
	// Re-sent: same claim, other time → duplicate, first time kept.
	if e := ch.Apply(vote(0, d(1), wire.OK, 99999, 2)); e != Duplicate {
		t.Fatal(e)
	}
	if en, _ := ch.Entry(0); en.TimeMs != 1000 || en.Height != 1 {
		t.Fatal("duplicate replaced the first attestation")
	}
	// Validator 2 switches to digest 1: an equivocation. It must not tip
	// digest 1 over the threshold.
	if e := ch.Apply(ok(2, 1, 2)); e != Equivocated {
		t.Fatal(e)
	}
	if ch.Evaluate(p, 2) {
		t.Fatal("equivocator's second claim counted")
	}
	if e := ch.Apply(ok(2, 1, 3)); e != Ignored {
		t.Fatalf("after equivocation: %v", e)
	}
	claims, powers := ch.Standing(p)
	if len(claims) != 1 || powers[0] != 2 {
		t.Fatalf("standing %v %v", claims, powers)
	}
	ch.Apply(ok(3, 1, 3))
	if !ch.Evaluate(p, 3) {
		t.Fatal("not accepted with 3 honest")
	}
	if ch.Outcome(2) != wire.OutcomeEquivocated {
		t.Fatal(ch.Outcome(2))
	}
	counters := make([]Counters, 4)
	ch.Settle(p, counters)
	if counters[2].Faulty != 1 || counters[2].Equivocations != 1 || counters[2].Agreed != 0 {
		t.Fatalf("equivocator counters %+v", counters[2])
	}
	// Equivocation after the decision turns an agreed validator faulty.
	ch = New(p, key, 1)
	for v := 0; v < 3; v++ {
		ch.Apply(ok(v, 1, 1))
	}
	ch.Evaluate(p, 1)
	if e := ch.Apply(ok(0, 2, 2)); e != Equivocated || ch.Outcome(0) != wire.OutcomeEquivocated {
		t.Fatal("late equivocation")
	}
	if ch.Status != wire.StatusAccepted || ch.Claim.Digest != d(1) {
		t.Fatal("a decision changed")
	}
}

func TestGaps(t *testing.T) {
	p := params(t, []int64{1, 1, 1, 1}, 1, 2, 5)
	ch := New(p, key, 1)
	ch.Apply(gap(0, 1))
	ch.Apply(gap(1, 1))
	ch.Apply(gap(2, 1))
	if ch.Evaluate(p, 1) {
		t.Fatal("gaps accepted as a claim")
	}
	ch.Apply(ok(3, 1, 1))
	ch.Apply(ok(2, 1, 2)) // replay caught up: gap → claim
	if en, _ := ch.Entry(2); en.Claim.Digest != d(1) || en.Height != 2 {
		t.Fatal("gap not upgraded")
	}
	if ch.Evaluate(p, 2) {
		t.Fatal("2 of 4 accepted")
	}
	if e := ch.Apply(ok(1, 1, 3)); e != Upgraded {
		t.Fatal(e)
	}
	if !ch.Evaluate(p, 3) {
		t.Fatal("3 of 4 not accepted")
	}
	// A gap after a claim is ignored.
	if e := ch.Apply(gap(3, 4)); e != Duplicate {
		t.Fatal(e)
	}
	counters := make([]Counters, 4)
	ch.Settle(p, counters)
	if counters[0].Gaps != 1 || counters[0].Faulty != 0 || counters[0].Absent != 0 {
		t.Fatalf("gap counters %+v", counters[0])
	}
	if counters[1].Agreed != 1 || counters[1].Late != 0 {
		t.Fatalf("upgraded validator %+v", counters[1])
	}
	// A gap upgraded after the decision is late.
	ch = New(p, key, 1)
	ch.Apply(gap(0, 1))
	for v := 1; v < 4; v++ {
		ch.Apply(ok(v, 1, 1))
	}
	ch.Evaluate(p, 1)
	if ch.Outcome(0) != wire.OutcomeGap {
		t.Fatal(ch.Outcome(0))
	}
	ch.Apply(ok(0, 2, 2))
	if en, _ := ch.Entry(0); !en.Late || en.Outcome != wire.OutcomeFaulty {
		t.Fatalf("%+v", en)
	}
}

func TestDisputeAndSettleAbsent(t *testing.T) {
	p := params(t, []int64{3, 1, 1, 1}, 1, 2, 1)
	ch := New(p, key, 5)
	if ch.Deadline != 5 {
		t.Fatal("W=1: the deadline is the first block itself")
	}
	ch.Apply(ok(0, 1, 5)) // 3 of 6 = exactly half
	if ch.Evaluate(p, 5) {
		t.Fatal("half accepted")
	}
	ch.Dispute(p, 5)
	ch.Apply(ok(1, 1, 6)) // late, would have made a majority: too late
	if ch.Status != wire.StatusDisputed || ch.Outcome(1) != wire.OutcomeAttested {
		t.Fatal("late attestation revived a disputed chunk")
	}
	counters := make([]Counters, 4)
	ch.Settle(p, counters)
	if counters[2].Absent != 1 || counters[3].Absent != 1 || counters[0].Absent != 0 || counters[1].Late != 1 {
		t.Fatalf("%+v", counters)
	}
	rec := ch.Record(p, [][]byte{{0}, {1}, {2}, {3}})
	if rec.Status != wire.StatusDisputed || rec.TimeMs != 0 || !rec.Digest.IsZero() || len(rec.Attestations) != 1 {
		t.Fatalf("disputed record %+v", rec)
	}
}

func TestWeightedMedian(t *testing.T) {
	cases := []struct {
		name string
		in   []Timed
		want int64
	}{
		{"none", nil, 0},
		{"one", []Timed{{7, 1}}, 7},
		{"odd equal", []Timed{{30, 1}, {10, 1}, {20, 1}}, 20},
		{"even equal: lower median", []Timed{{40, 1}, {10, 1}, {30, 1}, {20, 1}}, 20},
		{"exact half split: lower", []Timed{{100, 5}, {200, 5}}, 100},
		{"heavy late node", []Timed{{100, 1}, {101, 1}, {5000, 3}}, 5000},
		{"heavy early node under half", []Timed{{1, 2}, {100, 1}, {101, 1}, {102, 1}}, 100},
		{"equal times", []Timed{{50, 1}, {50, 2}, {60, 1}}, 50},
		{"outlier cannot drag", []Timed{{1000, 1}, {1001, 1}, {1002, 1}, {0, 1}, {1 << 40, 1}}, 1001},
	}
	for _, c := range cases {
		if got := WeightedMedian(c.in); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
	// The input is not reordered.
	in := []Timed{{3, 1}, {1, 1}, {2, 1}}
	WeightedMedian(in)
	if in[0].TimeMs != 3 {
		t.Error("input sorted in place")
	}
}

func TestRecordTimestampIsMajorityMedian(t *testing.T) {
	p := params(t, []int64{1, 1, 1, 1, 1}, 1, 2, 5)
	ch := New(p, key, 1)
	ch.Apply(vote(0, d(1), wire.OK, 1000, 1))
	ch.Apply(vote(1, d(1), wire.OK, 1010, 1))
	ch.Apply(vote(2, d(1), wire.OK, 5_000_000, 1)) // a skewed clock
	ch.Apply(vote(3, d(2), wire.OK, 1, 1))         // dissenter's time is not used
	ch.Evaluate(p, 1)
	if ch.TimeMs != 1010 {
		t.Fatalf("timestamp %d", ch.TimeMs)
	}
}

func TestChunkEncodingRoundTrip(t *testing.T) {
	p := params(t, []int64{1, 1, 1, 1}, 1, 2, 5)
	ch := New(p, key, 1)
	ch.Apply(ok(0, 1, 1))
	ch.Apply(vote(1, d(1), wire.Violation(9), 3, 1))
	ch.Apply(gap(2, 1))
	ch.Apply(ok(1, 2, 2))
	ch.Apply(ok(3, 1, 1))
	ch.Evaluate(p, 2)
	b := ch.Marshal()
	back, err := UnmarshalChunk(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Marshal()) != string(b) {
		t.Fatal("round trip differs")
	}
	for i := 0; i < len(b); i++ {
		if _, err := UnmarshalChunk(b[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
	k := Counters{1, 2, 3, 4, 5, 6, 7}
	if back, err := UnmarshalCounters(k.Marshal()); err != nil || back != k {
		t.Fatal("counters round trip")
	}
}

func FuzzUnmarshalChunk(f *testing.F) {
	p, _ := NewParams([]int64{1, 1, 1}, 1, 2, 3)
	ch := New(p, key, 1)
	ch.Apply(ok(0, 1, 1))
	ch.Apply(ok(2, 1, 1))
	ch.Evaluate(p, 1)
	f.Add(ch.Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := UnmarshalChunk(b)
		if err != nil {
			return
		}
		if string(c.Marshal()) != string(b) {
			t.Fatal("accepted a non-canonical encoding")
		}
	})
}

func TestClockStartsAboveOneThird(t *testing.T) {
	p := params(t, []int64{1, 1, 1}, 1, 2, 4)
	// One of three attests (exactly 1/3): the clock does not start, and at
	// the drop deadline the chunk is dropped, not disputed.
	ch := New(p, key, 10)
	ch.Apply(ok(0, 9, 10))
	ch.Evaluate(p, 10)
	if ch.Confirmed() || ch.Deadline != 13 {
		t.Fatalf("lone attestation started the clock: %+v", ch)
	}
	if !ch.Expire(p, 13) || ch.Status != wire.StatusPending {
		t.Fatal("unconfirmed chunk not dropped")
	}
	// Two of three (2/3 > 1/3) start it where they are counted.
	ch = New(p, key, 10)
	ch.Apply(ok(0, 9, 10))
	ch.Evaluate(p, 10)
	ch.Apply(gap(1, 12)) // a gap shows the chunk exists: it counts here
	ch.Evaluate(p, 12)
	if ch.StartHeight != 12 || ch.Deadline != 15 {
		t.Fatalf("clock: start %d deadline %d", ch.StartHeight, ch.Deadline)
	}
	if ch.Expire(p, 15) || ch.Status != wire.StatusDisputed || ch.DecidedHeight != 15 {
		t.Fatalf("confirmed chunk not disputed: %+v", ch)
	}
	// Weighted: a validator with more than a third starts it alone.
	p = params(t, []int64{4, 1, 1, 1, 1, 1, 1}, 1, 2, 4)
	ch = New(p, key, 1)
	ch.Apply(ok(0, 1, 1))
	ch.Evaluate(p, 1)
	if !ch.Confirmed() {
		t.Fatal("4 of 10 did not start the clock")
	}
	// An accepted chunk needs no clock.
	p = params(t, []int64{1, 1, 1}, 1, 2, 4)
	ch = New(p, key, 1)
	ch.Apply(ok(0, 1, 1))
	ch.Apply(ok(1, 1, 1))
	if !ch.Evaluate(p, 1) || ch.Expire(p, 5) {
		t.Fatal("accept")
	}
}
