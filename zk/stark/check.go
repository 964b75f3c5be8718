package stark

import (
	"fmt"

	"github.com/datadragon/datadragon/zk/field"
)

// Trace is an execution trace stored column by column.
type Trace [][]field.Element

// applies reports whether constraint c is enforced on row i of a trace of
// n rows whose first usable rows (AirInfo.Rows) are constrained.
func (c *Constraint) applies(i, n, usable int) bool {
	last := usable
	if c.UsesNext {
		last--
	}
	return i < last && c.Rows.contains(i, n)
}

// CheckTrace evaluates every constraint and assertion of air directly on
// the trace rows and reports the first violation. It is the reference the
// prover's polynomial machinery must agree with, and what statement authors
// test their AIR and trace builder against. Rows after AirInfo.Rows are
// exempt, as they are when proving.
func CheckTrace(air Air, trace Trace) error {
	info := air.Info()
	if err := info.validate(); err != nil {
		return err
	}
	n := info.TraceLength
	if len(trace) != info.Width {
		return fmt.Errorf("stark: trace has %d columns, the AIR wants %d", len(trace), info.Width)
	}
	for j, col := range trace {
		if len(col) != n {
			return fmt.Errorf("stark: trace column %d has %d rows, the AIR wants %d", j, len(col), n)
		}
	}
	usable := info.rows()
	for _, a := range info.Assertions {
		if got := trace[a.Column][a.Row]; !got.Equal(a.Value) {
			return fmt.Errorf("stark: assertion fails: column %d row %d holds %#x, want %#x",
				a.Column, a.Row, got.Uint64(), a.Value.Uint64())
		}
	}
	f := Frame[field.Element]{
		Cur:      make([]field.Element, info.Width),
		Next:     make([]field.Element, info.Width),
		Periodic: make([]field.Element, len(info.Periodic)),
	}
	out := make([]field.Element, len(info.Constraints))
	for i := 0; i < usable; i++ {
		for j := range trace {
			f.Cur[j] = trace[j][i]
			f.Next[j] = trace[j][(i+1)%n]
		}
		for k, p := range info.Periodic {
			f.Periodic[k] = p[i%len(p)]
		}
		air.EvaluateBase(&f, out)
		for k := range info.Constraints {
			if info.Constraints[k].applies(i, n, usable) && !out[k].IsZero() {
				return fmt.Errorf("stark: constraint %d fails on row %d", k, i)
			}
		}
	}
	return nil
}
