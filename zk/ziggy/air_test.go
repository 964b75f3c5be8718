package ziggy

import (
	"math/rand/v2"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
	"github.com/datadragon/datadragon/zk/stark"
)

func randomSecret(r *rand.Rand) (s [SecretLen]field.Element) {
	for i := range s {
		s[i] = field.New(r.Uint64N(field.Modulus))
	}
	return s
}

func testAir(secret [SecretLen]field.Element, n int) (*air, stark.Trace) {
	pub := PublicKey{e: rescue.Hash(secret)}
	tr, _ := buildTrace(&secret, n, nil)
	return newAir(pub, messageDigest(pub, []byte("m")), n), tr
}

func TestTraceSatisfiesAir(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{16, 32, 64} {
		a, trace := testAir(randomSecret(r), n)
		if err := stark.CheckTrace(a, trace); err != nil {
			t.Fatalf("%d rows: %v", n, err)
		}
	}
	// With the default options the engine's random rows leave exactly the
	// hash's rows enforced.
	opts := DefaultOptions()
	n := traceLength(opts)
	if n-opts.ZKRows() < computationRows {
		t.Fatalf("trace of %d rows with %d random rows has no room for the hash", n, opts.ZKRows())
	}
	a, trace := testAir(randomSecret(r), n)
	for j := range trace {
		for i := n - opts.ZKRows(); i < n; i++ {
			trace[j][i] = field.New(r.Uint64())
		}
	}
	if err := stark.CheckTrace(a, trace); err != nil {
		t.Fatal(err)
	}
}

// TestEveryCellIsChecked changes each cell of the hash's rows in turn; the
// constraints must reject every change.
func TestEveryCellIsChecked(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a, trace := testAir(randomSecret(r), 16)
	for row := range computationRows {
		for col := range width {
			old := trace[col][row]
			trace[col][row] = old.Add(field.New(1 + r.Uint64N(field.Modulus-1)))
			if stark.CheckTrace(a, trace) == nil {
				t.Fatalf("changing column %d row %d went unnoticed", col, row)
			}
			trace[col][row] = old
		}
	}
}

// TestWrongKeyIsRejected: the trace of one secret does not satisfy the
// AIR of another public key, element by element.
func TestWrongKeyIsRejected(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	secret := randomSecret(r)
	pk := rescue.Hash(secret)
	trace, _ := buildTrace(&secret, 16, nil)
	for j := range pk {
		bad := pk
		bad[j] = bad[j].Add(field.One())
		pub := PublicKey{e: bad}
		if stark.CheckTrace(newAir(pub, messageDigest(pub, nil), 16), trace) == nil {
			t.Fatalf("public key with element %d changed accepted", j)
		}
	}
}

func TestEvaluateExtMatchesBase(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rnd := func() field.Element { return field.New(r.Uint64N(field.Modulus)) }
	a, _ := testAir(randomSecret(r), 64)
	info := a.Info()
	fb := stark.Frame[field.Element]{Cur: make([]field.Element, width), Next: make([]field.Element, width), Periodic: make([]field.Element, len(info.Periodic))}
	fe := stark.Frame[field.Ext]{Cur: make([]field.Ext, width), Next: make([]field.Ext, width), Periodic: make([]field.Ext, len(info.Periodic))}
	ob := make([]field.Element, len(info.Constraints))
	oe := make([]field.Ext, len(info.Constraints))
	for range 50 {
		for j := range width {
			fb.Cur[j], fb.Next[j] = rnd(), rnd()
			fe.Cur[j], fe.Next[j] = field.FromBase(fb.Cur[j]), field.FromBase(fb.Next[j])
		}
		for k := range fb.Periodic {
			fb.Periodic[k] = rnd()
			fe.Periodic[k] = field.FromBase(fb.Periodic[k])
		}
		a.EvaluateBase(&fb, ob)
		a.EvaluateExt(&fe, oe)
		for k := range ob {
			if oe[k] != field.FromBase(ob[k]) {
				t.Fatalf("constraint %d: base and extension evaluations differ", k)
			}
		}
	}
}
