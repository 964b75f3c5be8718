package main

import (
	"encoding/json"

	"github.com/datadragon/datadragon/zk/ziggy"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The ethSTARK vectors live with the package that verifies them.
const ethVectors = "../../zk/ethstark/testdata/"

func TestZKVerifyEthSTARK(t *testing.T) {
	sig, pub := ethVectors+"sig1_signature.json", ethVectors+"sig1_public_input.json"
	for _, args := range [][]string{
		{"zk", "verify", "--format", "ethstark", sig, "--pub", pub},
		{"zk", "verify", "--format", "ethstark", "--sig", sig, "--pub", pub},
	} {
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		for _, want := range []string{"valid\n", "128 bits (as ethSTARK's parameters claim)", "message: 12 bytes", "0x1ee24e6461101070"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, other := write("good.txt", "Hello World!"), write("other.txt", "Hello World?")
	// A DataDragon public key line with the message in --in.
	line := write("pub.txt", "0x1ee24e6461101070 0x1ac62664d8e6d4f1 0x92087167d42cd34 0x4bdc8de49c6f0bb\n")
	args := []string{"zk", "verify", "--format", "ethstark", sig, "--pub", line, "--in", good}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"zk", "verify", "--format", "ethstark", sig, "--pub", pub, "--in", other}, "invalid: "},
		{[]string{"zk", "verify", "--format", "ethstark", sig, "--pub", line, "--in", other}, "invalid: "},
		{[]string{"zk", "verify", "--format", "ethstark", sig, "--pub", pub, "--min-bits", "129"}, "below the floor of 129"},
		{[]string{"zk", "verify", "--format", "ethstark", write("garbage.json", "{"), "--pub", pub}, "invalid: "},
	} {
		code, out, errOut := runCLI(t, c.args...)
		wantCode(t, c.args, code, exitFail, out, errOut)
		if !strings.Contains(out, c.want) {
			t.Errorf("%v: output lacks %q:\n%s", c.args, c.want, out)
		}
	}
	for _, args := range [][]string{
		{"zk", "verify", "--format", "ethstark", sig},
		{"zk", "verify", "--format", "ethstark", "--pub", pub},
		{"zk", "verify", "--format", "ethstark", sig, "--pub", line},
		{"zk", "verify", "--format", "nope", sig, "--pub", pub},
	} {
		code, out, errOut := runCLI(t, args...)
		if code == exitOK {
			t.Errorf("%v: exit 0\n%s%s", args, out, errOut)
		}
	}
}

