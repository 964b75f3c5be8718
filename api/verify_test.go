package api

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/datadragon/datadragon/zk/chain"
	"github.com/datadragon/datadragon/zk/stark"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// Real signatures and proofs, made once.
var (
	fixOnce            sync.Once
	fixPub, fixOtherPk ziggy.PublicKey
	fixMsg             = []byte("sensor/7 digest 5f1d06db59b0d3d")
	fixSig             []byte
	fixProof           []byte // chain of 3 hashes, default (128-bit) options
	fixWeakProof       []byte // chain of 3 hashes, fast options (~34 bits)
)

func fixtures(t testing.TB) {
	t.Helper()
	fixOnce.Do(func() {
		pub, priv, err := ziggy.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		other, _, err := ziggy.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		sig, err := ziggy.Sign(priv, fixMsg)
		if err != nil {
			panic(err)
		}
		fixPub, fixOtherPk, fixSig = pub, other, sig
		for i, opts := range []stark.Options{stark.DefaultOptions(), selfCheckOptions} {
			p, err := chain.Prove(chain.RandomWitness(3, 5), opts)
			if err != nil {
				panic(err)
			}
			b, err := p.MarshalBinary()
			if err != nil {
				panic(err)
			}
			if i == 0 {
				fixProof = b
			} else {
				fixWeakProof = b
			}
		}
	})
}

func (a *testAPI) verify(body any) (int, map[string]any) {
	a.t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			a.t.Fatal(err)
		}
	}
	code, out, _ := a.do(http.MethodPost, "/v1/zk/verify", bytes.NewReader(b))
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		a.t.Fatalf("verify answer is not JSON: %v: %s", err, out)
	}
	return code, m
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func TestVerifySignature(t *testing.T) {
	fixtures(t)
	a := newTestAPI(t, nil)
	b64 := base64.StdEncoding.EncodeToString
	pubHex := hex.EncodeToString(fixPub.Bytes())
	elems := strings.Fields(fixPub.String())
	cases := []struct {
		name  string
		req   map[string]any
		valid bool
	}{
		{"text message, base64 signature", map[string]any{"kind": "signature", "public_key": fixPub.String(), "message": string(fixMsg), "signature_b64": b64(fixSig)}, true},
		{"hex message, hex signature, key bytes", map[string]any{"kind": "signature", "public_key": pubHex, "message_hex": hex.EncodeToString(fixMsg), "signature_hex": "0x" + hex.EncodeToString(fixSig)}, true},
		{"base64 message, key array, signature either way", map[string]any{"kind": "signature", "public_key": elems, "message_b64": b64(fixMsg), "signature": ziggy.EncodeHex(fixSig)}, true},
		{"key file object", map[string]any{"kind": "signature", "public_key": json.RawMessage(ziggy.MarshalPublicKeyFile(fixPub)), "message": string(fixMsg), "signature": b64(fixSig)}, true},
		{"tampered message", map[string]any{"kind": "signature", "public_key": fixPub.String(), "message": string(fixMsg) + "!", "signature_b64": b64(fixSig)}, false},
		{"tampered signature", map[string]any{"kind": "signature", "public_key": fixPub.String(), "message": string(fixMsg), "signature_b64": b64(flip(fixSig, len(fixSig)/2))}, false},
		{"tampered signature header", map[string]any{"kind": "signature", "public_key": fixPub.String(), "message": string(fixMsg), "signature_b64": b64(flip(fixSig, 2))}, false},
		{"wrong key", map[string]any{"kind": "signature", "public_key": fixOtherPk.String(), "message": string(fixMsg), "signature_b64": b64(fixSig)}, false},
		{"not a signature", map[string]any{"kind": "signature", "public_key": fixPub.String(), "message": "x", "signature_b64": b64([]byte("hello"))}, false},
		{"floor above the signature", map[string]any{"kind": "signature", "public_key": fixPub.String(), "message": string(fixMsg), "signature_b64": b64(fixSig), "min_bits": 200}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a.t = t
			code, m := a.verify(c.req)
			if code != 200 {
				t.Fatalf("status %d: %v", code, m)
			}
			hasKeys(t, "verify", m, "valid", "reason", "kind", "min_bits", "verify_ms")
			if m["valid"] != c.valid {
				t.Fatalf("valid %v, want %v: %v", m["valid"], c.valid, m)
			}
			if reason := m["reason"].(string); c.valid != (reason == "") {
				t.Fatalf("reason %q", reason)
			}
			if c.valid && (m["security_bits"] != 128.0 || m["proven_bits"] != 67.0 || m["public_key"] != fixPub.String()) {
				t.Fatalf("details %v", m)
			}
		})
	}
}

