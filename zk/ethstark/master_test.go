package ethstark

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
)

func masterVector(t testing.TB, name string) (*ChainInput, *File) {
	t.Helper()
	f, err := ParseFile(readFile(t, "master/"+name))
	if err != nil {
		t.Fatal(err)
	}
	in, err := ParseChainInput(f.PublicInput)
	if err != nil {
		t.Fatal(err)
	}
	return in, f
}

func TestMasterVectors(t *testing.T) {
	for _, c := range []struct {
		name     string
		size     int
		logTrace int
	}{
		{"chain1536_proof_master80.json", 46216, 14},
		{"chain3_proof_master_example.json", 9784, 5},
	} {
		in, f := masterVector(t, c.name)
		if f.Params.Branch != BranchMaster {
			t.Fatalf("%s: read as the %s branch's", c.name, f.Params.Branch)
		}
		if len(f.Proof) != c.size {
			t.Fatalf("%s: proof is %d bytes", c.name, len(f.Proof))
		}
		r, err := VerifyChain(in, f.Params, f.Proof, 80)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if r.SecurityBits != 80 || r.LogTrace != c.logTrace {
			t.Fatalf("%s: result %+v", c.name, r)
		}
	}
}

func TestMasterTamperedByte(t *testing.T) {
	for _, name := range []string{"chain1536_proof_master80.json", "chain3_proof_master_example.json"} {
		in, f := masterVector(t, name)
		for _, pos := range tamperPositions(len(f.Proof), 31) {
			p := append([]byte(nil), f.Proof...)
			p[pos] ^= 0x01
			if _, err := VerifyChain(in, f.Params, p, 80); err == nil {
				t.Fatalf("%s: byte %d changed: accepted", name, pos)
			}
		}
	}
}

func TestMasterTruncatedOrExtended(t *testing.T) {
	in, f := masterVector(t, "chain1536_proof_master80.json")
	for _, p := range [][]byte{f.Proof[:len(f.Proof)-1], f.Proof[:len(f.Proof)-20], f.Proof[:20], nil, append(append([]byte(nil), f.Proof...), 0)} {
		if _, err := VerifyChain(in, f.Params, p, 80); err == nil {
			t.Fatalf("proof of %d bytes accepted", len(p))
		}
	}
}

func TestMasterOtherStatement(t *testing.T) {
	in, f := masterVector(t, "chain1536_proof_master80.json")
	for i := range 4 {
		other := *in
		other.Output[i] = other.Output[i].Add(field.One())
		if _, err := VerifyChain(&other, f.Params, f.Proof, 80); err == nil {
			t.Fatalf("output changed at %d: accepted", i)
		}
	}
	// 1,533 and 1,539 hashes keep the trace at 2^14 rows; 768 halves it.
	for _, l := range []uint64{1533, 1539, 1530, 768, 3} {
		other := *in
		other.ChainLength = l
		if _, err := VerifyChain(&other, f.Params, f.Proof, 80); err == nil {
			t.Fatalf("chain length %d accepted", l)
		}
	}
	// The other vector's statement with this proof, and the reverse.
	in3, f3 := masterVector(t, "chain3_proof_master_example.json")
	if _, err := VerifyChain(in3, f.Params, f.Proof, 80); err == nil {
		t.Fatal("the 1,536-hash proof accepted for the 3-hash statement")
	}
	if _, err := VerifyChain(in, f3.Params, f3.Proof, 80); err == nil {
		t.Fatal("the 3-hash proof accepted for the 1,536-hash statement")
	}
}

// The master branch claims at most 80 bits: the default floor refuses its
// proofs, and weaker parameters are refused below a floor of 80.
func TestMasterSecurityFloor(t *testing.T) {
	in, f := masterVector(t, "chain1536_proof_master80.json")
	if got := f.Params.Security(14); got != 80 {
		t.Fatalf("parameters claim %d bits", got)
	}
	for _, floor := range []int{81, DefaultMinSecurity} {
		if _, err := VerifyChain(in, f.Params, f.Proof, floor); err == nil || !strings.Contains(err.Error(), "below the floor") {
			t.Fatalf("floor %d: %v", floor, err)
		}
	}
	weak := *f.Params
	weak.NQueries = 29 // 2·29 + 20 = 78 bits
	if _, err := VerifyChain(in, &weak, f.Proof, 80); err == nil || !strings.Contains(err.Error(), "below the floor") {
		t.Fatalf("weaker parameters: %v", err)
	}
	weak = *f.Params
	weak.PoWBits = 19
	if _, err := VerifyChain(in, &weak, f.Proof, 79); err == nil {
		t.Fatal("accepted under other parameters")
	}
}

func TestMasterSecurityComputation(t *testing.T) {
	// Blake2s-160 caps at 80 bits; the quadratic extension at 122 − log2(n).
	p := &Params{Branch: BranchMaster, LogNCosets: 4, NQueries: 40, PoWBits: 20}
	for _, c := range []struct{ logTrace, want int }{{14, 80}, {42, 80}, {43, 79}, {50, 72}} {
		if got := p.Security(c.logTrace); got != c.want {
			t.Errorf("trace 2^%d: %d bits, want %d", c.logTrace, got, c.want)
		}
	}
	p = &Params{Branch: BranchMaster, LogNCosets: 2, NQueries: 30, PoWBits: 10}
	if got := p.Security(14); got != 70 {
		t.Errorf("got %d, want 70", got)
	}
}

