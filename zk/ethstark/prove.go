package ethstark

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/poly"
	"github.com/datadragon/datadragon/zk/rescue"
)

// maxProveLog bounds the prover's evaluation domain (log2 of its points).
const maxProveLog = 20

// ProveChain makes, from Go, the proof ethSTARK's rescue_prover makes for
// the hash chain over witness (chain length len(witness)−1, a multiple of
// 3) with params. ethSTARK's prover is deterministic — under zero
// knowledge its padding, blinding column and salts come from chains seeded
// with the witness — so the bytes are those rescue_prover writes for the
// same witness and parameters, and ethSTARK's verifier accepts them.
func ProveChain(witness [][4]field.Element, params *Params) (*ChainInput, []byte, error) {
	if params == nil {
		return nil, nil, errors.New("ethstark: missing parameters")
	}
	if len(witness) < 2 || (len(witness)-1)%3 != 0 || len(witness)-1 > 3<<maxProveLog {
		return nil, nil, errors.New("ethstark: the witness must hold 3k+1 words, k ≥ 1")
	}
	in := &ChainInput{ChainLength: uint64(len(witness) - 1)}
	switch params.Branch {
	case BranchZiggy:
		return proveChain(newChainAIR[field.Ext, cubicOps](in, params.ZeroKnowledge, params.NQueries), in, witness, params)
	case BranchMaster:
		return proveChain(newChainAIR[quad, quadOps](in, params.ZeroKnowledge, params.NQueries), in, witness, params)
	}
	return nil, nil, errUnknownBranch
}

func proveChain[E extElem[E], O extOps[E]](a *chainAIR[E, O], in *ChainInput, witness [][4]field.Element, params *Params) (*ChainInput, []byte, error) {
	logN := a.logTrace()
	if err := params.check(logN, logConstraintDegree); err != nil {
		return nil, nil, err
	}
	// The prover keeps the whole extension in memory (about 400 bytes a
	// point), so it is bounded far below what the verifier accepts.
	if logN+params.LogNCosets > maxProveLog {
		return nil, nil, fmt.Errorf("ethstark: an evaluation domain of 2^%d points is larger than the prover's 2^%d", logN+params.LogNCosets, maxProveLog)
	}
	cols, out := chainTrace(witness, a.origLen)
	in.Output = out
	a.output = out
	var salts *hashChain
	trace := cols[:]
	if params.ZeroKnowledge {
		zkSeed := []byte("Rescue hash chain private seed\x00")
		for _, word := range witness {
			for _, e := range word {
				zkSeed = appendBase(zkSeed, e)
			}
		}
		trace, salts = blind(trace, a.slack, zkSeed)
	}
	proof, err := prove[E, O](a, trace, params, chainSeed(in), salts)
	if err != nil {
		return nil, nil, err
	}
	return in, proof, nil
}

