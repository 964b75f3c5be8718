package chain

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
	"github.com/datadragon/datadragon/zk/stark"
)

// minTrace returns the smallest power-of-two trace for a chain of n hashes.
func minTrace(n int) int { return stark.TraceLengthFor(RowsFor(n), stark.Options{}) }

func buildAndCheck(t *testing.T, w []Word, traceLen int) (stark.Trace, *Air) {
	t.Helper()
	trace, st, err := BuildTrace(w, traceLen)
	if err != nil {
		t.Fatal(err)
	}
	want, err := rescue.Chain(w)
	if err != nil {
		t.Fatal(err)
	}
	if st.Length != len(w)-1 || st.Output != want {
		t.Fatalf("n=%d: statement %+v, want length %d output %v", len(w)-1, st, len(w)-1, want)
	}
	air, err := NewAir(st, traceLen)
	if err != nil {
		t.Fatal(err)
	}
	if err := stark.CheckTrace(air, trace); err != nil {
		t.Fatalf("n=%d, %d rows: %v", len(w)-1, traceLen, err)
	}
	return trace, air
}

func testLengths() []int {
	ls := []int{}
	for n := 1; n <= 12; n++ {
		ls = append(ls, n)
	}
	for _, k := range []int{3, 5, 7} {
		m := 3 << k
		ls = append(ls, m-1, m, m+1)
	}
	return append(ls, 100, 341, 342)
}

func TestChainsOfManyLengths(t *testing.T) {
	for _, n := range testLengths() {
		w := RandomWitness(n, uint64(n))
		buildAndCheck(t, w, minTrace(n))
		if n%4 == 1 { // a roomier trace: more padding
			buildAndCheck(t, w, 2*minTrace(n))
		}
	}
}

func TestRowsFor(t *testing.T) {
	for n, want := range map[int]int{-1: 0, 0: 0, 1: 32, 2: 32, 3: 32, 4: 64, 6: 64, 7: 96, 6144: 65536, 6145: 65568} {
		if got := RowsFor(n); got != want {
			t.Errorf("RowsFor(%d) = %d, want %d", n, got, want)
		}
	}
}

