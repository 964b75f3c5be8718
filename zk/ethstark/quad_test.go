package ethstark

import (
	"math/rand/v2"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
)

func randQuad(r *rand.Rand) quad {
	return quad{field.New(r.Uint64N(field.Modulus)), field.New(r.Uint64N(field.Modulus))}
}

// φ² − φ − 1 is irreducible over F_p: its discriminant 5 is not a square.
func TestQuadIrreducible(t *testing.T) {
	if got := field.New(5).Exp((field.Modulus - 1) / 2); got != field.One().Neg() {
		t.Fatalf("5^((p−1)/2) = %d: 5 is a square, X² − X − 1 splits", got.Uint64())
	}
}

func TestQuadArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	one := quad{A0: field.One()}
	phi := quad{A1: field.One()}
	if got, want := phi.Mul(phi), phi.AddBase(field.One()); got != want {
		t.Fatalf("φ² = %v, want φ + 1", got)
	}
	for range 1000 {
		a, b, c := randQuad(r), randQuad(r), randQuad(r)
		if a.Mul(b) != b.Mul(a) {
			t.Fatal("multiplication not commutative")
		}
		if a.Mul(b).Mul(c) != a.Mul(b.Mul(c)) {
			t.Fatal("multiplication not associative")
		}
		if a.Mul(b.Add(c)) != a.Mul(b).Add(a.Mul(c)) {
			t.Fatal("multiplication not distributive")
		}
		// Schoolbook product: (a0 + a1φ)(b0 + b1φ) with φ² = φ + 1.
		a1b1 := a.A1.Mul(b.A1)
		want := quad{a.A0.Mul(b.A0).Add(a1b1), a.A0.Mul(b.A1).Add(a.A1.Mul(b.A0)).Add(a1b1)}
		if a.Mul(b) != want {
			t.Fatal("product differs from the schoolbook one")
		}
		if !a.IsZero() && a.Mul(a.Inverse()) != one {
			t.Fatal("a·a⁻¹ ≠ 1")
		}
		// The Frobenius map is x ↦ x^p, an automorphism of order 2.
		if a.conj() != a.Exp(field.Modulus) {
			t.Fatal("conj(a) ≠ a^p")
		}
		if a.conj().conj() != a || a.Mul(b).conj() != a.conj().Mul(b.conj()) {
			t.Fatal("conj is not an automorphism of order 2")
		}
		s := field.New(r.Uint64N(field.Modulus))
		if a.MulBase(s) != a.Mul(quad{A0: s}) || a.AddBase(s).SubBase(s) != a || a.Sub(a) != (quad{}) || a.Add(a.Neg()) != (quad{}) {
			t.Fatal("base-field operations disagree")
		}
	}
	if (quad{}).Inverse() != (quad{}) {
		t.Fatal("0⁻¹ is not 0")
	}
	// The multiplicative group has order p² − 1; ethSTARK's generator 3 + φ
	// has that order exactly: g^((p²−1)/q) ≠ 1 for each prime q it lists.
	g := quad{field.New(3), field.One()}
	// (p²−1) = (p−1)(p+1); raise in two steps to keep exponents in 64 bits.
	pow := func(x quad, num, den uint64) quad { return x.Exp(num / den) }
	for _, q := range []uint64{2, 3, 7, 13, 167, 211, 293, 457, 5422607, 22154203} {
		var v quad
		switch {
		case (field.Modulus-1)%q == 0:
			v = pow(g.Exp(field.Modulus+1), field.Modulus-1, q)
		default:
			v = pow(g.Exp(field.Modulus-1), field.Modulus+1, q)
		}
		if v == one {
			t.Fatalf("3 + φ has order dividing (p²−1)/%d", q)
		}
	}
	if g.Exp(field.Modulus-1).Exp(field.Modulus+1) != one {
		t.Fatal("g^(p²−1) ≠ 1")
	}
}