// A proof verifies only as the branch it was made by.
func TestBranchesDoNotMix(t *testing.T) {
	in, f := masterVector(t, "chain1536_proof_master80.json")
	asZiggy := *f.Params
	asZiggy.Branch = BranchZiggy
	if _, err := VerifyChain(in, &asZiggy, f.Proof, 0); err == nil {
		t.Fatal("master proof accepted as the ziggy branch's")
	}
	if _, err := ParseParamsBranch(readFile(t, "master/chain1536_params_master80.json"), BranchZiggy); err == nil {
		t.Fatal("a master parameter file read as the ziggy branch's")
	}
	zcin, zcf := chainVector(t)
	asMaster := *zcf.Params
	asMaster.Branch = BranchMaster
	if _, err := VerifyChain(zcin, &asMaster, zcf.Proof, 0); err == nil {
		t.Fatal("ziggy-branch proof accepted as master's")
	}
	// Forced to master, a ziggy file's enable_zero_knowledge is ignored,
	// as the master branch ignores it.
	p, err := ParseParamsBranch(readFile(t, "chain1536_params_ziggy128_nonzk.json"), BranchMaster)
	if err != nil || p.Branch != BranchMaster || p.ZeroKnowledge {
		t.Fatalf("forced master: %+v, %v", p, err)
	}
	zin, zf := ziggyVector(t)
	zp := *zf.Params
	zp.Branch = BranchMaster
	if _, err := VerifyZiggy(zin, &zp, zf.Proof, 0); err == nil || !strings.Contains(err.Error(), "no Ziggy") {
		t.Fatalf("Ziggy on master: %v", err)
	}
	if _, err := ParseParamsBranch(readFile(t, "master/chain1536_params_master80.json"), Branch(7)); err == nil {
		t.Fatal("unknown branch accepted")
	}
	zfile := readFile(t, "chain1536_proof_ziggy128_nonzk.json")
	if pf, err := ParseFileBranch(zfile, BranchMaster); err != nil || pf.Params.Branch != BranchMaster {
		t.Fatalf("ziggy file read as master's: %v", err)
	} else if _, err := VerifyChain(zcin, pf.Params, pf.Proof, 0); err == nil {
		t.Fatal("ziggy-branch file accepted when read as master's")
	}
	if _, err := ParseFileBranch(readFile(t, "master/chain1536_proof_master80.json"), BranchZiggy); err == nil {
		t.Fatal("master file read as the ziggy branch's")
	}
	if _, err := ParseFileBranch(zfile, Branch(2)); err == nil {
		t.Fatal("unknown branch accepted")
	}
	bad := *f.Params
	bad.Branch = Branch(-1)
	if _, err := VerifyChain(in, &bad, f.Proof, 0); err == nil {
		t.Fatal("unknown branch verified")
	}
}