// prove runs ethSTARK's prover for the AIR a over the trace columns cols
// (with the blinding column last under zero knowledge): the channel seeded
// with seed, the trace's leaves salted from salts under zero knowledge.
func prove[E extElem[E], O extOps[E]](a statementAIR[E], cols [][]field.Element, params *Params, seed []byte, salts *hashChain) ([]byte, error) {
	var o O
	logN := a.logTrace()
	n := uint64(1) << logN
	logC := params.LogNCosets
	D := n << logC
	nCols := len(cols)
	pc := &channel{hc: newHashChain(params.Branch.spec().digest, seed)}

	// The trace and its low-degree extension, row q holding the point
	// 3·h^bitrev(q) of the evaluation domain.
	coefs := make([][]field.Element, nCols)
	for c := range nCols {
		coefs[c] = slices.Clone(cols[c])
		poly.INTT(coefs[c])
	}
	h := field.RootOfUnity(logN + logC)
	three := field.Generator()
	cosetOffset := func(ci uint64) field.Element { return three.Mul(h.Exp(bitReverse(ci, logC))) }
	traceLDE := make([][]E, nCols)
	for c := range nCols {
		traceLDE[c] = make([]E, D)
		for ci := range uint64(1) << logC {
			ev := slices.Clone(coefs[c])
			poly.CosetNTT(ev, cosetOffset(ci))
			for off := range n {
				traceLDE[c][ci*n+off] = o.fromBase(ev[bitReverse(off, logN)])
			}
		}
	}
	trace := newProverTable[E, O](pc, traceLDE, false, salts)
	pc.send(trace.root[:pc.hc.n])
	coef := make([]E, a.nCoefficients())
	for i := range coef {
		coef[i] = randomExt[E, O](pc)
	}

	// The composition polynomial on 3·⟨ω_4n⟩, its coefficients and its four
	// pieces H(x) = Σ x^i·h_i(x⁴).
	m := nBreaks * n
	onComp := make([][]field.Element, width)
	for c := range width {
		onComp[c] = make([]field.Element, m)
		copy(onComp[c], coefs[c])
		poly.CosetNTT(onComp[c], three)
	}
	w4 := field.RootOfUnity(logN + logConstraintDegree)
	H := make([]E, m)
	// A neighbour r rows on is r·4 points on in this domain.
	mask := a.mask()
	nb := make([]E, len(mask))
	x := three
	for i := range m {
		for k, mi := range mask {
			nb[k] = o.fromBase(onComp[mi.col][(i+nBreaks*mi.row)%m])
		}
		v, err := a.constraintsAt(o.fromBase(x), nb, coef)
		if err != nil {
			return nil, err
		}
		H[i] = v
		x = x.Mul(w4)
	}
	o.cosetINTT(H, three)
	pieces := make([][]E, nBreaks)
	compLDE := make([][]E, nBreaks)
	for b := range nBreaks {
		pieces[b] = make([]E, n)
		for j := range n {
			pieces[b][j] = H[nBreaks*j+uint64(b)]
		}
		compLDE[b] = make([]E, D)
		for ci := range uint64(1) << logC {
			ev := slices.Clone(pieces[b])
			o.cosetNTT(ev, cosetOffset(ci))
			for off := range n {
				compLDE[b][ci*n+off] = ev[bitReverse(off, logN)]
			}
		}
	}
	comp := newProverTable[E, O](pc, compLDE, true, nil)
	pc.send(comp.root[:pc.hc.n])

	// Out-of-domain values.
	z := randomExt[E, O](pc)
	g := field.RootOfUnity(logN)
	vals := make([]E, len(mask))
	for i, mi := range mask {
		vals[i] = o.evalBase(coefs[mi.col], z.MulBase(g.Exp(mi.row)))
		pc.send(o.append(nil, vals[i]))
	}
	zb := z.Exp(nBreaks)
	breaks := make([]E, nBreaks)
	for b := range breaks {
		breaks[b] = o.evalExt(pieces[b], zb)
		pc.send(o.append(nil, breaks[b]))
	}
	bcs := boundaries[E, O](mask, vals, breaks, z, g, nCols)
	bcoef := make([]E, len(bcs))
	for i := range bcoef {
		bcoef[i] = randomExt[E, O](pc)
	}

	// The DEEP composition on the whole evaluation domain.
	var points []E
	group := make([]int, len(bcs))
	for k, b := range bcs {
		if group[k] = slices.Index(points, b.x); group[k] < 0 {
			group[k] = len(points)
			points = append(points, b.x)
		}
	}
	dens := make([]E, D*uint64(len(points)))
	for q := range D {
		xq := cosetOffset(q >> logN).Mul(g.Exp(bitReverse(q&(n-1), logN)))
		for j, pt := range points {
			dens[q*uint64(len(points))+uint64(j)] = pt.Neg().AddBase(xq)
		}
	}
	batchInverse[E, O](dens, dens)
	layer := make([]E, D)
	sums := make([]E, len(points))
	for q := range D {
		clear(sums)
		for k, b := range bcs {
			var col E
			if b.col < nCols {
				col = traceLDE[b.col][q]
			} else {
				col = compLDE[b.col-nCols][q]
			}
			sums[group[k]] = sums[group[k]].Add(bcoef[k].Mul(col.Sub(b.y)))
		}
		var r E
		for j := range points {
			r = r.Add(sums[j].Mul(dens[q*uint64(len(points))+uint64(j)]))
		}
		if params.ZeroKnowledge {
			r = r.Add(traceLDE[nCols-1][q])
		}
		layer[q] = r
	}

	// FRI: fold, commit, repeat; then the last layer's coefficients.
	steps := params.FRISteps
	var layers []*proverTable[E, O]
	basis := 0
	for i, s := range steps {
		if i > 0 || s != 0 {
			layer = foldLayer(layer, randomExt[E, O](pc), D, basis, s)
		}
		basis += s
		if i < len(steps)-1 {
			cs := 1 << steps[i+1]
			rows := make([][]E, cs)
			for c := range rows {
				rows[c] = make([]E, len(layer)/cs)
				for r := range rows[c] {
					rows[c][r] = layer[r*cs+c]
				}
			}
			t := newProverTable[E, O](pc, rows, true, nil)
			pc.send(t.root[:pc.hc.n])
			layers = append(layers, t)
		}
	}
	logL := log2(uint64(len(layer)))
	nat := make([]E, len(layer))
	for j, v := range layer {
		nat[bitReverse(uint64(j), logL)] = v
	}
	o.intt(nat)
	for _, c := range nat[params.LastLayerDegreeBound:] {
		if !c.IsZero() {
			return nil, errors.New("ethstark: the last FRI layer is not of low degree (the witness does not satisfy the statement)")
		}
	}
	var lastBytes []byte
	for _, c := range nat[:params.LastLayerDegreeBound] {
		lastBytes = o.append(lastBytes, c)
	}
	pc.send(lastBytes)

	// Grinding: the smallest nonce that works, as ethSTARK's search finds.
	if params.PoWBits > 0 {
		pc.send(grind(pc.hc.n, pc.hc.digest, params.PoWBits))
	}
	qs := make([]uint64, params.NQueries)
	for i := range qs {
		qs[i] = pc.randomNumber(D >> steps[0])
	}
	slices.Sort(qs)
	pc.queries = true

	s0 := steps[0]
	var first []uint64
	for _, q := range qs {
		for j := q << s0; j < (q+1)<<s0; j++ {
			first = append(first, j)
		}
	}
	trace.decommit(first, nil)
	comp.decommit(first, nil)
	basis = 0
	for i := 0; i < len(steps)-1; i++ {
		step := steps[i+1]
		basis += steps[i]
		shift := basis - s0
		known := map[cell]bool{}
		var rows []uint64
		for _, q := range qs {
			idx := q >> shift
			known[cell{idx >> step, int(idx & (1<<step - 1))}] = true
			rows = append(rows, idx>>step)
		}
		layers[i].decommit(rows, known)
	}
	return pc.proof, nil
}

