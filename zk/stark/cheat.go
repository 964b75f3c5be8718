package stark

import (
	"errors"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/internal/cheat"
)

// The cheating prover of package zk/internal/evil, for tests of every
// statement. It is reachable only from inside zk.
func init() {
	cheat.Prove = func(air, trace, opts any, c cheat.Config) (any, []field.Element, error) {
		cfg := proverConfig{
			rng:             c.Rand,
			skipChecks:      c.SkipChecks,
			forgeOOD:        c.ForgeOOD,
			forgeLastLayer:  c.ForgeLastLayer,
			highDegreeTrace: c.HighDegreeTrace,
			liftRows:        c.LiftRows,
			solveAssertions: c.SolveAssertions,
		}
		return proveCheating(air.(Air), trace.(Trace), opts.(Options), cfg)
	}
}

// solveAssertions returns values for the last k assertions that make the
// out-of-domain identity hold with the claimed values in p: the
// constraint side is affine in the asserted values, Σ_a c_a·v_a with
// c_a = α_a/Z_a(z) ∈ F_p³, so k ≤ 3 base-field unknowns meet one F_p³
// equation (three over F_p). This is the forgery a transcript that does
// not bind the assertion values would allow.
func solveAssertions(air Air, l *layout, p *Proof, alphas []field.Ext, z field.Ext, k int) ([]field.Element, error) {
	asserts := l.info.Assertions
	if k > len(asserts) {
		return nil, errors.New("stark: fewer assertions than values to solve")
	}
	// rest = Σ z^(i·n) H_i(z) − (constraint side with the current values).
	rest := combineSegments(l, p.OODComposition, z).Sub(constraintsAt(air, l, p, alphas, z))
	// Raising v_a by δ_a lowers the constraint side by c_a·δ_a, so solve
	// Σ c_a·δ_a = −rest for the δ_a.
	var m [3][4]field.Element
	target := rest.Neg()
	for i, t := range [3]field.Element{target.A0, target.A1, target.A2} {
		m[i][3] = t
	}
	first := len(asserts) - k
	for j := 0; j < k; j++ {
		idx := l.numAir + first + j
		c := alphas[idx].Mul(l.groups[l.groupOf[idx]].evalInverse(z, l.n, l.logN))
		for i, v := range [3]field.Element{c.A0, c.A1, c.A2} {
			m[i][j] = v
		}
	}
	// Gaussian elimination on the k unknowns (rows beyond k must then
	// hold; with k = 3 the system is square).
	row := 0
	for col := 0; col < k; col++ {
		piv := -1
		for r := row; r < 3; r++ {
			if !m[r][col].IsZero() {
				piv = r
				break
			}
		}
		if piv < 0 {
			return nil, errors.New("stark: singular system")
		}
		m[row], m[piv] = m[piv], m[row]
		inv := m[row][col].Inverse()
		for c := 0; c < 4; c++ {
			m[row][c] = m[row][c].Mul(inv)
		}
		for r := 0; r < 3; r++ {
			if r != row && !m[r][col].IsZero() {
				f := m[r][col]
				for c := 0; c < 4; c++ {
					m[r][c] = m[r][c].Sub(f.Mul(m[row][c]))
				}
			}
		}
		row++
	}
	out := make([]field.Element, k)
	for j := 0; j < k; j++ {
		// Solved columns map to rows 0..k−1 in order.
		out[j] = asserts[first+j].Value.Add(m[j][3])
	}
	return out, nil
}
