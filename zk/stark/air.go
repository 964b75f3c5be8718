package stark

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/datadragon/datadragon/zk/field"
)

// Air is an algebraic intermediate representation: the shape of a
// statement's execution trace and the polynomial constraints every valid
// trace satisfies. The engine knows nothing else about the statement.
//
// A constraint is a polynomial in the cells of the current row, the next
// row and the periodic columns, which must vanish on the rows of its RowSet.
// The AIR evaluates all constraint numerators at one point at a time, once
// over the base field (the prover's hot loop) and once over the extension
// (the verifier's out-of-domain check); both must compute the same
// polynomials.
type Air interface {
	// Info describes the trace and the constraints. It must not change.
	Info() AirInfo
	// EvaluateBase writes every constraint numerator, in Info order, to out.
	EvaluateBase(f *Frame[field.Element], out []field.Element)
	// EvaluateExt is EvaluateBase over the extension field.
	EvaluateExt(f *Frame[field.Ext], out []field.Ext)
}

// Frame is the view of the trace a constraint sees at one point.
type Frame[E any] struct {
	Cur, Next []E // the current and next rows, Width values each
	Periodic  []E // the periodic columns at this point
}

// AirInfo is the static description of an AIR.
type AirInfo struct {
	// Name identifies the statement (and its version); it is absorbed into
	// the transcript first, so a proof for one statement never verifies
	// as another.
	Name string
	// PublicInputs is the canonical encoding of the statement's public
	// inputs, absorbed into the transcript before any commitment.
	PublicInputs []byte
	// Width is the number of trace columns.
	Width int
	// TraceLength is the number of rows, a power of two, including the rows
	// the engine reserves for zero knowledge (see Options.ZKRows).
	TraceLength int
	// Rows is the number of leading rows the constraints and assertions
	// govern; 0 means all TraceLength rows. A constraint that reads the next
	// row stops one row earlier. Later rows are unconstrained: padding, or
	// with ZeroKnowledge the random rows, of which there must be at least
	// Options.ZKRows. The statement decides this, never the proof: a
	// verifier refuses a proof whose options would leave fewer rows
	// constrained.
	Rows int
	// ZeroKnowledge states that proofs of this statement hide the witness.
	// A proof must be made with Options.ZeroKnowledge equal to it.
	ZeroKnowledge bool
	// Periodic holds the values of each periodic column over one period; a
	// period is a power of two dividing TraceLength.
	Periodic [][]field.Element
	// Constraints lists the constraints in evaluation order.
	Constraints []Constraint
	// Assertions pin single trace cells to public values.
	Assertions []Assertion
}

// Constraint declares one constraint's degree and where it must hold.
type Constraint struct {
	// Degree is the constraint's total degree in trace cells.
	Degree int
	// Cycles lists the periods of periodic columns multiplied into the
	// constraint (each raises its degree); columns only added are not listed.
	Cycles []int
	// UsesNext is set when the constraint reads the next row; the engine
	// then never applies it on the last constrained row.
	UsesNext bool
	// Rows is where the constraint holds.
	Rows RowSet
}

// RowSet describes the rows on which a constraint holds: the rows i with
// i mod Period in Residues, or, with Except, all rows but those. A Period
// of 0 means the trace length (so Residues name single rows).
type RowSet struct {
	Period   int
	Residues []int
	Except   bool
}

// EveryRow is the row set of a constraint that holds everywhere.
func EveryRow() RowSet { return RowSet{Period: 1, Except: true} }

// Rows returns the row set {i : i mod period ∈ residues}.
func Rows(period int, residues ...int) RowSet {
	return RowSet{Period: period, Residues: residues}
}

// RowsExcept returns the row set {i : i mod period ∉ residues}.
func RowsExcept(period int, residues ...int) RowSet {
	return RowSet{Period: period, Residues: residues, Except: true}
}

// SingleRow returns the row set {row}.
func SingleRow(row int) RowSet { return RowSet{Period: 0, Residues: []int{row}} }