func TestVerifyChain(t *testing.T) {
	fixtures(t)
	a := newTestAPI(t, nil)
	b64 := base64.StdEncoding.EncodeToString
	code, m := a.verify(map[string]any{"kind": "chain", "proof_b64": b64(fixProof)})
	if code != 200 || m["valid"] != true || m["reason"] != "" || m["security_bits"].(float64) < 100 {
		t.Fatalf("valid proof: %d %v", code, m)
	}
	if p := m["proven_bits"].(float64); p <= 0 || p >= m["security_bits"].(float64) {
		t.Fatalf("proven bits %v beside %v conjectured", p, m["security_bits"])
	}
	st := m["statement"].(map[string]any)
	if st["length"] != 3.0 || len(st["output"].([]any)) != 4 {
		t.Fatalf("statement %v", st)
	}
	code, m = a.verify(map[string]any{"kind": "chain", "proof": "0x" + hex.EncodeToString(fixProof)})
	if code != 200 || m["valid"] != true {
		t.Fatalf("hex proof: %d %v", code, m)
	}
	// Tampered anywhere: the statement, the middle, the end.
	for _, i := range []int{20, len(fixProof) / 2, len(fixProof) - 3} {
		code, m = a.verify(map[string]any{"kind": "chain", "proof_hex": hex.EncodeToString(flip(fixProof, i))})
		if code != 200 || m["valid"] != false || m["reason"] == "" {
			t.Fatalf("tampered at %d: %d %v", i, code, m)
		}
	}
	// A proof with weak options is refused at the 100-bit floor.
	code, m = a.verify(map[string]any{"kind": "chain", "proof_b64": b64(fixWeakProof)})
	if code != 200 || m["valid"] != false || !strings.Contains(m["reason"].(string), "bits") || m["min_bits"] != 100.0 {
		t.Fatalf("weak proof: %d %v", code, m)
	}
	code, m = a.verify(map[string]any{"kind": "chain", "proof_b64": b64([]byte("DDCHAIN"))})
	if code != 200 || m["valid"] != false {
		t.Fatalf("garbage proof: %d %v", code, m)
	}
}

