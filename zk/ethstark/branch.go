package ethstark

import "errors"

// Branch is the version of ethSTARK a proof was made with. Its two
// branches are different proof systems over the same field and the same
// AIR: the ziggy branch (128 bits conjectured) works over a cubic
// extension with a 256-bit Blake2s channel and has zero knowledge and Ziggy
// signatures; the master branch (80 bits) works over the quadratic
// extension F_p[φ]/(φ² − φ − 1) with a 160-bit Blake2s channel and proves
// only Rescue hash chains, without zero knowledge.
type Branch int

const (
	BranchZiggy  Branch = iota // ethSTARK's ziggy branch
	BranchMaster               // ethSTARK's master branch
)

func (b Branch) String() string {
	switch b {
	case BranchZiggy:
		return "ziggy"
	case BranchMaster:
		return "master"
	}
	return "unknown"
}

var errUnknownBranch = errors.New("ethstark: unknown ethSTARK branch")

// branchSpec is what tells the branches apart beyond the extension field.
type branchSpec struct {
	digest       int // Blake2s digest length in bytes
	extBits      int // log2 of the extension field's size, rounded down
	maxLogCosets int // the largest log2 of the blowup factor ethSTARK accepts
}

func (b Branch) spec() branchSpec {
	if b == BranchMaster {
		return branchSpec{digest: 20, extBits: 122, maxLogCosets: 10}
	}
	return branchSpec{digest: 32, extBits: 183, maxLogCosets: 14}
}
