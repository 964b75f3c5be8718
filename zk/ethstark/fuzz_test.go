package ethstark

import "testing"

// The decoders must never panic: every input either parses or returns an
// error. Seeds are in testdata/fuzz.

func FuzzParseFile(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := ParseFile(data)
		if err != nil {
			return
		}
		if pf.Params == nil || len(pf.Proof) == 0 {
			t.Fatal("parsed file without parameters or proof")
		}
		ParseChainInput(pf.PublicInput)
		ParseZiggyInput(pf.PublicInput)
	})
}

func FuzzParseParams(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseParams(data)
		if err != nil {
			return
		}
		if err := p.checkShape(); err != nil {
			t.Fatalf("parsed parameters fail their own checks: %v", err)
		}
		p.Security(20)
	})
}

func FuzzParseParamsBranch(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, b byte) {
		p, err := ParseParamsBranch(data, Branch(b))
		if err != nil {
			return
		}
		if p.Branch != Branch(b) {
			t.Fatalf("read as the %s branch, asked for %d", p.Branch, b)
		}
		if err := p.checkShape(); err != nil {
			t.Fatalf("parsed parameters fail their own checks: %v", err)
		}
		p.Security(20)
	})
}

func FuzzParsePublicInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if in, err := ParseChainInput(data); err == nil && in.check() != nil {
			t.Fatal("parsed chain input fails its checks")
		}
		ParseZiggyInput(data)
	})
}

// mutate changes the vector proof: one byte set at pos, then the proof cut
// to cut bytes (when cut is shorter), so the fuzzer reaches every stage of
// verification, not only the first read.
func mutate(proof []byte, pos uint32, val byte, cut uint32) []byte {
	p := append([]byte(nil), proof...)
	if len(p) > 0 {
		p[int(pos)%len(p)] = val
	}
	if int(cut) < len(p) {
		p = p[:cut]
	}
	return p
}

func FuzzVerifyChain(f *testing.F) {
	in, pf := chainVector(f)
	f.Fuzz(func(t *testing.T, pos uint32, val byte, cut uint32, extra []byte) {
		p := append(mutate(pf.Proof, pos, val, cut), extra...)
		if _, err := VerifyChain(in, pf.Params, p, DefaultMinSecurity); err == nil && string(p) != string(pf.Proof) {
			t.Fatal("changed proof accepted")
		}
	})
}

func FuzzVerifyMasterChain(f *testing.F) {
	in, pf := masterVector(f, "chain3_proof_master_example.json")
	f.Fuzz(func(t *testing.T, pos uint32, val byte, cut uint32, extra []byte) {
		p := append(mutate(pf.Proof, pos, val, cut), extra...)
		if _, err := VerifyChain(in, pf.Params, p, 80); err == nil && string(p) != string(pf.Proof) {
			t.Fatal("changed proof accepted")
		}
	})
}

func FuzzVerifyZiggy(f *testing.F) {
	in, pf := ziggyVector(f)
	f.Fuzz(func(t *testing.T, pos uint32, val byte, cut uint32, extra []byte) {
		p := append(mutate(pf.Proof, pos, val, cut), extra...)
		if _, err := VerifyZiggy(in, pf.Params, p, DefaultMinSecurity); err == nil && string(p) != string(pf.Proof) {
			t.Fatal("changed signature accepted")
		}
	})
}

// FuzzVerifyParams verifies the vectors under any parameter file, with no
// security floor, so that every size the parameters drive is exercised.
func FuzzVerifyParams(f *testing.F) {
	cin, cf := chainVector(f)
	zin, zf := ziggyVector(f)
	min3, mf := masterVector(f, "chain3_proof_master_example.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseParams(data)
		if err != nil {
			return
		}
		_, cerr := VerifyChain(cin, p, cf.Proof, 0)
		_, zerr := VerifyZiggy(zin, p, zf.Proof, 0)
		if _, err := VerifyChain(min3, p, mf.Proof, 0); err == nil && p.String() != mf.Params.String() {
			t.Fatalf("master proof accepted under %v", p)
		}
		if cerr == nil && p.String() != cf.Params.String() {
			t.Fatalf("chain proof accepted under %v", p)
		}
		if zerr == nil && p.String() != zf.Params.String() {
			t.Fatalf("signature accepted under %v", p)
		}
	})
}
