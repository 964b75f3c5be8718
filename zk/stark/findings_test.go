package stark_test

import (
	"errors"
	"math"
	"math/bits"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/internal/evil"
	"github.com/datadragon/datadragon/zk/stark"
)

// squaresAir is "every P[i] is a square": the public values P sit in a
// periodic column of 64 entries, and the one trace column S must satisfy
// P(x) − S(x)² = 0 on the constrained rows.
type squaresAir struct {
	n, rows int
	zk      bool
	p       []field.Element
}

func (a *squaresAir) Info() stark.AirInfo {
	var pub []byte
	for _, v := range a.p {
		pub = v.AppendBytes(pub)
	}
	return stark.AirInfo{
		Name:          "test/squares",
		PublicInputs:  pub,
		Width:         1,
		TraceLength:   a.n,
		Rows:          a.rows,
		ZeroKnowledge: a.zk,
		Periodic:      [][]field.Element{a.p},
		Constraints:   []stark.Constraint{{Degree: 2, Rows: stark.EveryRow()}},
	}
}

func (a *squaresAir) EvaluateBase(f *stark.Frame[field.Element], out []field.Element) {
	out[0] = f.Periodic[0].Sub(f.Cur[0].Square())
}

func (a *squaresAir) EvaluateExt(f *stark.Frame[field.Ext], out []field.Ext) {
	out[0] = f.Periodic[0].Sub(f.Cur[0].Mul(f.Cur[0]))
}

// squares returns 64 squares and a trace of n rows holding the square
// roots of the first known of them in every 64-row block (the other rows
// are garbage).
func squares(n, known int) ([]field.Element, stark.Trace) {
	r := mrand.New(mrand.NewPCG(7, 7))
	p := make([]field.Element, 64)
	roots := make([]field.Element, 64)
	for i := range p {
		roots[i] = field.New(r.Uint64N(field.Modulus))
		p[i] = roots[i].Square()
	}
	tr := stark.Trace{make([]field.Element, n)}
	for i := range tr[0] {
		if i%64 < known {
			tr[0][i] = roots[i%64]
		} else {
			tr[0][i] = field.New(r.Uint64N(field.Modulus))
		}
	}
	return p, tr
}

func encodeParse(t *testing.T, p *stark.Proof) *stark.Proof {
	t.Helper()
	q, err := evil.Encode(p)
	if err != nil {
		t.Fatalf("a forgery must reach the verifier: %v", err)
	}
	return q
}

