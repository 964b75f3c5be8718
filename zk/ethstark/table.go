package ethstark

import (
	"errors"
	"slices"

	"github.com/datadragon/datadragon/zk/field"
)

// table is the verifier of one of ethSTARK's committed tables (the trace,
// the composition trace, a FRI layer): n rows of cols field elements, each
// row serialised as the concatenation of its elements. Without salt, rows
// are grouped into packages of at least 64 bytes (a power of two of rows)
// and the Merkle leaves are the packages' hashes; with salt (the trace under
// zero knowledge) each row is a leaf, hashed with a 16-byte salt the proof
// carries.
type table[E extElem[E], O extOps[E]] struct {
	ch       *channel
	rows     uint64
	cols     int
	ext      bool // elements are extension elements, else base (8 bytes)
	salted   bool
	perPack  uint64 // rows per package when not salted
	root     digest
	elemSize int // bytes of one row
}

// saltSize is the length of a salt (the ziggy branch's zero knowledge).
const saltSize = 16

func newTable[E extElem[E], O extOps[E]](ch *channel, rows uint64, cols int, ext, salted bool) *table[E, O] {
	t := &table[E, O]{ch: ch, rows: rows, cols: cols, ext: ext, salted: salted}
	es := 8
	if ext {
		var o O
		es = o.size()
	}
	t.elemSize = cols * es
	// Rows per package: the fewest that fill two digests, rounded up to a
	// power of two and at most the whole table.
	pack := 2 * ch.hc.n
	t.perPack = 1
	if t.elemSize < pack {
		fit := uint64((pack-1)/t.elemSize + 1)
		k := uint64(1)
		for k < fit {
			k <<= 1
		}
		t.perPack = min(k, rows)
	}
	return t
}

func (t *table[E, O]) readCommitment() error {
	var err error
	t.root, err = t.ch.receiveHash()
	return err
}

type cell struct {
	row uint64
	col int
}

func cellLess(a, b cell) int {
	switch {
	case a.row < b.row:
		return -1
	case a.row > b.row:
		return 1
	}
	return a.col - b.col
}

// query receives, in (row, column) order, every element of the given rows
// except the known cells, whose values the verifier computed itself.
func (t *table[E, O]) query(rows []uint64, known map[cell]bool) (map[cell]E, error) {
	var o O
	rs := slices.Clone(rows)
	slices.Sort(rs)
	rs = slices.Compact(rs)
	out := make(map[cell]E, len(rs)*t.cols)
	for _, r := range rs {
		if r >= t.rows {
			return nil, errors.New("ethstark: query out of range")
		}
		for c := range t.cols {
			k := cell{r, c}
			if known[k] {
				continue
			}
			var v E
			var err error
			if t.ext {
				v, err = receiveExt[E, O](t.ch)
			} else {
				var b field.Element
				b, err = t.ch.receiveBase()
				v = o.fromBase(b)
			}
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
	}
	return out, nil
}

// verify checks that the cells (whole rows) belong to the committed table,
// reading the salts, the package completions and the Merkle nodes the proof
// carries for them.
func (t *table[E, O]) verify(cells map[cell]E) error {
	var o O
	keys := make([]cell, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cellLess)
	// Serialise each row; every row must be complete.
	var rows []uint64
	data := map[uint64][]byte{}
	for i := 0; i < len(keys); {
		r := keys[i].row
		if r >= t.rows {
			return errors.New("ethstark: query out of range")
		}
		b := make([]byte, 0, t.elemSize)
		for c := range t.cols {
			if i >= len(keys) || keys[i].row != r || keys[i].col != c {
				return errors.New("ethstark: incomplete table row")
			}
			v := cells[keys[i]]
			if t.ext {
				b = o.append(b, v)
			} else {
				b = appendBase(b, o.base(v))
			}
			i++
		}
		rows = append(rows, r)
		data[r] = b
	}
	var leaves []leaf
	if t.salted {
		for _, r := range rows {
			salt, err := t.ch.receive(saltSize)
			if err != nil {
				return err
			}
			buf := append(slices.Clip(data[r]), salt...)
			leaves = append(leaves, leaf{r, hashSum(t.ch.hc.n, buf)})
		}
		return merkleVerify(t.ch, leaves, t.rows, &t.root)
	}
	k := t.perPack
	var packs []uint64
	for _, r := range rows {
		p := r / k
		if len(packs) == 0 || packs[len(packs)-1] != p {
			packs = append(packs, p)
		}
	}
	// The rows a package needs beyond the known ones, in ascending order.
	for _, p := range packs {
		for r := p * k; r < (p+1)*k; r++ {
			if _, ok := data[r]; ok {
				continue
			}
			b, err := t.ch.receive(t.elemSize)
			if err != nil {
				return err
			}
			data[r] = b
		}
	}
	for _, p := range packs {
		buf := make([]byte, 0, int(k)*t.elemSize)
		for r := p * k; r < (p+1)*k; r++ {
			buf = append(buf, data[r]...)
		}
		leaves = append(leaves, leaf{p, hashSum(t.ch.hc.n, buf)})
	}
	return merkleVerify(t.ch, leaves, t.rows/k, &t.root)
}

type leaf struct {
	index uint64
	hash  digest
}

// merkleVerify recomputes the root from sorted leaves of a tree of n
// leaves (a power of two), reading each missing sibling from the proof in
// the order ethSTARK writes them: a queue of nodes, lowest index first,
// each joined with its sibling until the root.
func merkleVerify(ch *channel, leaves []leaf, n uint64, root *digest) error {
	if len(leaves) == 0 {
		return errors.New("ethstark: empty decommitment")
	}
	q := make([]leaf, 0, 2*len(leaves))
	for _, l := range leaves {
		if l.index >= n {
			return errors.New("ethstark: query out of range")
		}
		q = append(q, leaf{l.index + n, l.hash})
	}
	head := 0
	for q[head].index != 1 {
		node := q[head]
		head++
		var sib digest
		if head < len(q) && q[head].index == node.index^1 {
			sib = q[head].hash
			head++
		} else {
			var err error
			if sib, err = ch.receiveHash(); err != nil {
				return err
			}
		}
		var h digest
		if node.index&1 == 0 {
			h = hashPair(ch.hc.n, &node.hash, &sib)
		} else {
			h = hashPair(ch.hc.n, &sib, &node.hash)
		}
		q = append(q, leaf{node.index / 2, h})
	}
	if q[head].hash != *root {
		return errors.New("ethstark: Merkle decommitment does not match the commitment")
	}
	return nil
}
