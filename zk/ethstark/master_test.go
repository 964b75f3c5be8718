package ethstark

import (
	"testing"
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