// TestProofCannotChooseConstrainedRows is finding 1: a prover knowing two
// of 64 square roots asks for zero knowledge with enough random rows to
// cover the other 62 rows. The statement (64 rows, not zero-knowledge)
// decides, so the proof is refused; the statement with the rows the proof
// wanted would have accepted it.
func TestProofCannotChooseConstrainedRows(t *testing.T) {
	p, tr := squares(64, 2)
	air := &squaresAir{n: 64, p: p}
	if stark.CheckTrace(air, tr) == nil {
		t.Fatal("setup: the trace knows every root")
	}
	opts := stark.Options{Blowup: 64, Queries: 14, GrindingBits: 17, FoldingFactor: 8, LastLayerDegree: 8, ZeroKnowledge: true}
	if b := opts.ConjecturedSecurity(64); b < stark.DefaultMinSecurity {
		t.Fatalf("setup: the forgery's options give %d bits, below the default floor", b)
	}
	if free := 64 - opts.ZKRows(); free != 2 {
		t.Fatalf("setup: the options leave %d rows, want 2", free)
	}
	if _, err := stark.Prove(air, evilClone(tr), opts); !errors.Is(err, stark.ErrStatementMismatch) {
		t.Fatalf("the honest prover let the options lift rows: %v", err)
	}
	forged, _, err := evil.Prove(air, evilClone(tr), opts, evil.Config{LiftRows: true})
	if err != nil {
		t.Fatalf("the cheating prover failed, so the forgery tests nothing: %v", err)
	}
	forged = encodeParse(t, forged)
	lifted := &squaresAir{n: 64, rows: 2, zk: true, p: p}
	if err := stark.Verify(lifted, forged, 0); err != nil {
		t.Fatalf("setup: the forgery does not even verify where the proof chose the rows: %v", err)
	}
	if err := stark.Verify(air, forged, 0); !errors.Is(err, stark.ErrStatementMismatch) {
		t.Fatalf("a proof that chose its own constrained rows: %v, want ErrStatementMismatch", err)
	}

	// A zero-knowledge statement constraining 64 of 256 rows: options that
	// fit are proved and verified, options needing more random rows than
	// the 192 it leaves are refused on both sides.
	p, tr = squares(256, 64)
	zkAir := &squaresAir{n: 256, rows: 64, zk: true, p: p}
	proof, err := stark.Prove(zkAir, evilClone(tr), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := stark.Verify(zkAir, encodeParse(t, proof), 0); err != nil {
		t.Fatal(err)
	}
	greedy := opts
	greedy.Queries = 47 // 194 random rows
	if _, err := stark.Prove(zkAir, evilClone(tr), greedy); !errors.Is(err, stark.ErrStatementMismatch) {
		t.Fatalf("proved with more random rows than the statement leaves: %v", err)
	}
	greedyProof, _, err := evil.Prove(&squaresAir{n: 256, rows: 256 - greedy.ZKRows(), zk: true, p: p}, evilClone(tr), greedy, evil.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := stark.Verify(zkAir, encodeParse(t, greedyProof), 0); !errors.Is(err, stark.ErrStatementMismatch) {
		t.Fatalf("verified a proof with more random rows than the statement leaves: %v", err)
	}
	// The flag itself: a plain proof of a zero-knowledge statement.
	plain := opts
	plain.ZeroKnowledge = false
	plainProof, _, err := evil.Prove(zkAir, evilClone(tr), plain, evil.Config{LiftRows: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := stark.Verify(zkAir, encodeParse(t, plainProof), 0); !errors.Is(err, stark.ErrStatementMismatch) {
		t.Fatalf("verified a proof without zero knowledge of a zero-knowledge statement: %v", err)
	}
}

func evilClone(t stark.Trace) stark.Trace {
	c := make(stark.Trace, len(t))
	for i := range t {
		c[i] = append([]field.Element(nil), t[i]...)
	}
	return c
}

// hiddenAir counts up, x' = x + 1, from asserted values on rows 0, 1 and
// 2; its PublicInputs forget those values, as a careless AIR might.
type hiddenAir struct{ v [3]field.Element }

func (a *hiddenAir) Info() stark.AirInfo {
	return stark.AirInfo{
		Name:        "test/hidden-assertions",
		Width:       1,
		TraceLength: 64,
		Constraints: []stark.Constraint{{Degree: 1, UsesNext: true, Rows: stark.EveryRow()}},
		Assertions: []stark.Assertion{
			{Column: 0, Row: 0, Value: a.v[0]},
			{Column: 0, Row: 1, Value: a.v[1]},
			{Column: 0, Row: 2, Value: a.v[2]},
		},
	}
}

func (a *hiddenAir) EvaluateBase(f *stark.Frame[field.Element], out []field.Element) {
	out[0] = f.Next[0].Sub(f.Cur[0]).Sub(field.One())
}

func (a *hiddenAir) EvaluateExt(f *stark.Frame[field.Ext], out []field.Ext) {
	out[0] = f.Next[0].Sub(f.Cur[0]).SubBase(field.One())
}

// TestAssertionsAreBound is finding 2: with the assertion values left out
// of PublicInputs, a prover commits to any trace, sees z and α, and solves
// the out-of-domain equation for three asserted values. The engine binds
// the whole statement description, so the solved statement's transcript
// differs from the one the proof was made under and it is refused.
func TestAssertionsAreBound(t *testing.T) {
	tr := stark.Trace{make([]field.Element, 64)}
	for i := range tr[0] {
		tr[0][i] = field.New(uint64(1000 + i))
	}
	opts := stark.DefaultOptions()
	placeholder := &hiddenAir{}
	forged, solved, err := evil.Prove(placeholder, evilClone(tr), opts, evil.Config{SkipChecks: true, SolveAssertions: 3})
	if err != nil {
		t.Fatalf("the cheating prover failed, so the forgery tests nothing: %v", err)
	}
	claim := &hiddenAir{v: [3]field.Element(solved)}
	if stark.CheckTrace(claim, tr) == nil {
		t.Fatal("setup: the solved values are true of the trace; the forgery proves nothing false")
	}
	if err := stark.Verify(claim, encodeParse(t, forged), 0); err == nil {
		t.Fatal("a proof whose asserted values were chosen after the challenges was accepted")
	}
	if err := stark.Verify(placeholder, encodeParse(t, forged), 0); err == nil {
		t.Fatal("the forgery verified against the statement it was committed under")
	}
}

// TestProverRefusesInvalidTraceWithFullSegments is finding 5: with one
// composition segment (a power of two) the segments fill the constraint
// evaluation domain and no coefficient can be checked; Prove must still
// refuse a trace that breaks a constraint.
func TestProverRefusesInvalidTraceWithFullSegments(t *testing.T) {
	p, tr := squares(64, 64)
	air := &squaresAir{n: 64, p: p}
	if err := stark.CheckTrace(air, tr); err != nil {
		t.Fatal(err)
	}
	opts := stark.DefaultOptions()
	if _, err := stark.Prove(air, evilClone(tr), opts); err != nil {
		t.Fatalf("valid trace: %v", err)
	}
	tr[0][5] = tr[0][5].Add(field.One())
	if _, err := stark.Prove(air, evilClone(tr), opts); err == nil {
		t.Fatal("Prove returned a proof of a trace that breaks a constraint")
	}
	forged, _, err := evil.Prove(air, tr, opts, evil.Config{SkipChecks: true})
	if err != nil {
		t.Fatal(err)
	}
	if stark.Verify(air, encodeParse(t, forged), 0) == nil {
		t.Fatal("the verifier accepted the invalid trace's proof")
	}
}

// TestConjecturedSecurityFormula is finding 6: eq. (19) of the ethSTARK
// documentation subtracts one bit.
func TestConjecturedSecurityFormula(t *testing.T) {
	cases := []struct {
		o    stark.Options
		n    int
		want int
	}{
		{stark.Options{Blowup: 32, Queries: 23, GrindingBits: 13}, 128, 127}, // Ziggy's old options
		{stark.Options{Blowup: 32, Queries: 23, GrindingBits: 14}, 128, 128},
		{stark.Options{Blowup: 8, Queries: 37, GrindingBits: 18}, 1 << 16, 128},
		{stark.Options{Blowup: 8, Queries: 30, GrindingBits: 10}, 1 << 16, 99},
		{stark.Options{Blowup: 4, Queries: 60, GrindingBits: 0}, 1 << 16, 119},
		// The field bound, 183 − log2(2^26 · 64) = 151, less one bit.
		{stark.Options{Blowup: 64, Queries: 40, GrindingBits: 0}, 1 << 26, 128},
	}
	for _, c := range cases {
		if got := c.o.ConjecturedSecurity(c.n); got != c.want {
			t.Errorf("%+v over %d rows: %d bits, want %d", c.o, c.n, got, c.want)
		}
	}
}

// TestProvenSecurity is finding 7: the proven bits of eq. (20) lie
// between the value at m = 3 and the per-query limit log2(1/√ρ), are far
// below the conjectured bits for the defaults, and ProvenOptions reach 100.
func TestProvenSecurity(t *testing.T) {
	for _, c := range []struct {
		o stark.Options
		n int
	}{
		{stark.DefaultOptions(), 1 << 16},
		{stark.DefaultOptions(), 1 << 10},
		{stark.Options{Blowup: 32, Queries: 23, GrindingBits: 14, FoldingFactor: 8, LastLayerDegree: 64}, 128},
		{stark.ProvenOptions(), 1 << 17},
	} {
		got := c.o.ProvenSecurity(c.n)
		rho := 1 / float64(c.o.Blowup)
		atM3 := float64(c.o.GrindingBits) - float64(c.o.Queries)*math.Log2(math.Sqrt(rho)*(1+1.0/6)) - 1
		limit := float64(c.o.GrindingBits) + float64(c.o.Queries)*float64(bits.TrailingZeros(uint(c.o.Blowup)))/2 - 1
		if float64(got) < math.Floor(atM3) || float64(got) > limit {
			t.Errorf("%+v over %d rows: %d proven bits, want between %.1f (m = 3) and %.1f", c.o, c.n, got, atM3, limit)
		}
		if got >= c.o.ConjecturedSecurity(c.n) {
			t.Errorf("%+v: proven %d ≥ conjectured %d", c.o, got, c.o.ConjecturedSecurity(c.n))
		}
		t.Logf("%+v over %d rows: %d proven, %d conjectured", c.o, c.n, got, c.o.ConjecturedSecurity(c.n))
	}
	for logN := 3; logN <= 20; logN++ {
		if b := stark.ProvenOptions().ProvenSecurity(1 << logN); b < 100 {
			t.Errorf("ProvenOptions over 2^%d rows: %d proven bits, want ≥ 100", logN, b)
		}
	}
	if b := stark.ProvenOptions().ConjecturedSecurity(1 << 16); b < 128 {
		t.Errorf("ProvenOptions: %d conjectured bits", b)
	}
	// More queries never lower the bound.
	o := stark.DefaultOptions()
	prev := 0
	for q := 10; q <= 80; q += 5 {
		o.Queries = q
		b := o.ProvenSecurity(1 << 16)
		if b < prev {
			t.Errorf("%d queries: %d proven bits, fewer than with %d fewer", q, b, 5)
		}
		prev = b
	}
}

// TestCommittedColumnsHaveDegreeBelowN is the degree adjustment: a prover
// that commits a trace column as the honest polynomial plus x^n − 1 (the
// same rows, degree n, consistent out-of-domain values) makes a DEEP
// polynomial of degree n − 1, which FRI's bound of n used to let through.
// FRI now tests (1 + γx)·DEEP, so the proof is refused, by FRI.
func TestCommittedColumnsHaveDegreeBelowN(t *testing.T) {
	tr := stark.Trace{make([]field.Element, 64)}
	for i := range tr[0] {
		tr[0][i] = field.New(uint64(1000 + i))
	}
	air := &hiddenAir{v: [3]field.Element{field.New(1000), field.New(1001), field.New(1002)}}
	if err := stark.CheckTrace(air, tr); err != nil {
		t.Fatal(err)
	}
	opts := stark.DefaultOptions()
	honest, _, err := evil.Prove(air, evilClone(tr), opts, evil.Config{SkipChecks: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := stark.Verify(air, encodeParse(t, honest), 0); err != nil {
		t.Fatalf("setup: the cheating prover's honest proof: %v", err)
	}
	forged, _, err := evil.Prove(air, evilClone(tr), opts, evil.Config{SkipChecks: true, HighDegreeTrace: true})
	if err != nil {
		t.Fatalf("the cheating prover failed, so the forgery tests nothing: %v", err)
	}
	err = stark.Verify(air, encodeParse(t, forged), 0)
	if err == nil {
		t.Fatal("a proof committing a trace column of degree n was accepted")
	}
	if !strings.Contains(err.Error(), "FRI") {
		t.Fatalf("the degree-n column should pass every check but FRI's degree test, got: %v", err)
	}
}