func TestChainVerifyEthSTARK(t *testing.T) {
	proof, pub := ethVectors+"chain1536_proof_ziggy128_nonzk.json", ethVectors+"chain1536_public_input.json"
	for _, args := range [][]string{
		{"zk", "chain-verify", "--format", "ethstark", proof},
		{"zk", "chain-verify", "--format", "ethstark", "--pub", pub, proof},
	} {
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		for _, want := range []string{"valid\n", "length: 1536 hashes", "security: 128 bits (as ethSTARK's parameters claim)", "0x1997c6b72973b63c"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}
	dir := t.TempDir()
	otherPub := filepath.Join(dir, "pub.json")
	os.WriteFile(otherPub, []byte(`{"output": ["0x1997c6b72973b63c","0x3f346adcb9c4d60","0x7c4c63cc5b4d1be","0x1e6df20afd0b5363"], "chain_length": 1536}`), 0o600)
	args := []string{"zk", "chain-verify", "--format", "ethstark", "--pub", otherPub, proof}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.HasPrefix(out, "invalid: ") {
		t.Errorf("other output: %s", out)
	}
	args = []string{"zk", "chain-verify", "--format", "ethstark", "--min-bits", "129", proof}
	code, out, errOut = runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	args = []string{"zk", "chain-verify", "--pub", pub, proof}
	if code, out, errOut := runCLI(t, args...); code == exitOK {
		t.Errorf("--pub without --format ethstark: exit 0\n%s%s", out, errOut)
	}
}

// TestChainVerifyEthSTARKMaster verifies a proof by ethSTARK's master
// branch: the branch read from the file or named, the 80 bits it claims
// refused by the default floor.
func TestChainVerifyEthSTARKMaster(t *testing.T) {
	proof := ethVectors + "master/chain1536_proof_master80.json"
	for _, args := range [][]string{
		{"zk", "chain-verify", "--format", "ethstark", "--min-bits", "80", proof},
		{"zk", "chain-verify", "--format", "ethstark-master", "--min-bits", "80", proof},
		{"zk", "chain-verify", "--format", "ethstark", "--min-bits", "80", "--pub", ethVectors + "chain1536_public_input.json", proof},
	} {
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		for _, want := range []string{"valid\n", "(master branch)", "length: 1536 hashes", "security: 80 bits (as ethSTARK's parameters claim), floor 80", "0x1997c6b72973b63c"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"zk", "chain-verify", "--format", "ethstark", proof}, "below the floor of 100"},
		{[]string{"zk", "chain-verify", "--format", "ethstark", "--min-bits", "81", proof}, "below the floor of 81"},
		{[]string{"zk", "chain-verify", "--format", "ethstark-ziggy", "--min-bits", "80", proof}, "enable_zero_knowledge"},
		{[]string{"zk", "chain-verify", "--format", "ethstark-master", "--min-bits", "1", ethVectors + "chain1536_proof_ziggy128_nonzk.json"}, "invalid: "},
		{[]string{"zk", "chain-verify", "--format", "ethstark", "--min-bits", "80", "--pub", ethVectors + "master/chain3_public_input.json", proof}, "invalid: "},
	} {
		code, out, errOut := runCLI(t, c.args...)
		wantCode(t, c.args, code, exitFail, out, errOut)
		if !strings.HasPrefix(out, "invalid: ") || !strings.Contains(out, c.want) {
			t.Errorf("%v: %s", c.args, out)
		}
	}
	// The ziggy vector still reads as the ziggy branch's, named or not.
	args := []string{"zk", "chain-verify", "--format", "ethstark-ziggy", ethVectors + "chain1536_proof_ziggy128_nonzk.json"}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	if !strings.Contains(out, "(ziggy branch)") {
		t.Errorf("%v: %s", args, out)
	}
	args = []string{"zk", "chain-verify", "--format", "ethstark-other", proof}
	if code, out, errOut := runCLI(t, args...); code == exitOK || code == exitFail {
		t.Errorf("unknown format: exit %d\n%s%s", code, out, errOut)
	}
	// A signature has no master-branch format.
	args = []string{"zk", "verify", "--format", "ethstark-master", ethVectors + "sig1_signature.json", "--pub", ethVectors + "sig1_public_input.json"}
	if code, out, errOut := runCLI(t, args...); code == exitOK {
		t.Errorf("zk verify --format ethstark-master: exit 0\n%s%s", out, errOut)
	}
}

// TestZKSignEthSTARK signs with the vector's private key in ethSTARK's
// format: the file holds the very signature ethSTARK's ziggy_prover wrote.
func TestZKSignEthSTARK(t *testing.T) {
	dir := t.TempDir()
	seed := make([]byte, 32)
	seed[31] = 1
	priv, err := ziggy.NewKeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "ziggy.key")
	if err := os.WriteFile(key, ziggy.MarshalPrivateKeyFile(priv), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := filepath.Join(dir, "msg.txt")
	os.WriteFile(msg, []byte("Hello World!"), 0o600)
	sig := filepath.Join(dir, "sig.json")
	args := []string{"zk", "sign", "--key", key, "--in", msg, "--out", sig, "--format", "ethstark"}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	if !strings.Contains(out, "128 bits") {
		t.Errorf("report: %s", out)
	}
	got, _ := os.ReadFile(sig)
	want, _ := os.ReadFile(ethVectors + "sig1_signature.json")
	hexOf := func(b []byte) string {
		var f struct {
			ProofHex string `json:"proof_hex"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		return f.ProofHex
	}
	if hexOf(got) != hexOf(want) {
		t.Fatal("the signature differs from ethSTARK's")
	}
	args = []string{"zk", "verify", "--format", "ethstark", sig, "--pub", ethVectors + "sig1_public_input.json"}
	code, out, errOut = runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	// A message that is not text cannot go into ethSTARK's JSON.
	os.WriteFile(msg, []byte{0xff, 0xfe}, 0o600)
	args = []string{"zk", "sign", "--key", key, "--in", msg, "--out", sig, "--format", "ethstark"}
	if code, out, errOut := runCLI(t, args...); code == exitOK || !strings.Contains(errOut, "UTF-8") {
		t.Errorf("binary message: exit %d\n%s%s", code, out, errOut)
	}
}
