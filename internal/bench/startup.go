package bench

import (
	"fmt"
	"time"

	"github.com/datadragon/datadragon/node"
)

// waitAllAt waits until every node has committed height h. A benchmark
// starts only then: a validator still catching up when the load begins
// may be the next proposer, and the round it misses (a second of
// timeout_propose) would be counted as the network's cost of the load.
func waitAllAt(nodes []*node.Node, h int64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		low := -1
		for i, n := range nodes {
			if n.Height() < h {
				low = i
				break
			}
		}
		if low < 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("validator %d is at height %d after %s, the others wait for it at %d: is a port of this benchmark in use by another process?", low, nodes[low].Height(), limit, h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
