package stark

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
)

// toyAir is a small statement exercising every engine feature: transition
// constraints over two rows, a periodic column, a degree-3 constraint on a
// periodic row set, its complement, and assertions.
//
//	a' = b            (every row)
//	b' = a + b + K(x) (every row; K periodic with period 4)
//	c  = a³           (rows ≡ 0 mod 8)
//	c  = b            (rows ≢ 0 mod 8)
//	a[0] = 1, b[0] = 1, b[outRow] = out
type toyAir struct {
	n, outRow int
	out       field.Element
	rows      int  // constrained rows (0: all)
	zk        bool // proved in zero knowledge
}

var toyK = []field.Element{field.New(3), field.New(0), field.New(7), field.New(11)}

func (a *toyAir) Info() AirInfo {
	var pub []byte
	pub = binary.LittleEndian.AppendUint64(pub, uint64(a.outRow))
	pub = a.out.AppendBytes(pub)
	return AirInfo{
		Name:          "test/toy",
		PublicInputs:  pub,
		Width:         3,
		TraceLength:   a.n,
		Rows:          a.rows,
		ZeroKnowledge: a.zk,
		Periodic:      [][]field.Element{toyK},
		Constraints: []Constraint{
			{Degree: 1, UsesNext: true, Rows: EveryRow()},
			{Degree: 1, UsesNext: true, Rows: EveryRow()},
			{Degree: 3, Rows: Rows(8, 0)},
			{Degree: 1, Rows: RowsExcept(8, 0)},
		},
		Assertions: []Assertion{
			{Column: 0, Row: 0, Value: field.One()},
			{Column: 1, Row: 0, Value: field.One()},
			{Column: 1, Row: a.outRow, Value: a.out},
		},
	}
}

func (a *toyAir) EvaluateBase(f *Frame[field.Element], out []field.Element) {
	c, n, k := f.Cur, f.Next, f.Periodic[0]
	out[0] = n[0].Sub(c[1])
	out[1] = n[1].Sub(c[0].Add(c[1]).Add(k))
	out[2] = c[2].Sub(c[0].Cube())
	out[3] = c[2].Sub(c[1])
}

func (a *toyAir) EvaluateExt(f *Frame[field.Ext], out []field.Ext) {
	c, n, k := f.Cur, f.Next, f.Periodic[0]
	out[0] = n[0].Sub(c[1])
	out[1] = n[1].Sub(c[0].Add(c[1]).Add(k))
	out[2] = c[2].Sub(c[0].Mul(c[0]).Mul(c[0]))
	out[3] = c[2].Sub(c[1])
}

// toyTrace builds a valid trace of n rows and the statement about it; with
// zkRows > 0 the statement is zero-knowledge and leaves that many rows free.
func toyTrace(n, zkRows int) (*toyAir, Trace) {
	t := Trace{make([]field.Element, n), make([]field.Element, n), make([]field.Element, n)}
	a, b := field.One(), field.One()
	for i := 0; i < n; i++ {
		t[0][i], t[1][i] = a, b
		if i%8 == 0 {
			t[2][i] = a.Cube()
		} else {
			t[2][i] = b
		}
		a, b = b, a.Add(b).Add(toyK[i%4])
	}
	out := n - zkRows - 1
	air := &toyAir{n: n, outRow: out, out: t[1][out]}
	if zkRows > 0 {
		air.zk, air.rows = true, n-zkRows
	}
	return air, t
}

// testOptions are fast options; tests that use them verify with a low floor.
func testOptions() Options {
	return Options{Blowup: 4, Queries: 12, GrindingBits: 2, FoldingFactor: 4, LastLayerDegree: 4}
}

func TestToyTraceSatisfiesAir(t *testing.T) {
	air, tr := toyTrace(64, 0)
	if err := CheckTrace(air, tr); err != nil {
		t.Fatal(err)
	}
	tr[2][9] = tr[2][9].Add(field.One())
	if err := CheckTrace(air, tr); err == nil {
		t.Fatal("CheckTrace accepted a wrong cell")
	}
}