// foldLayer folds a whole FRI layer (bit-reversed, domain D/2^basis with
// offset 1) step times.
func foldLayer[E extElem[E]](cur []E, alpha E, D uint64, basis, step int) []E {
	for b := basis; b < basis+step; b++ {
		logS := log2(D >> b)
		w := field.RootOfUnity(logS)
		next := make([]E, len(cur)/2)
		xs := make([]field.Element, len(next))
		for j := range next {
			xs[j] = w.Exp(bitReverse(uint64(2*j), logS))
		}
		field.BatchInverse(xs, xs)
		for j := range next {
			fx, fmx := cur[2*j], cur[2*j+1]
			next[j] = fx.Add(fmx).Add(alpha.Mul(fx.Sub(fmx)).MulBase(xs[j]))
		}
		cur = next
		alpha = alpha.Mul(alpha)
	}
	return cur
}

func grind(n int, state digest, bits int) []byte {
	ih := powInit(n, state, bits)
	var buf [maxDigest + 8]byte
	copy(buf[:], ih[:n])
	limit := uint64(1) << (64 - bits)
	for nonce := uint64(0); ; nonce++ {
		binary.BigEndian.PutUint64(buf[n:], nonce)
		d := hashSum(n, buf[:n+8])
		if binary.BigEndian.Uint64(d[:8]) < limit {
			return slices.Clone(buf[n : n+8])
		}
	}
}

// send writes a prover message and, before the query phase, absorbs it.
func (c *channel) send(b []byte) {
	c.proof = append(c.proof, b...)
	if !c.queries {
		c.hc.mix(b)
	}
}

