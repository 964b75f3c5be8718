// Package cheat connects package evil to the STARK prover's cheating
// switches without exporting them from package stark: stark sets Prove
// when it is initialised. Only tests use it, through package evil.
package cheat

import (
	"io"

	"github.com/datadragon/datadragon/zk/field"
)

// Config says which of a cheating prover's liberties to take; see
// package evil.
type Config struct {
	SkipChecks      bool
	ForgeOOD        bool
	ForgeLastLayer  bool
	HighDegreeTrace bool
	LiftRows        bool
	SolveAssertions int
	Rand            io.Reader
}

// Prove is stark's prover with cfg applied. Its arguments and result are
// a stark.Air, a stark.Trace, a stark.Options and a *stark.Proof; they are
// untyped because this package cannot import stark (stark imports it).
var Prove func(air, trace, opts any, cfg Config) (proof any, solved []field.Element, err error)