func TestCompletenessAcrossOptions(t *testing.T) {
	cases := []Options{
		testOptions(),
		{Blowup: 4, Queries: 10, GrindingBits: 0, FoldingFactor: 2, LastLayerDegree: 1},
		{Blowup: 8, Queries: 10, GrindingBits: 4, FoldingFactor: 8, LastLayerDegree: 8},
		{Blowup: 16, Queries: 8, GrindingBits: 1, FoldingFactor: 16, LastLayerDegree: 2},
		{Blowup: 4, Queries: 12, GrindingBits: 2, FoldingFactor: 4, LastLayerDegree: 4, ZeroKnowledge: true},
		{Blowup: 8, Queries: 16, GrindingBits: 2, FoldingFactor: 8, LastLayerDegree: 16, ZeroKnowledge: true},
	}
	for _, opts := range cases {
		for _, rows := range []int{8, 40, 64, 200, 1000} {
			n := TraceLengthFor(rows, opts)
			if n*opts.Blowup < 4*opts.Queries {
				continue
			}
			t.Run(fmt.Sprintf("%+v/n=%d", opts, n), func(t *testing.T) {
				air, tr := toyTrace(n, opts.ZKRows())
				proof, err := Prove(air, tr, opts)
				if err != nil {
					t.Fatal(err)
				}
				if err := Verify(air, proof, 1); err != nil {
					t.Fatal(err)
				}
				enc, err := proof.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				dec, err := ParseProof(enc)
				if err != nil {
					t.Fatal(err)
				}
				if err := Verify(air, dec, 1); err != nil {
					t.Fatalf("decoded proof: %v", err)
				}
				again, _ := dec.MarshalBinary()
				if !bytes.Equal(enc, again) {
					t.Fatal("encoding is not canonical")
				}
			})
		}
	}
}

func proveToy(t *testing.T, n int, opts Options) (*toyAir, []byte) {
	t.Helper()
	air, tr := toyTrace(n, opts.ZKRows())
	proof, err := Prove(air, tr, opts)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := proof.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return air, enc
}

func verifyBytes(air Air, b []byte, minBits int) error {
	p, err := ParseProof(b)
	if err != nil {
		return err
	}
	return Verify(air, p, minBits)
}

func TestEveryByteFlipIsRejected(t *testing.T) {
	air, enc := proveToy(t, 64, Options{Blowup: 4, Queries: 6, GrindingBits: 0, FoldingFactor: 4, LastLayerDegree: 4})
	if err := verifyBytes(air, enc, 1); err != nil {
		t.Fatal(err)
	}
	bad := make([]byte, len(enc))
	for i := range enc {
		for _, mask := range []byte{0x01, 0x80} {
			copy(bad, enc)
			bad[i] ^= mask
			if verifyBytes(air, bad, 1) == nil {
				t.Fatalf("proof with byte %d ^ %#x accepted", i, mask)
			}
		}
	}
	for _, cut := range []int{1, 7, len(enc) / 2, len(enc) - 1} {
		if verifyBytes(air, enc[:len(enc)-cut], 1) == nil {
			t.Fatalf("proof truncated by %d bytes accepted", cut)
		}
	}
	if verifyBytes(air, append(append([]byte(nil), enc...), 0), 1) == nil {
		t.Fatal("extended proof accepted")
	}
}

func TestWrongStatementIsRejected(t *testing.T) {
	opts := testOptions()
	air, enc := proveToy(t, 128, opts)
	wrong := *air
	wrong.out = wrong.out.Add(field.One())
	if err := verifyBytes(&wrong, enc, 1); err == nil {
		t.Fatal("proof verified against a wrong public output")
	}
	wrongRow := *air
	wrongRow.outRow--
	if err := verifyBytes(&wrongRow, enc, 1); err == nil {
		t.Fatal("proof verified against a wrong output row")
	}
	longer, _ := toyTrace(256, 0)
	if err := verifyBytes(longer, enc, 1); err == nil {
		t.Fatal("proof verified against a different trace length")
	}
}