// chainTrace builds ethSTARK's Rescue-chain trace: batches of 32 rows (the
// input, 3×10 middle states, the output state), rows columns long, and
// returns the chain's output.
func chainTrace(w [][4]field.Element, rows uint64) ([width][]field.Element, [4]field.Element) {
	var cols [width][]field.Element
	push := func(s *[width]field.Element) {
		for k := range width {
			cols[k] = append(cols[k], s[k])
		}
	}
	var st [width]field.Element
	var out [4]field.Element
	copy(st[:4], w[0][:])
	hi := 1
	for uint64(len(cols[0])) < rows {
		for b := range 3 {
			for k := 4; k < width; k++ {
				st[k] = field.Zero()
			}
			if hi < len(w) {
				copy(st[4:8], w[hi][:])
			}
			if b == 0 {
				push(&st)
			}
			var mid [rescue.Rounds][width]field.Element
			rescue.PermuteRounds(&st, &mid)
			for r := range mid {
				push(&mid[r])
			}
			if hi == len(w)-1 {
				copy(out[:], st[:4])
			}
			hi++
		}
		push(&st)
	}
	return cols, out
}

// proverTable is a committed table on the prover's side: columns of
// elements, their rows packed and hashed into a Merkle tree as ethSTARK
// does.
type proverTable[E extElem[E], O extOps[E]] struct {
	ch    *channel
	salts *hashChain // zero knowledge: each row is a leaf with a salt
	cols  [][]E
	ext   bool
	t     *table[E, O] // the shape (package size) shared with the verifier
	nodes []digest
	root  digest
}

func newProverTable[E extElem[E], O extOps[E]](ch *channel, cols [][]E, ext bool, salts *hashChain) *proverTable[E, O] {
	rows := uint64(len(cols[0]))
	pt := &proverTable[E, O]{ch: ch, cols: cols, ext: ext, salts: salts, t: newTable[E, O](ch, rows, len(cols), ext, salts != nil)}
	k := pt.t.perPack
	if salts != nil {
		k = 1
	}
	leaves := rows / k
	pt.nodes = make([]digest, 2*leaves)
	for p := range leaves {
		var buf []byte
		for r := p * k; r < (p+1)*k; r++ {
			buf = pt.appendRow(buf, r)
		}
		if salts != nil {
			buf = append(buf, pt.salt(p)...)
		}
		pt.nodes[leaves+p] = hashSum(ch.hc.n, buf)
	}
	for i := leaves - 1; i >= 1; i-- {
		pt.nodes[i] = hashPair(ch.hc.n, &pt.nodes[2*i], &pt.nodes[2*i+1])
	}
	pt.root = pt.nodes[1] // a single leaf is its own root
	return pt
}

// salt is ethSTARK's salt of row r: the salts chain with r (big-endian)
// absorbed, its first 16 bytes.
func (pt *proverTable[E, O]) salt(r uint64) []byte {
	h := *pt.salts
	h.mix(binary.BigEndian.AppendUint64(nil, r))
	s := make([]byte, saltSize)
	h.random(s)
	return s
}

func (pt *proverTable[E, O]) appendRow(b []byte, r uint64) []byte {
	var o O
	for c := range pt.cols {
		if pt.ext {
			b = o.append(b, pt.cols[c][r])
		} else {
			b = appendBase(b, o.base(pt.cols[c][r]))
		}
	}
	return b
}

// decommit writes, in the order the verifier reads them, the queried rows'
// cells the verifier does not know, the other rows of their packages, and
// the Merkle nodes that authenticate the packages.
func (pt *proverTable[E, O]) decommit(rows []uint64, known map[cell]bool) {
	var o O
	rs := slices.Clone(rows)
	slices.Sort(rs)
	rs = slices.Compact(rs)
	for _, r := range rs {
		for c := range pt.cols {
			if known[cell{r, c}] {
				continue
			}
			if pt.ext {
				pt.ch.send(o.append(nil, pt.cols[c][r]))
			} else {
				pt.ch.send(appendBase(nil, o.base(pt.cols[c][r])))
			}
		}
	}
	k := pt.t.perPack
	if pt.salts != nil {
		for _, r := range rs {
			pt.ch.send(pt.salt(r))
		}
		k = 1
	}
	var packs []uint64
	for _, r := range rs {
		if p := r / k; len(packs) == 0 || packs[len(packs)-1] != p {
			packs = append(packs, p)
		}
	}
	for _, p := range packs {
		for r := p * k; r < (p+1)*k; r++ {
			if _, ok := slices.BinarySearch(rs, r); !ok {
				pt.ch.send(pt.appendRow(nil, r))
			}
		}
	}
	leaves := uint64(len(pt.nodes) / 2)
	q := make([]uint64, 0, 2*len(packs))
	for _, p := range packs {
		q = append(q, p+leaves)
	}
	head := 0
	for q[head] > 1 {
		node := q[head]
		head++
		q = append(q, node/2)
		if q[head] == node^1 {
			head++
		} else {
			pt.ch.send(pt.nodes[node^1][:pt.ch.hc.n])
		}
	}
}