func TestVerifyBadRequests(t *testing.T) {
	fixtures(t)
	a := newTestAPI(t, nil)
	sig := base64.StdEncoding.EncodeToString(fixSig)
	for name, body := range map[string]string{
		"empty":            ``,
		"not JSON":         `kind=signature`,
		"array":            `[1,2]`,
		"two objects":      `{"kind":"chain","proof":"AA=="} {}`,
		"no kind":          `{"proof_b64":"AAAA"}`,
		"unknown kind":     `{"kind":"rsa"}`,
		"no proof":         `{"kind":"chain"}`,
		"two proofs":       `{"kind":"chain","proof_b64":"AAAA","proof_hex":"00"}`,
		"bad base64":       `{"kind":"chain","proof_b64":"!!!"}`,
		"bad hex":          `{"kind":"chain","proof_hex":"0xZZ"}`,
		"neither":          `{"kind":"chain","proof":"not base64 !"}`,
		"no key":           `{"kind":"signature","message":"x","signature":"` + sig + `"}`,
		"bad key":          `{"kind":"signature","public_key":"0x1 0x2 0x3","message":"x","signature":"` + sig + `"}`,
		"key too big":      `{"kind":"signature","public_key":"0xffffffffffffffff 0x2 0x3 0x4","message":"x","signature":"` + sig + `"}`,
		"key wrong length": `{"kind":"signature","public_key":"abcd","message":"x","signature":"` + sig + `"}`,
		"key number":       `{"kind":"signature","public_key":12,"message":"x","signature":"` + sig + `"}`,
		"key array":        `{"kind":"signature","public_key":["0x1 0x2","0x3","0x4"],"message":"x","signature":"` + sig + `"}`,
		"no message":       `{"kind":"signature","public_key":"0x1 0x2 0x3 0x4","signature":"` + sig + `"}`,
		"two messages":     `{"kind":"signature","public_key":"0x1 0x2 0x3 0x4","message":"x","message_hex":"00","signature":"` + sig + `"}`,
		"no signature":     `{"kind":"signature","public_key":"0x1 0x2 0x3 0x4","message":"x"}`,
		"min_bits":         `{"kind":"chain","proof_b64":"AAAA","min_bits":100000}`,
		"negative bits":    `{"kind":"chain","proof_b64":"AAAA","min_bits":-1}`,
		"wrong type":       `{"kind":"chain","proof_b64":5}`,
	} {
		t.Run(name, func(t *testing.T) {
			a.t = t
			code, m := a.verify(body)
			if code != http.StatusBadRequest || m["error"] == nil || m["error"] == "" {
				t.Fatalf("%d %v", code, m)
			}
		})
	}
}

func TestVerifyBodyLimit(t *testing.T) {
	a := newTestAPI(t, nil)
	big := `{"kind":"chain","proof_b64":"` + strings.Repeat("A", DefaultMaxBodyBytes) + `"}`
	code, m := a.verify(big)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(m["error"].(string), "larger than") {
		t.Fatalf("%d %v", code, m)
	}
	// Without a Content-Length (chunked), the limit still holds.
	req := httptest.NewRequest(http.MethodPost, "/v1/zk/verify", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: %d %s", w.Code, w.Body)
	}
	// A smaller configured limit.
	b := newTestAPI(t, func(c *Config) { c.MaxBodyBytes = 100 })
	code, _ = b.verify(`{"kind":"chain","proof_b64":"` + strings.Repeat("A", 100) + `"}`)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("small limit: %d", code)
	}
}

func TestVerifyBusy(t *testing.T) {
	fixtures(t)
	a := newTestAPI(t, func(c *Config) { c.MaxVerifications = 2 })
	req := map[string]any{"kind": "chain", "proof_b64": base64.StdEncoding.EncodeToString(fixProof)}
	a.h.verifies <- struct{}{}
	a.h.verifies <- struct{}{}
	code, body, hd := a.do(http.MethodPost, "/v1/zk/verify", strings.NewReader(mustJSON(t, req)))
	if code != http.StatusServiceUnavailable || hd.Get("Retry-After") == "" || !strings.Contains(string(body), "busy") {
		t.Fatalf("full: %d %s", code, body)
	}
	<-a.h.verifies
	if code, m := a.verify(req); code != 200 || m["valid"] != true {
		t.Fatalf("one slot free: %d %v", code, m)
	}
	<-a.h.verifies
	// Concurrent requests never exceed the slots: each either verifies
	// or is refused.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := a.do(http.MethodPost, "/v1/zk/verify", strings.NewReader(mustJSON(t, req)))
			if code != 200 && code != 503 {
				t.Errorf("concurrent: %d", code)
			}
		}()
	}
	wg.Wait()
	if len(a.h.verifies) != 0 {
		t.Fatalf("%d slots leaked", len(a.h.verifies))
	}
	_, metrics, _ := a.do(http.MethodGet, "/metrics", nil)
	for _, want := range []string{`datadragon_zk_verify_duration_seconds_count{kind="chain",result="valid"}`, "datadragon_zk_verify_busy_total"} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