func TestSecurityFloor(t *testing.T) {
	opts := testOptions()
	air, enc := proveToy(t, 128, opts)
	err := verifyBytes(air, enc, 0)
	if !errors.Is(err, ErrWeakOptions) {
		t.Fatalf("weak proof under the default floor: got %v, want ErrWeakOptions", err)
	}
	if DefaultOptions().ConjecturedSecurity(1<<16) < 128 {
		t.Fatal("default options give less than 128 conjectured bits")
	}
	// Rewriting the options inside a valid proof (a downgrade or upgrade
	// attempt) breaks the transcript.
	p, _ := ParseProof(enc)
	p.Options.GrindingBits++
	if Verify(air, p, 1) == nil {
		t.Fatal("proof accepted with altered options")
	}
}

func TestDefaultOptionsProveAndVerify(t *testing.T) {
	opts := DefaultOptions()
	air, enc := proveToy(t, 1024, opts)
	if err := verifyBytes(air, enc, 0); err != nil {
		t.Fatal(err)
	}
	t.Logf("toy proof at default options: %d bytes, %d bits", len(enc), opts.ConjecturedSecurity(1024))
}

// evilProve proves a trace without the prover's own sanity checks, as a
// cheating prover would.
func evilProve(air Air, tr Trace, opts Options) (*Proof, error) {
	return proveWith(air, tr, opts, proverConfig{skipChecks: true})
}

// forgingProve also forges the out-of-domain composition values so that
// the out-of-domain check passes, leaving FRI to catch the lie.
func forgingProve(air Air, tr Trace, opts Options) (*Proof, error) {
	return proveWith(air, tr, opts, proverConfig{skipChecks: true, forgeOOD: true})
}