// jsonChainVectors reads the chain vectors shipped with the rescue package.
func jsonChainVectors(t *testing.T) (ws [][]Word, outs []Word) {
	t.Helper()
	raw, err := os.ReadFile("../rescue/testdata/rescue-ethstark.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ChainVectors []struct {
			ChainLength int        `json:"chain_length"`
			Witness     [][]string `json:"witness"`
			Output      []string   `json:"output"`
		} `json:"chain_vectors"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	word := func(ss []string) (w Word) {
		if len(ss) != len(w) {
			t.Fatalf("word of %d elements", len(ss))
		}
		for i, s := range ss {
			x, err := strconv.ParseUint(s, 0, 64)
			if err != nil {
				t.Fatal(err)
			}
			if w[i], err = field.FromCanonical(x); err != nil {
				t.Fatal(err)
			}
		}
		return w
	}
	for _, cv := range v.ChainVectors {
		w := make([]Word, len(cv.Witness))
		for i, ss := range cv.Witness {
			w[i] = word(ss)
		}
		if len(w)-1 != cv.ChainLength {
			t.Fatalf("vector of length %d has %d words", cv.ChainLength, len(w))
		}
		ws, outs = append(ws, w), append(outs, word(cv.Output))
	}
	if len(ws) == 0 {
		t.Fatal("no chain vectors")
	}
	return ws, outs
}

func TestJSONChainVectors(t *testing.T) {
	ws, outs := jsonChainVectors(t)
	for i, w := range ws {
		n := len(w) - 1
		trace, st, err := BuildTrace(w, minTrace(n))
		if err != nil {
			t.Fatal(err)
		}
		if st.Output != outs[i] {
			t.Fatalf("vector %d: output %v, want %v", i, st.Output, outs[i])
		}
		air, err := NewAir(Statement{Length: n, Output: outs[i]}, minTrace(n))
		if err != nil {
			t.Fatal(err)
		}
		if err := stark.CheckTrace(air, trace); err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
	}
}

var failRe = regexp.MustCompile(`constraint (\d+) fails on row`)

// groupOf names the constraint group of index k in air.
func groupOf(air *Air, k int) string {
	switch {
	case k < firstHalf:
		return "capZero"
	case k < capReset:
		return "firstHalf"
	case k < roundStep:
		return "capReset"
	case k < lastHalf:
		return "roundStep"
	case k < numFixed:
		return "lastHalf"
	case air.linkAt >= 0 && k >= air.linkAt && k < air.linkAt+4:
		return "batchLink"
	case air.outAt >= 0 && k >= air.outAt && k < air.outAt+4:
		return "output"
	}
	return "?"
}

// TestEveryCellIsChecked changes each cell of the used rows of small
// traces, one at a time, and expects CheckTrace to reject every one; it
// also checks that every transition group is the first to object to some
// change.
func TestEveryCellIsChecked(t *testing.T) {
	seen := map[string]bool{}
	delta := field.New(0x1234567)
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7} {
		w := RandomWitness(n, 99+uint64(n))
		traceLen := minTrace(n) * 2
		trace, air := buildAndCheck(t, w, traceLen)
		for row := range RowsFor(n) {
			for col := range Width {
				old := trace[col][row]
				trace[col][row] = old.Add(delta)
				err := stark.CheckTrace(air, trace)
				trace[col][row] = old
				if err == nil {
					t.Fatalf("n=%d: changing column %d row %d went unnoticed", n, col, row)
				}
				if m := failRe.FindStringSubmatch(err.Error()); m != nil {
					k, _ := strconv.Atoi(m[1])
					seen[groupOf(air, k)] = true
				} else {
					seen["assertion"] = true
				}
			}
		}
	}
	for _, g := range []string{"capZero", "firstHalf", "capReset", "roundStep", "lastHalf", "batchLink", "assertion"} {
		if !seen[g] {
			t.Errorf("no single-cell change was caught first by group %s", g)
		}
	}
}

// TestRandomCellsLongChain samples random cells of the used rows of a longer chain.
func TestRandomCellsLongChain(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{95, 97, 100} {
		trace, air := buildAndCheck(t, RandomWitness(n, uint64(n)), minTrace(n))
		for range 60 {
			row, col := r.IntN(RowsFor(n)), r.IntN(Width)
			old := trace[col][row]
			trace[col][row] = old.Add(field.New(1 + r.Uint64N(field.Modulus-1)))
			err := stark.CheckTrace(air, trace)
			trace[col][row] = old
			if err == nil {
				t.Fatalf("n=%d: changing column %d row %d went unnoticed", n, col, row)
			}
		}
	}
}

// TestWrongStatement: a wrong output (each element, each batch position)
// or a wrong length is rejected.
func TestWrongStatement(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 8, 9, 10, 47} {
		w := RandomWitness(n, 1000+uint64(n))
		traceLen := minTrace(n) * 2
		trace, st, err := BuildTrace(w, traceLen)
		if err != nil {
			t.Fatal(err)
		}
		check := func(s Statement) error {
			air, err := NewAir(s, traceLen)
			if err != nil {
				return err
			}
			return stark.CheckTrace(air, trace)
		}
		if err := check(st); err != nil {
			t.Fatal(err)
		}
		for j := range st.Output {
			bad := st
			bad.Output[j] = bad.Output[j].Add(field.One())
			if check(bad) == nil {
				t.Fatalf("n=%d: wrong output element %d accepted", n, j)
			}
		}
		for _, m := range []int{n - 1, n + 1, n + 2, n + 3} {
			if m < 1 {
				continue
			}
			bad := st
			bad.Length = m
			if check(bad) == nil {
				t.Fatalf("n=%d: length %d accepted", n, m)
			}
		}
	}
}

// TestZeroKnowledgeRows: with random trailing rows the constraints still
// hold on the rows the engine enforces.
func TestZeroKnowledgeRows(t *testing.T) {
	opts := stark.DefaultOptions()
	opts.ZeroKnowledge = true
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 3, 5, 6, 12} {
		traceLen := stark.TraceLengthFor(RowsFor(n), opts)
		trace, st, err := BuildTrace(RandomWitness(n, uint64(n)), traceLen)
		if err != nil {
			t.Fatal(err)
		}
		zk := opts.ZKRows()
		for j := range trace {
			for i := traceLen - zk; i < traceLen; i++ {
				trace[j][i] = field.New(r.Uint64())
			}
		}
		air, err := NewAirFor(st, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := stark.CheckTrace(air, trace); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
}

func TestEvaluateExtMatchesBase(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	rnd := func() field.Element { return field.New(r.Uint64N(field.Modulus)) }
	// Output by assertion, by constraint at rows 10 and 20, with and
	// without the batch link.
	for _, c := range []struct{ n, rows int }{{3, 64}, {4, 64}, {5, 64}, {1, 32}, {3, 32}} {
		n := c.n
		air, err := NewAir(Statement{Length: n, Output: Word{rnd(), rnd(), rnd(), rnd()}}, c.rows)
		if err != nil {
			t.Fatal(err)
		}
		info := air.Info()
		fb := stark.Frame[field.Element]{
			Cur: make([]field.Element, Width), Next: make([]field.Element, Width),
			Periodic: make([]field.Element, len(info.Periodic)),
		}
		fe := stark.Frame[field.Ext]{
			Cur: make([]field.Ext, Width), Next: make([]field.Ext, Width),
			Periodic: make([]field.Ext, len(info.Periodic)),
		}
		ob := make([]field.Element, len(info.Constraints))
		oe := make([]field.Ext, len(info.Constraints))
		for range 100 {
			for j := range Width {
				fb.Cur[j], fb.Next[j] = rnd(), rnd()
				fe.Cur[j], fe.Next[j] = field.FromBase(fb.Cur[j]), field.FromBase(fb.Next[j])
			}
			for k := range fb.Periodic {
				fb.Periodic[k] = rnd()
				fe.Periodic[k] = field.FromBase(fb.Periodic[k])
			}
			air.EvaluateBase(&fb, ob)
			air.EvaluateExt(&fe, oe)
			for k := range ob {
				if oe[k] != field.FromBase(ob[k]) {
					t.Fatalf("n=%d: constraint %d: ext %v, base %v", n, k, oe[k], ob[k])
				}
			}
		}
	}
}

func TestInfo(t *testing.T) {
	for _, c := range []struct {
		n, rows, cons, asserts int
		link, out              bool
	}{
		{1, 32, numFixed + 4, 0, false, true},
		{3, 32, numFixed, 4, false, false},
		{1, 64, numFixed + 4, 0, false, true},
		{2, 64, numFixed + 4, 0, false, true},
		{3, 64, numFixed, 4, false, false},
		{4, 64, numFixed + 8, 0, true, true},
		{5, 128, numFixed + 8, 0, true, true},
		{6, 64, numFixed + 4, 4, true, false},
	} {
		st := Statement{Length: c.n}
		air, err := NewAir(st, c.rows)
		if err != nil {
			t.Fatal(err)
		}
		info := air.Info()
		if info.Name != Name || string(info.PublicInputs) != string(st.PublicInputs()) || info.Width != Width || info.TraceLength != c.rows {
			t.Fatalf("n=%d: info header %+v", c.n, info)
		}
		if len(info.Constraints) != c.cons || len(info.Assertions) != c.asserts || len(info.Periodic) != numPeriodic ||
			(air.linkAt >= 0) != c.link || (air.outAt >= 0) != c.out {
			t.Fatalf("n=%d, %d rows: %d constraints, %d assertions, %d periodic columns, link at %d, output at %d",
				c.n, c.rows, len(info.Constraints), len(info.Assertions), len(info.Periodic), air.linkAt, air.outAt)
		}
		for k, con := range info.Constraints {
			if con.Degree > 3 || len(con.Cycles) != 0 {
				t.Fatalf("constraint %d: degree %d, cycles %v", k, con.Degree, con.Cycles)
			}
		}
	}
}

func TestNewAirRejects(t *testing.T) {
	for _, c := range []struct{ n, rows int }{
		{0, 32}, {-1, 32}, {MaxLength + 1, 1 << 26}, {4, 32}, {3, 48}, {3, 0}, {3, 1 << 27},
	} {
		if _, err := NewAir(Statement{Length: c.n}, c.rows); err == nil {
			t.Errorf("NewAir(length %d, %d rows) accepted", c.n, c.rows)
		}
	}
	if _, err := NewAir(Statement{Length: MaxLength}, 1<<26); err != nil {
		t.Errorf("the longest chain is refused: %v", err)
	}
	if _, _, err := BuildTrace(RandomWitness(0, 1), 32); err == nil {
		t.Error("BuildTrace accepted a single word")
	}
	if _, _, err := BuildTrace(RandomWitness(4, 1), 32); err == nil {
		t.Error("BuildTrace accepted a trace too short")
	}
}

func TestPublicInputs(t *testing.T) {
	st := Statement{Length: 0x0102030405, Output: Word{field.New(1), field.New(field.Modulus - 1), field.New(7), field.Zero()}}
	b := st.PublicInputs()
	if len(b) != 40 || binary.LittleEndian.Uint64(b) != 0x0102030405 {
		t.Fatalf("encoding %x", b)
	}
	for i, e := range st.Output {
		if binary.LittleEndian.Uint64(b[8+8*i:]) != e.Uint64() {
			t.Fatalf("element %d encoded as %x", i, b[8+8*i:16+8*i])
		}
	}
}

func TestRandomWitnessDeterministic(t *testing.T) {
	a, b, c := RandomWitness(5, 1), RandomWitness(5, 1), RandomWitness(5, 2)
	if len(a) != 6 || fmt.Sprint(a) != fmt.Sprint(b) || fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("RandomWitness is not a deterministic function of its seed")
	}
}

func BenchmarkBuildTrace6144(b *testing.B) {
	const n = 6144
	w := RandomWitness(n, 1)
	traceLen := minTrace(n)
	if traceLen != 1<<16 {
		b.Fatalf("trace length %d", traceLen)
	}
	for b.Loop() {
		if _, _, err := BuildTrace(w, traceLen); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateBase(b *testing.B) {
	air, err := NewAir(Statement{Length: 4}, 64)
	if err != nil {
		b.Fatal(err)
	}
	info := air.Info()
	r := rand.New(rand.NewPCG(1, 2))
	f := stark.Frame[field.Element]{
		Cur: make([]field.Element, Width), Next: make([]field.Element, Width),
		Periodic: make([]field.Element, len(info.Periodic)),
	}
	for j := range Width {
		f.Cur[j], f.Next[j] = field.New(r.Uint64()), field.New(r.Uint64())
	}
	for k := range f.Periodic {
		f.Periodic[k] = field.New(r.Uint64())
	}
	out := make([]field.Element, len(info.Constraints))
	for b.Loop() {
		air.EvaluateBase(&f, out)
	}
}