func TestMasterParams(t *testing.T) {
	data := readFile(t, "master/chain1536_params_master80.json")
	p, err := ParseParams(data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Branch != BranchMaster || p.ZeroKnowledge || p.LogNCosets != 2 || p.NQueries != 30 || p.PoWBits != 20 || p.LastLayerDegreeBound != 4 || len(p.FRISteps) != 5 {
		t.Fatalf("parsed %+v", p)
	}
	// Written back, the file has no enable_zero_knowledge and reads as
	// master again; a ziggy file keeps it.
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "enable_zero_knowledge") {
		t.Fatalf("master parameters written with enable_zero_knowledge: %s", out)
	}
	if q, err := ParseParams(out); err != nil || q.String() != p.String() {
		t.Fatalf("round trip: %v, %v", q, err)
	}
	zp, err := ParseParams(readFile(t, "chain1536_params_ziggy128_nonzk.json"))
	if err != nil || zp.Branch != BranchZiggy {
		t.Fatalf("ziggy file: %+v, %v", zp, err)
	}
	if out, _ := json.Marshal(zp); !strings.Contains(string(out), `"enable_zero_knowledge":false`) {
		t.Fatalf("ziggy parameters written without enable_zero_knowledge: %s", out)
	}
	if !strings.Contains(p.String(), "master") || !strings.Contains(zp.String(), "ziggy") {
		t.Fatal("String does not name the branch")
	}
	in, f := masterVector(t, "chain1536_proof_master80.json")
	for _, c := range []struct {
		name string
		edit func(p *Params)
	}{
		{"zero knowledge", func(p *Params) { p.ZeroKnowledge = true }},
		{"blowup above 2^10", func(p *Params) { p.LogNCosets = 11 }},
		{"fri steps do not reach the last layer", func(p *Params) { p.LastLayerDegreeBound = 2 }},
	} {
		q := *f.Params
		c.edit(&q)
		if _, err := VerifyChain(in, &q, f.Proof, 0); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	// log_n_cosets 11 is within the ziggy branch's range, not master's.
	if _, err := ParseParams([]byte(`{"stark": {"log_n_cosets": 11, "fri": {"fri_step_list": [1], "last_layer_degree_bound": 1, "n_queries": 1, "proof_of_work_bits": 0}}}`)); err == nil {
		t.Error("master parameters with log_n_cosets 11 parsed")
	}
	if _, err := ParseParams([]byte(`{"stark": {"log_n_cosets": 11, "enable_zero_knowledge": false, "fri": {"fri_step_list": [1], "last_layer_degree_bound": 1, "n_queries": 1, "proof_of_work_bits": 0}}}`)); err != nil {
		t.Errorf("ziggy parameters with log_n_cosets 11: %v", err)
	}
}

// The hash chains of both branches against the values ethSTARK's own tests
// assert: seeded with 0x00000000deadbeef, the 1st and 1,000th 8-byte draws,
// then the 1st after absorbing 0x000000dabadabada.
func TestHashChainKnownValues(t *testing.T) {
	for _, c := range []struct {
		n                           int
		first, thousandth, afterMix string
	}{
		{20, "30efdf051799131d", "617bab0952f2cc41", "267a339fe73aeb3c"},
		{32, "f4075c0791c21101", "89e186d547158186", "d4945a65250a61b8"},
	} {
		h := newHashChain(c.n, []byte{0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef})
		var b [8]byte
		h.random(b[:])
		if got := hex.EncodeToString(b[:]); got != c.first {
			t.Fatalf("%d-byte chain, 1st draw %s, want %s", c.n, got, c.first)
		}
		for range 999 {
			h.random(b[:])
		}
		if got := hex.EncodeToString(b[:]); got != c.thousandth {
			t.Fatalf("%d-byte chain, 1,000th draw %s, want %s", c.n, got, c.thousandth)
		}
		h.mix([]byte{0, 0, 0, 0xda, 0xba, 0xda, 0xba, 0xda})
		h.random(b[:])
		if got := hex.EncodeToString(b[:]); got != c.afterMix {
			t.Fatalf("%d-byte chain, draw after mixing %s, want %s", c.n, got, c.afterMix)
		}
	}
}

func BenchmarkVerifyMasterChain(b *testing.B) {
	in, f := masterVector(b, "chain1536_proof_master80.json")
	for b.Loop() {
		if _, err := VerifyChain(in, f.Params, f.Proof, 80); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyMasterChain3(b *testing.B) {
	in, f := masterVector(b, "chain3_proof_master_example.json")
	for b.Loop() {
		if _, err := VerifyChain(in, f.Params, f.Proof, 80); err != nil {
			b.Fatal(err)
		}
	}
}

// The Go prover makes, byte for byte, the proofs ethSTARK master's
// rescue_prover made for the same witness and parameters.
func TestProveChainReproducesEthSTARKMaster(t *testing.T) {
	w := chainWitness(t)
	for _, c := range []struct {
		proof, params string
		words         int
	}{
		{"chain3_proof_master_example.json", "master_example_params.json", 4},
		{"chain1536_proof_master80.json", "chain1536_params_master80.json", len(w)},
	} {
		want, f := masterVector(t, c.proof)
		params, err := ParseParams(readFile(t, "master/"+c.params))
		if err != nil {
			t.Fatal(err)
		}
		in, proof, err := ProveChain(w[:c.words], params)
		if err != nil {
			t.Fatal(err)
		}
		if *in != *want {
			t.Fatalf("%s: statement %+v, want %+v", c.proof, in, want)
		}
		if !bytes.Equal(proof, f.Proof) {
			i := 0
			for i < min(len(proof), len(f.Proof)) && proof[i] == f.Proof[i] {
				i++
			}
			t.Fatalf("%s: proof differs from ethSTARK's at byte %d (%d bytes, want %d)", c.proof, i, len(proof), len(f.Proof))
		}
		// Written as ethSTARK writes it, the file reads back as master's.
		pf, err := ParseFile(MarshalChainFile(proof, params, in))
		if err != nil {
			t.Fatal(err)
		}
		if pf.Params.Branch != BranchMaster {
			t.Fatalf("%s: written file reads as the %s branch's", c.proof, pf.Params.Branch)
		}
		if _, err := VerifyChain(in, pf.Params, pf.Proof, 80); err != nil {
			t.Fatal(err)
		}
	}
	// The chain3 witness file is the first four words of the long one.
	var j struct{ Witness [][]string }
	if err := json.Unmarshal(readFile(t, "master/chain3_private_input.json"), &j); err != nil {
		t.Fatal(err)
	}
	for i, x := range j.Witness {
		word, err := parseWord(x, "witness word")
		if err != nil || word != w[i] || len(j.Witness) != 4 {
			t.Fatalf("chain3 witness word %d differs (%v)", i, err)
		}
	}
	// No zero knowledge on the master branch.
	params, _ := ParseParams(readFile(t, "master/master_example_params.json"))
	params.ZeroKnowledge = true
	if _, _, err := ProveChain(w[:4], params); err == nil {
		t.Fatal("master-branch proof with zero knowledge made")
	}
}
