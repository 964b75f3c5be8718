package api

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// ethstarkBody is an ethSTARK output file from zk/ethstark's vectors with
// "kind" and "format" added, as a client would post it.
func ethstarkBody(t *testing.T, file, kind string) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../zk/ethstark/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["kind"], m["format"] = kind, "ethstark"
	return m
}

func TestVerifyEthSTARK(t *testing.T) {
	a := newTestAPI(t, nil)
	chainReq := ethstarkBody(t, "chain1536_proof_ziggy128_nonzk.json", "chain")
	code, m := a.verify(chainReq)
	if code != http.StatusOK || m["valid"] != true || m["security_bits"] != 128.0 || m["format"] != "ethstark" {
		t.Fatalf("chain: %d %v", code, m)
	}
	if st, _ := m["statement"].(map[string]any); st == nil || st["length"] != 1536.0 {
		t.Fatalf("chain statement: %v", m["statement"])
	}
	sigReq := ethstarkBody(t, "sig1_signature.json", "signature")
	if code, m := a.verify(sigReq); code != http.StatusOK || m["valid"] != true || m["public_key"] != "0x1ee24e6461101070 0x1ac62664d8e6d4f1 0x92087167d42cd34 0x4bdc8de49c6f0bb" {
		t.Fatalf("signature: %d %v", code, m)
	}
	// The statement given beside the file is the one checked.
	other := ethstarkBody(t, "sig1_signature.json", "signature")
	other["message"] = "Hello World?"
	if code, m := a.verify(other); code != http.StatusOK || m["valid"] != false || m["reason"] == "" {
		t.Fatalf("other message: %d %v", code, m)
	}
	other = ethstarkBody(t, "sig1_signature.json", "signature")
	other["public_key"] = "0x1ee24e6461101071 0x1ac62664d8e6d4f1 0x92087167d42cd34 0x4bdc8de49c6f0bb"
	if code, m := a.verify(other); code != http.StatusOK || m["valid"] != false {
		t.Fatalf("other key: %d %v", code, m)
	}
	tampered := ethstarkBody(t, "chain1536_proof_ziggy128_nonzk.json", "chain")
	p := []byte(tampered["proof_hex"].(string))
	p[1000] ^= 1 // a hex digit of the proof: still hex, another byte
	tampered["proof_hex"] = string(p)
	if code, m := a.verify(tampered); code != http.StatusOK || m["valid"] != false {
		t.Fatalf("tampered chain: %d %v", code, m)
	}
	floor := ethstarkBody(t, "chain1536_proof_ziggy128_nonzk.json", "chain")
	floor["min_bits"] = 129
	if code, m := a.verify(floor); code != http.StatusOK || m["valid"] != false || m["min_bits"] != 129.0 {
		t.Fatalf("floor: %d %v", code, m)
	}
	for name, edit := range map[string]func(m map[string]any){
		"unknown format":  func(m map[string]any) { m["format"] = "stark" },
		"no parameters":   func(m map[string]any) { delete(m, "proof_parameters") },
		"bad parameters":  func(m map[string]any) { m["proof_parameters"] = map[string]any{"stark": 1} },
		"no public input": func(m map[string]any) { delete(m, "public_input") },
		"no proof":        func(m map[string]any) { delete(m, "proof_hex") },
		"two proofs":      func(m map[string]any) { m["proof_b64"] = "AAAA" },
		"unknown kind":    func(m map[string]any) { m["kind"] = "receipt" },
		"bad chain length": func(m map[string]any) {
			m["public_input"] = map[string]any{"output": []string{"0x1", "0x2", "0x3", "0x4"}, "chain_length": 4}
		},
	} {
		req := ethstarkBody(t, "chain1536_proof_ziggy128_nonzk.json", "chain")
		edit(req)
		if code, m := a.verify(req); code != http.StatusBadRequest || m["error"] == nil {
			t.Errorf("%s: %d %v", name, code, m)
		}
	}
}

// A proof by ethSTARK's master branch is read as that branch's, and the
// node refuses it: it claims 80 bits, below the node's floor, which a
// request can raise but not lower.
func TestVerifyEthSTARKMaster(t *testing.T) {
	a := newTestAPI(t, nil)
	for _, minBits := range []any{nil, 80} {
		req := ethstarkBody(t, "master/chain1536_proof_master80.json", "chain")
		if minBits != nil {
			req["min_bits"] = minBits
		}
		code, m := a.verify(req)
		reason, _ := m["reason"].(string)
		if code != http.StatusOK || m["valid"] != false || !strings.Contains(reason, "claim 80 bits") {
			t.Fatalf("min_bits %v: %d %v", minBits, code, m)
		}
	}
}
