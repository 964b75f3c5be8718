package app

import (
	"slices"
	"testing"
)

// The retain height is the node's answer, passed through Commit to
// CometBFT untouched, and asked once per committed height, after the
// block's writes; an app without the hook keeps everything. Validator 0
// prunes and the others do not, and finalize checks that they still agree
// on every app hash: pruning is no part of the state.
func TestCommitReturnsTheNodesRetainHeight(t *testing.T) {
	n := newNet(t, netOpts{})
	a := n.vals[0].app
	var asked []int64
	a.cfg.RetainHeight = func(h int64) int64 {
		if a.last.Load().height != h {
			t.Errorf("retain height asked for %d before it was committed (app at %d)", h, a.last.Load().height)
		}
		asked = append(asked, h)
		if h < 3 {
			return 0
		}
		return h - 2
	}
	for i := uint64(0); i < 6; i++ {
		n.observe("sensors", i, 0, 1, 2, 3)
		n.step()
	}
	if want := []int64{1, 2, 3, 4, 5, 6}; !slices.Equal(asked, want) {
		t.Fatalf("asked for heights %v, want %v", asked, want)
	}
	if want := []int64{0, 0, 1, 2, 3, 4}; !slices.Equal(n.retained, want) {
		t.Fatalf("Commit returned retain heights %v, want %v", n.retained, want)
	}
	if r := n.record(1, "sensors", 0); r == nil || r.Status != "accepted" {
		t.Fatalf("the record of sensors/0 on a validator that keeps everything: %+v", r)
	}
}
