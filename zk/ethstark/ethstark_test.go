package ethstark

import (
	"os"
	"testing"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func chainVector(t testing.TB) (*ChainInput, *File) {
	f, err := ParseFile(readFile(t, "chain1536_proof_ziggy128_nonzk.json"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := ParseChainInput(readFile(t, "chain1536_public_input.json"))
	if err != nil {
		t.Fatal(err)
	}
	return in, f
}

func ziggyVector(t testing.TB) (*ZiggyInput, *File) {
	f, err := ParseFile(readFile(t, "sig1_signature.json"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := ParseZiggyInput(readFile(t, "sig1_public_input.json"))
	if err != nil {
		t.Fatal(err)
	}
	return in, f
}

func TestChainVector(t *testing.T) {
	in, f := chainVector(t)
	if len(f.Proof) != 88536 {
		t.Fatalf("proof is %d bytes", len(f.Proof))
	}
	r, err := VerifyChain(in, f.Params, f.Proof, DefaultMinSecurity)
	if err != nil {
		t.Fatal(err)
	}
	if r.SecurityBits != 128 || r.LogTrace != 14 {
		t.Fatalf("result %+v", r)
	}
}

func TestZiggyVector(t *testing.T) {
	in, f := ziggyVector(t)
	if len(f.Proof) != 27896 {
		t.Fatalf("signature is %d bytes", len(f.Proof))
	}
	r, err := VerifyZiggy(in, f.Params, f.Proof, DefaultMinSecurity)
	if err != nil {
		t.Fatal(err)
	}
	if r.SecurityBits != 128 || r.LogTrace != 6 {
		t.Fatalf("result %+v", r)
	}
}