// Assertion states that trace column Column holds Value at row Row.
type Assertion struct {
	Column, Row int
	Value       field.Element
}

// Limits on what an AIR may declare, so that an AIR built from hostile
// parameters cannot make the engine allocate without bound.
const (
	MaxWidth          = 1 << 10
	MaxLogTraceLength = 26
	MaxConstraints    = 1 << 12
	MaxDegree         = 8
)

// validate checks an AirInfo for internal consistency.
func (info *AirInfo) validate() error {
	n := info.TraceLength
	if n < 8 || n&(n-1) != 0 || bits.TrailingZeros(uint(n)) > MaxLogTraceLength {
		return fmt.Errorf("stark: trace length %d must be a power of two between 8 and 2^%d", n, MaxLogTraceLength)
	}
	if info.Width < 1 || info.Width > MaxWidth {
		return fmt.Errorf("stark: trace width %d out of range 1..%d", info.Width, MaxWidth)
	}
	if len(info.Constraints) > MaxConstraints {
		return fmt.Errorf("stark: %d constraints exceed the limit %d", len(info.Constraints), MaxConstraints)
	}
	if len(info.Constraints) == 0 && len(info.Assertions) == 0 {
		return errors.New("stark: an AIR needs at least one constraint or assertion")
	}
	for i, p := range info.Periodic {
		if len(p) < 1 || len(p)&(len(p)-1) != 0 || len(p) > n {
			return fmt.Errorf("stark: periodic column %d has length %d; want a power of two dividing the trace length", i, len(p))
		}
	}
	for i, c := range info.Constraints {
		if c.Degree < 1 || c.Degree > MaxDegree {
			return fmt.Errorf("stark: constraint %d has degree %d outside 1..%d", i, c.Degree, MaxDegree)
		}
		for _, p := range c.Cycles {
			if p < 1 || p&(p-1) != 0 || p > n {
				return fmt.Errorf("stark: constraint %d names cycle %d; want a power of two dividing the trace length", i, p)
			}
		}
		period := c.Rows.period(n)
		if period < 1 || period&(period-1) != 0 || period > n {
			return fmt.Errorf("stark: constraint %d has row period %d; want a power of two dividing the trace length", i, c.Rows.Period)
		}
		seen := map[int]bool{}
		for _, r := range c.Rows.Residues {
			if r < 0 || r >= period || seen[r] {
				return fmt.Errorf("stark: constraint %d has residue %d out of range or repeated", i, r)
			}
			seen[r] = true
		}
		if !c.Rows.Except && len(c.Rows.Residues) == 0 {
			return fmt.Errorf("stark: constraint %d holds on no row", i)
		}
	}
	rows := info.rows()
	if rows < 2 || rows > n {
		return fmt.Errorf("stark: %d constrained rows outside 2..%d", info.Rows, n)
	}
	if info.ZeroKnowledge && rows == n {
		return errors.New("stark: a zero-knowledge statement must leave rows unconstrained for the randomness (set AirInfo.Rows)")
	}
	for i, a := range info.Assertions {
		if a.Column < 0 || a.Column >= info.Width || a.Row < 0 || a.Row >= n {
			return fmt.Errorf("stark: assertion %d at column %d row %d lies outside the trace", i, a.Column, a.Row)
		}
		if a.Row >= rows {
			return fmt.Errorf("stark: assertion %d on row %d lies outside the %d constrained rows", i, a.Row, rows)
		}
	}
	return nil
}

// rows returns the number of constrained rows.
func (info *AirInfo) rows() int {
	if info.Rows == 0 {
		return info.TraceLength
	}
	return info.Rows
}

func (s RowSet) period(n int) int {
	if s.Period == 0 {
		return n
	}
	return s.Period
}

// contains reports whether row i (of a trace of n rows) is in the set.
func (s RowSet) contains(i, n int) bool {
	r := i % s.period(n)
	in := false
	for _, x := range s.Residues {
		if x == r {
			in = true
			break
		}
	}
	return in != s.Except
}