func TestEvilProverIsRejected(t *testing.T) {
	opts := testOptions()
	r := mrand.New(mrand.NewPCG(1, 1))
	for i := 0; i < 12; i++ {
		air, tr := toyTrace(128, 0)
		col, row := r.IntN(3), r.IntN(120)
		tr[col][row] = tr[col][row].Add(field.New(1 + r.Uint64N(1000)))
		if CheckTrace(air, tr) == nil {
			t.Fatal("corrupted trace passed CheckTrace")
		}
		if _, err := Prove(air, cloneTrace(tr), opts); err == nil {
			t.Fatal("honest prover proved an invalid trace")
		}
		p, err := evilProve(air, cloneTrace(tr), opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(air, p, 1); err == nil {
			t.Fatalf("verifier accepted a proof of a trace with a wrong cell (%d,%d)", col, row)
		}
		p, err = forgingProve(air, tr, opts)
		if err != nil {
			t.Fatal(err)
		}
		err = Verify(air, p, 1)
		if err == nil {
			t.Fatalf("verifier accepted a forged out-of-domain proof of a wrong cell (%d,%d)", col, row)
		}
		if !strings.Contains(err.Error(), "FRI") {
			t.Fatalf("forged out-of-domain values should fail in FRI, got: %v", err)
		}
	}
	// The forging prover on a valid trace still produces valid proofs: the
	// forgery changes nothing when there is nothing to hide.
	air0, tr0 := toyTrace(128, 0)
	p0, err := forgingProve(air0, tr0, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(air0, p0, 1); err != nil {
		t.Fatalf("forging prover on a valid trace: %v", err)
	}
	// A false public output with an honest trace.
	air, tr := toyTrace(128, 0)
	air.out = air.out.Add(field.One())
	p, err := evilProve(air, tr, opts)
	if err != nil {
		t.Fatal(err)
	}
	if Verify(air, p, 1) == nil {
		t.Fatal("verifier accepted a false public output")
	}
}

func TestZeroKnowledgeProofsDiffer(t *testing.T) {
	opts := testOptions()
	opts.ZeroKnowledge = true
	n := TraceLengthFor(100, opts)
	air, a := proveToy(t, n, opts)
	_, b := proveToy(t, n, opts)
	if bytes.Equal(a, b) {
		t.Fatal("two zero-knowledge proofs of the same statement are identical")
	}
	if err := verifyBytes(air, b, 1); err != nil {
		t.Fatal(err)
	}
}

func cloneTrace(t Trace) Trace {
	c := make(Trace, len(t))
	for i := range t {
		c[i] = append([]field.Element(nil), t[i]...)
	}
	return c
}

func FuzzParseProof(f *testing.F) {
	air, tr := toyTrace(64, 0)
	p, err := Prove(air, tr, Options{Blowup: 4, Queries: 4, GrindingBits: 0, FoldingFactor: 4, LastLayerDegree: 4})
	if err != nil {
		f.Fatal(err)
	}
	enc, _ := p.MarshalBinary()
	f.Add(enc)
	f.Add(enc[:100])
	// A zero-knowledge proof, whose encoding ends with the leaf salts.
	zkOpts := Options{Blowup: 4, Queries: 4, GrindingBits: 0, FoldingFactor: 4, LastLayerDegree: 4, ZeroKnowledge: true}
	zkAir, zkTr := toyTrace(TraceLengthFor(8, zkOpts), zkOpts.ZKRows())
	zp, err := Prove(zkAir, zkTr, zkOpts)
	if err != nil {
		f.Fatal(err)
	}
	zenc, _ := zp.MarshalBinary()
	f.Add(zenc)
	f.Add([]byte("DDSTARK\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProof(b)
		if err != nil {
			return
		}
		// Whatever parses must re-encode to the same bytes and never make
		// the verifier panic.
		again, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("non-canonical decode: %v", err)
		}
		_ = Verify(air, p, 1)
	})
}

// renamedAir is toyAir under another statement name: same constraints,
// same public inputs, a different identity.
type renamedAir struct{ *toyAir }

func (r renamedAir) Info() AirInfo {
	info := r.toyAir.Info()
	info.Name = "test/toy-renamed"
	return info
}

func TestStatementIdentityIsBound(t *testing.T) {
	air, enc := proveToy(t, 64, testOptions())
	if err := verifyBytes(air, enc, 1); err != nil {
		t.Fatal(err)
	}
	if err := verifyBytes(renamedAir{air}, enc, 1); err == nil {
		t.Fatal("a proof for one statement verified as another with the same constraints")
	}
}

func TestOptionsOutsideLimitsAreRefused(t *testing.T) {
	air, tr := toyTrace(64, 0)
	for _, o := range []Options{
		{Blowup: 3, Queries: 10, FoldingFactor: 4, LastLayerDegree: 4},
		{Blowup: 4, Queries: 0, FoldingFactor: 4, LastLayerDegree: 4},
		{Blowup: 4, Queries: 10, FoldingFactor: 3, LastLayerDegree: 4},
		{Blowup: 4, Queries: 10, FoldingFactor: 4, LastLayerDegree: 5},
		{Blowup: 4, Queries: 10, GrindingBits: 40, FoldingFactor: 4, LastLayerDegree: 4},
		{Blowup: 2, Queries: 10, FoldingFactor: 4, LastLayerDegree: 4},  // too small for degree 3
		{Blowup: 4, Queries: 100, FoldingFactor: 4, LastLayerDegree: 4}, // more queries than the domain allows
	} {
		if _, err := Prove(air, tr, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

func TestConstraintOnNoUsableRowIsRefused(t *testing.T) {
	// A statement whose assertion lies past its constrained rows is
	// refused, never proved or verified without it.
	air, tr := toyTrace(64, 0)
	air.rows = 32
	air.outRow = 40
	air.out = tr[1][40]
	if _, err := Prove(air, tr, testOptions()); err == nil {
		t.Fatal("proved a statement whose assertion lies outside its constrained rows")
	}
	// Rows(8, 0) has rows 0, 8, …, 56; with 14 constrained rows that
	// still leaves rows 0 and 8: fine. A period-64 set on row 60 alone is
	// not.
	air2 := &toyAir{n: 64, outRow: 5, out: tr[1][5], rows: 14}
	bad := &singleRowAir{toyAir: air2, row: 60}
	if _, err := newLayout(bad.Info(), testOptions()); err == nil {
		t.Fatal("layout accepted a constraint that holds on no constrained row")
	}
}

// singleRowAir adds a constraint that holds only on one row.
type singleRowAir struct {
	*toyAir
	row int
}

func (s *singleRowAir) Info() AirInfo {
	info := s.toyAir.Info()
	info.Assertions = nil
	cs := append([]Constraint(nil), info.Constraints...)
	cs[3] = Constraint{Degree: 1, Rows: SingleRow(s.row)}
	info.Constraints = cs
	return info
}

// TestStatementDescriptionIsBound: every part of the statement description
// changes the bytes the transcript absorbs, so no AIR can leave one out of
// its PublicInputs and have a prover choose it late.
func TestStatementDescriptionIsBound(t *testing.T) {
	air, _ := toyTrace(64, 0)
	base := air.Info()
	want := statementBytes(&base)
	mutations := map[string]func(*AirInfo){
		"width":          func(i *AirInfo) { i.Width++ },
		"trace length":   func(i *AirInfo) { i.TraceLength *= 2 },
		"rows":           func(i *AirInfo) { i.Rows = 40 },
		"zero knowledge": func(i *AirInfo) { i.ZeroKnowledge = true },
		"periodic value": func(i *AirInfo) {
			i.Periodic = [][]field.Element{{field.New(3), field.New(1), field.New(7), field.New(11)}}
		},
		"periodic column":   func(i *AirInfo) { i.Periodic = append(i.Periodic, toyK) },
		"constraint degree": func(i *AirInfo) { i.Constraints[2].Degree = 2 },
		"constraint cycles": func(i *AirInfo) { i.Constraints[2].Cycles = []int{4} },
		"uses next":         func(i *AirInfo) { i.Constraints[2].UsesNext = true },
		"row period":        func(i *AirInfo) { i.Constraints[2].Rows = Rows(16, 0) },
		"row residues":      func(i *AirInfo) { i.Constraints[2].Rows = Rows(8, 1) },
		"row complement":    func(i *AirInfo) { i.Constraints[2].Rows = RowsExcept(8, 0) },
		"extra constraint":  func(i *AirInfo) { i.Constraints = append(i.Constraints, Constraint{Degree: 1, Rows: EveryRow()}) },
		"assertion value":   func(i *AirInfo) { i.Assertions[2].Value = i.Assertions[2].Value.Add(field.One()) },
		"assertion row":     func(i *AirInfo) { i.Assertions[2].Row-- },
		"assertion column":  func(i *AirInfo) { i.Assertions[2].Column = 2 },
		"extra assertion":   func(i *AirInfo) { i.Assertions = append(i.Assertions, Assertion{Column: 2, Row: 3}) },
	}
	for name, mutate := range mutations {
		info := air.Info()
		info.Constraints = slices.Clone(info.Constraints)
		info.Assertions = slices.Clone(info.Assertions)
		mutate(&info)
		if bytes.Equal(statementBytes(&info), want) {
			t.Errorf("%s: the description encodes the same", name)
		}
	}
	// Row sets spelled differently but equal (period 0 is the trace
	// length) encode the same: the encoding is of the meaning.
	a, b := air.Info(), air.Info()
	a.Constraints = slices.Clone(a.Constraints)
	b.Constraints = slices.Clone(b.Constraints)
	a.Constraints[2].Rows = SingleRow(3)
	b.Constraints[2].Rows = Rows(64, 3)
	if !bytes.Equal(statementBytes(&a), statementBytes(&b)) {
		t.Error("SingleRow(3) and Rows(n, 3) encode differently")
	}
}

// TestZKRowsCountExtensionPoints: z and g·z lie in F_p³, three base-field
// functionals each, on top of four per query.
func TestZKRowsCountExtensionPoints(t *testing.T) {
	o := DefaultOptions()
	if o.ZKRows() != 0 {
		t.Fatal("random rows without zero knowledge")
	}
	o.ZeroKnowledge = true
	if got := o.ZKRows(); got != 4*37+6 {
		t.Fatalf("ZKRows = %d, want 4·37+6", got)
	}
}

// TestCompositionSegmentsAreRandomised: with zero knowledge, two proofs
// of the same trace (same random rows) commit to different composition
// segments that recombine to the same H = Σ x^(i·stride) H_i, so a
// segment's openings are not a function of the trace.
func TestCompositionSegmentsAreRandomised(t *testing.T) {
	opts := Options{Blowup: 8, Queries: 12, GrindingBits: 0, FoldingFactor: 4, LastLayerDegree: 4, ZeroKnowledge: true}
	n := TraceLengthFor(100, opts)
	air, tr := toyTrace(n, opts.ZKRows())
	l, err := newLayout(air.Info(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if l.segments < 2 || l.stride >= l.n {
		t.Fatalf("setup: %d segments with stride %d of %d; the test needs overlapping segments", l.segments, l.stride, l.n)
	}
	prefix := make([]byte, 16*l.info.Width*(l.n-l.usable))
	for i := range prefix {
		prefix[i] = byte(i * 7)
	}
	alphas := make([]field.Ext, len(l.constraints))
	for i := range alphas {
		alphas[i] = field.Ext{A0: field.New(uint64(3 + i)), A1: field.New(uint64(5 * i)), A2: field.New(1)}
	}
	segments := func(seed uint64) [][]field.Ext {
		r := mrand.New(mrand.NewPCG(seed, seed))
		tail := readerFunc(func(b []byte) (int, error) {
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			return len(b), nil
		})
		p := &prover{l: l, trace: cloneTrace(tr), rng: io.MultiReader(bytes.NewReader(prefix), tail)}
		if err := p.randomizeTrace(); err != nil {
			t.Fatal(err)
		}
		p.extendTrace()
		if err := p.composition(air, alphas); err != nil {
			t.Fatal(err)
		}
		return p.compCoeffs[:l.segments]
	}
	a, b := segments(1), segments(2)
	z := field.Ext{A0: field.New(12345), A1: field.New(678), A2: field.New(9)}
	at := func(segs [][]field.Ext) []field.Ext {
		var v []field.Ext
		for _, s := range segs {
			v = append(v, evalExtPoly(s, z))
		}
		return v
	}
	va, vb := at(a), at(b)
	if combineSegments(l, va, z) != combineSegments(l, vb, z) {
		t.Fatal("the randomised segments recombine to different polynomials")
	}
	for i := 0; i < l.segments; i++ {
		if va[i] == vb[i] {
			t.Errorf("segment %d is the same in both proofs: it depends on the trace alone", i)
		}
		if i < l.segments-1 {
			// Segment i's top n − stride coefficients are the randomiser r_i.
			for j := l.stride; j < l.n; j++ {
				if a[i][j] == b[i][j] {
					t.Fatalf("segment %d coefficient %d not randomised", i, j)
				}
			}
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

func evalExtPoly(c []field.Ext, x field.Ext) field.Ext {
	var acc field.Ext
	for i := len(c) - 1; i >= 0; i-- {
		acc = acc.Mul(x).Add(c[i])
	}
	return acc
}

// TestZeroKnowledgeLeavesAreSalted: a zero-knowledge proof carries one
// salt per opened position, each salt is bound by the Merkle roots, and
// proofs without zero knowledge carry none.
func TestZeroKnowledgeLeavesAreSalted(t *testing.T) {
	opts := testOptions()
	opts.ZeroKnowledge = true
	n := TraceLengthFor(100, opts)
	air, enc := proveToy(t, n, opts)
	p, err := ParseProof(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Salts) != len(p.Trace.Rows) || len(p.Salts) == 0 {
		t.Fatalf("%d salts for %d opened rows", len(p.Salts), len(p.Trace.Rows))
	}
	if p.Salts[0] == p.Salts[1] {
		t.Fatal("salts repeat")
	}
	// The salts are the last bytes of the encoding; flip a bit of each
	// byte of the first.
	start := len(enc) - len(p.Salts)*saltSize
	for i := start; i < start+saltSize; i++ {
		bad := bytes.Clone(enc)
		bad[i] ^= 0x10
		if err := verifyBytes(air, bad, 1); err == nil || !strings.Contains(err.Error(), "commitment") {
			t.Fatalf("salt byte %d flipped: %v", i-start, err)
		}
	}
	p.Salts = p.Salts[1:]
	if err := Verify(air, p, 1); err == nil {
		t.Fatal("a proof missing a salt verified")
	}
	plainAir, plain := proveToy(t, 64, testOptions())
	q, err := ParseProof(plain)
	if err != nil {
		t.Fatal(err)
	}
	if q.Salts != nil {
		t.Fatal("a proof without zero knowledge carries salts")
	}
	q.Salts = make([]Salt, len(q.Trace.Rows))
	if _, err := q.MarshalBinary(); err == nil {
		t.Fatal("encoded salts in a proof without zero knowledge")
	}
	if err := Verify(plainAir, q, 1); err == nil {
		t.Fatal("verified salts in a proof without zero knowledge")
	}
}
