package chain

import (
	"bytes"
	"errors"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
	"github.com/datadragon/datadragon/zk/stark"
)

// fastOptions keep tests quick; they are verified with a low floor.
func fastOptions() stark.Options {
	return stark.Options{Blowup: 4, Queries: 16, GrindingBits: 2, FoldingFactor: 4, LastLayerDegree: 8}
}

func TestProveVerifyManyLengths(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 47, 48, 49, 96, 200} {
		w := RandomWitness(n, uint64(n))
		p, err := Prove(w, fastOptions())
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		want, _ := rescue.Chain(w)
		if p.Statement.Length != n || p.Statement.Output != want {
			t.Fatalf("n=%d: statement %+v, want output %v", n, p.Statement, want)
		}
		if err := Verify(p, 1); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		dec, err := ParseProof(enc)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(dec, 1); err != nil {
			t.Fatalf("n=%d decoded: %v", n, err)
		}
	}
}

func TestZeroKnowledgeChainProof(t *testing.T) {
	opts := fastOptions()
	opts.ZeroKnowledge = true
	for _, n := range []int{1, 3, 10} {
		p, err := Prove(RandomWitness(n, 9), opts)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if err := Verify(p, 1); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
}

func TestWrongStatementRejected(t *testing.T) {
	for _, n := range []int{5, 6} { // output by constraint and by assertion
		p, err := Prove(RandomWitness(n, 3), fastOptions())
		if err != nil {
			t.Fatal(err)
		}
		bad := *p
		bad.Statement.Output[2] = bad.Statement.Output[2].Add(field.One())
		if err := Verify(&bad, 1); err == nil {
			t.Fatalf("n=%d: wrong output accepted", n)
		}
		for _, l := range []int{n - 1, n + 1, n + 3} {
			bad := *p
			bad.Statement.Length = l
			if err := Verify(&bad, 1); err == nil {
				t.Fatalf("n=%d: proof accepted as a chain of length %d", n, l)
			}
		}
	}
}

func TestWeakOptionsRejectedByDefaultFloor(t *testing.T) {
	p, err := Prove(RandomWitness(3, 1), fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(p, 0); !errors.Is(err, stark.ErrWeakOptions) {
		t.Fatalf("got %v, want ErrWeakOptions", err)
	}
}

func TestProofFileTampering(t *testing.T) {
	p, err := Prove(RandomWitness(4, 2), stark.Options{Blowup: 4, Queries: 4, FoldingFactor: 4, LastLayerDegree: 8})
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := p.MarshalBinary()
	check := func(b []byte) error {
		q, err := ParseProof(b)
		if err != nil {
			return err
		}
		return Verify(q, 1)
	}
	if err := check(enc); err != nil {
		t.Fatal(err)
	}
	bad := make([]byte, len(enc))
	for i := range enc {
		copy(bad, enc)
		bad[i] ^= 0x10
		if check(bad) == nil {
			t.Fatalf("flipping byte %d of %d went unnoticed", i, len(enc))
		}
	}
	if check(enc[:len(enc)-1]) == nil || check(append(bytes.Clone(enc), 1)) == nil {
		t.Fatal("truncated or extended proof accepted")
	}
}

func FuzzParseProof(f *testing.F) {
	p, err := Prove(RandomWitness(2, 1), stark.Options{Blowup: 4, Queries: 4, FoldingFactor: 4, LastLayerDegree: 8})
	if err != nil {
		f.Fatal(err)
	}
	enc, _ := p.MarshalBinary()
	f.Add(enc)
	f.Add(enc[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, err := ParseProof(b); err == nil {
			_ = Verify(q, 1)
		}
	})
}

func benchmarkProve(b *testing.B, n int) {
	w := RandomWitness(n, 1)
	opts := stark.DefaultOptions()
	var size int
	for b.Loop() {
		p, err := Prove(w, opts)
		if err != nil {
			b.Fatal(err)
		}
		enc, _ := p.MarshalBinary()
		size = len(enc)
	}
	b.ReportMetric(float64(size), "proof-bytes")
}

func BenchmarkProve6144(b *testing.B)  { benchmarkProve(b, 6144) }
func BenchmarkProve24576(b *testing.B) { benchmarkProve(b, 24576) }

func BenchmarkVerify6144(b *testing.B) {
	p, err := Prove(RandomWitness(6144, 1), stark.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := Verify(p, 0); err != nil {
			b.Fatal(err)
		}
	}
}