// PrivateKeySize is the length of a Ziggy private key.
const PrivateKeySize = 32

// SignZiggy makes, from Go, the signature ethSTARK's ziggy_prover makes
// with the private key for the message under params (which must be zero
// knowledge). ethSTARK derives every random value from the private key and
// the message, so the bytes are those ziggy_prover writes, and ethSTARK's
// verifier accepts them. It returns the public input with them.
func SignZiggy(privateKey, message []byte, params *Params) (*ZiggyInput, []byte, error) {
	if params == nil {
		return nil, nil, errors.New("ethstark: missing parameters")
	}
	if len(privateKey) != PrivateKeySize {
		return nil, nil, fmt.Errorf("ethstark: a Ziggy private key is %d bytes", PrivateKeySize)
	}
	if !params.ZeroKnowledge {
		return nil, nil, errors.New("ethstark: a Ziggy signature must be zero knowledge")
	}
	if len(message) > maxMessage {
		return nil, nil, errors.New("ethstark: message too long")
	}
	// The secret preimage: eight elements drawn from a chain seeded with
	// the private key; the public key is its Rescue hash.
	sc := &channel{hc: newHashChain(maxDigest, append([]byte("Ziggy secret preimage seed\x00"), privateKey...))}
	var secret [8]field.Element
	for i := range secret {
		secret[i] = sc.randomBase()
	}
	in := &ZiggyInput{PublicKey: rescue.Hash(secret), Message: append([]byte(nil), message...)}
	a := newZiggyAIR[field.Ext, cubicOps](in, true, params.NQueries)
	if err := params.check(a.logTrace(), logConstraintDegree); err != nil {
		return nil, nil, err
	}

	// The trace: a zero row, the ten middle states, zero rows to 16; each
	// value followed by slack−1 random ones; then the random blinding column.
	zkSeed := append(append([]byte("Ziggy private seed\x00"), privateKey...), message...)
	var st [width]field.Element
	copy(st[:8], secret[:])
	var mid [rescue.Rounds][width]field.Element
	rescue.PermuteRounds(&st, &mid)
	rows := make([][]field.Element, width)
	for c := range width {
		rows[c] = make([]field.Element, ziggyHeight)
		for r := 1; r <= rescue.Rounds; r++ {
			rows[c][r] = mid[r-1][c]
		}
	}
	cols, salts := blind(rows, a.slack, zkSeed)
	sig, err := prove[field.Ext, cubicOps](a, cols, params, ziggySeed(in), salts)
	if err != nil {
		return nil, nil, err
	}
	return in, sig, nil
}

// blind applies ethSTARK's zero knowledge to a trace: each value is
// followed by slack−1 random ones and a random blinding column is added,
// all drawn from the private seed's "Trace" chain; the leaves' salts come
// from its "Salts" chain.
func blind(cols [][]field.Element, slack uint64, zkSeed []byte) ([][]field.Element, *hashChain) {
	tr := &channel{hc: newHashChain(maxDigest, zkSeed)}
	tr.hc.mix([]byte("Trace"))
	salts := newHashChain(maxDigest, zkSeed)
	salts.mix([]byte("Salts"))
	n := uint64(len(cols[0])) * slack
	out := make([][]field.Element, len(cols)+1)
	for c, col := range cols {
		out[c] = make([]field.Element, 0, n)
		for _, v := range col {
			out[c] = append(out[c], v)
			for range slack - 1 {
				out[c] = append(out[c], tr.randomBase())
			}
		}
	}
	out[len(cols)] = make([]field.Element, n)
	for i := range out[len(cols)] {
		out[len(cols)][i] = tr.randomBase()
	}
	return out, salts
}
