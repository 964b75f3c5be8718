package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fixtureDir = "../../receipt/testdata"

func TestVerifyReceipt(t *testing.T) {
	rcpt, gen, data := filepath.Join(fixtureDir, "receipt.json"), filepath.Join(fixtureDir, "genesis.json"), filepath.Join(fixtureDir, "data.json")
	code, out, errOut := runCLI(t, "verify", rcpt, "--genesis", gen, "--data", data)
	if code != exitOK || !strings.HasPrefix(out, "valid\n") {
		t.Fatalf("valid receipt: exit %d, %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "verify", "--genesis", gen, rcpt)
	if code != exitOK || !strings.HasPrefix(out, "valid\n") {
		t.Fatalf("without data: exit %d, %q", code, out)
	}

	// One changed byte of the data.
	var msgs []map[string]any
	b, _ := os.ReadFile(data)
	json.Unmarshal(b, &msgs)
	msgs[0]["seq"] = msgs[0]["seq"].(float64) + 1000
	bad := filepath.Join(t.TempDir(), "data.json")
	b, _ = json.Marshal(msgs)
	os.WriteFile(bad, b, 0o644)
	code, out, errOut = runCLI(t, "verify", rcpt, "--genesis", gen, "--data", bad)
	if code != exitFail || !strings.Contains(out, `broken link "data"`) {
		t.Fatalf("bad data: exit %d, %q %q", code, out, errOut)
	}

	// A tampered header.
	var r map[string]any
	b, _ = os.ReadFile(rcpt)
	json.Unmarshal(b, &r)
	r["header"].(map[string]any)["height"] = 999
	tampered := filepath.Join(t.TempDir(), "r.json")
	b, _ = json.Marshal(r)
	os.WriteFile(tampered, b, 0o644)
	code, out, _ = runCLI(t, "verify", tampered, "--genesis", gen)
	if code != exitFail || !strings.Contains(out, `broken link "header"`) {
		t.Fatalf("tampered header: exit %d, %q", code, out)
	}

	// Mistakes a new user makes, answered in their words.
	dir := t.TempDir()
	apiErr := filepath.Join(dir, "err.json")
	os.WriteFile(apiErr, []byte(`{"error":"record sensors/99 not found"}`), 0o644)
	notJSON := filepath.Join(dir, "page.html")
	os.WriteFile(notJSON, []byte("<html>404</html>"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", apiErr, "--genesis", gen}, `the node's error answer, saved instead of a receipt; the node said: "record sensors/99 not found"`},
		{[]string{"verify", notJSON, "--genesis", gen}, "the file is not JSON"},
		{[]string{"verify", gen, "--genesis", gen}, "this is a genesis file; give the receipt first"},
		{[]string{"verify", rcpt, "--genesis", rcpt}, "is a receipt, not a genesis"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != exitFail || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, errOut, tc.want)
		}
		_ = out
	}
	// A forged commit signature names the validator; so does a forged
	// Ziggy attestation.
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"commit", func(r map[string]any) {
			sigs := r["commit"].(map[string]any)["signatures"].([]any)
			s := sigs[0].(map[string]any)
			b := []byte(s["signature"].(string))
			if b[5] == 'A' { // another base64 digit: another signature
				b[5] = 'B'
			} else {
				b[5] = 'A'
			}
			s["signature"] = string(b)
		}, "the commit signature of validator "},
		{"ziggy", func(r map[string]any) {
			a := r["attestations"].([]any)[0].(map[string]any)
			h := []byte(a["signature"].(string))
			if h[len(h)/2] == '0' { // another hex digit
				h[len(h)/2] = '1'
			} else {
				h[len(h)/2] = '0'
			}
			a["signature"] = string(h)
		}, "the Ziggy signature of validator "},
	} {
		var r map[string]any
		b, _ := os.ReadFile(rcpt)
		json.Unmarshal(b, &r)
		tc.edit(r)
		p := filepath.Join(dir, tc.name+".json")
		b, _ = json.Marshal(r)
		os.WriteFile(p, b, 0o644)
		code, out, errOut := runCLI(t, "verify", p, "--genesis", gen)
		if code != exitFail || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "forged or altered") {
			t.Errorf("%s: exit %d, %q, stderr %q; want %q", tc.name, code, out, errOut, tc.want)
		}
	}

	if code, _, _ = runCLI(t, "verify", rcpt); code != exitUsage {
		t.Fatalf("no --genesis: exit %d", code)
	}
	if code, _, _ = runCLI(t, "verify", "/nonexistent", "--genesis", gen); code != exitFail {
		t.Fatalf("missing file: exit %d", code)
	}
}

// TestVerifyPushedReceiptAndBundle: a pushed chunk's receipt checks
// against the chunk's bytes or a larger file holding them; a bundle of
// receipts is valid only if each is.
func TestVerifyPushedReceiptAndBundle(t *testing.T) {
	dir := filepath.Join(fixtureDir, "push")
	rcpt, gen, data := filepath.Join(dir, "receipt.json"), filepath.Join(dir, "genesis.json"), filepath.Join(dir, "data.bin")
	code, out, errOut := runCLI(t, "verify", rcpt, "--genesis", gen, "--data", data)
	if code != exitOK || !strings.Contains(out, "the producer's signature and data") {
		t.Fatalf("pushed receipt: exit %d, %q %q", code, out, errOut)
	}
	chunk, _ := os.ReadFile(data)
	file := filepath.Join(t.TempDir(), "file.bin")
	os.WriteFile(file, append(chunk, make([]byte, 5000)...), 0o644)
	if code, out, errOut := runCLI(t, "verify", rcpt, "--genesis", gen, "--data", file); code != exitOK {
		t.Fatalf("against a larger file: exit %d, %q %q", code, out, errOut)
	}
	one, _ := os.ReadFile(rcpt)
	bundle := filepath.Join(t.TempDir(), "bundle.json")
	os.WriteFile(bundle, []byte("["+string(one)+","+string(one)+"]"), 0o644)
	if code, out, errOut := runCLI(t, "verify", bundle, "--genesis", gen, "--data", data); code != exitOK || strings.Count(out, "accepted at height") != 2 {
		t.Fatalf("bundle: exit %d, %q %q", code, out, errOut)
	}
	var r map[string]any
	json.Unmarshal(one, &r)
	r["producer_signature"] = strings.Repeat("00", 100)
	bad, _ := json.Marshal(r)
	os.WriteFile(bundle, []byte("["+string(one)+","+string(bad)+"]"), 0o644)
	if code, out, _ := runCLI(t, "verify", bundle, "--genesis", gen); code != exitFail || !strings.Contains(out, `broken link "producer_signature"`) {
		t.Fatalf("bundle with a forged producer signature: exit %d, %q", code, out)
	}
	os.WriteFile(bundle, []byte("[]"), 0o644)
	if code, _, _ := runCLI(t, "verify", bundle, "--genesis", gen); code == exitOK {
		t.Fatal("an empty bundle verified")
	}
}

// TestVerifyRawWithSpec: a raw record of a stream registered by
// transaction (testdata/raw, written by node/TestRegisteredRawStreamWithRules
// with DATADRAGON_RAW_FIXTURE set) verifies with the captured messages and
// the registered spec, and the answer says where the normalisation came
// from and names the chunk in words; without the spec or with a wrong one
// verify says what is wrong.
func TestVerifyRawWithSpec(t *testing.T) {
	dir := filepath.Join("testdata", "raw")
	rcpt, gen, spec, wrong := filepath.Join(dir, "receipt.json"), filepath.Join(dir, "genesis.json"), filepath.Join(dir, "spec.json"), filepath.Join(dir, "wrong-spec.json")
	// The messages as a subscriber captured them: a heartbeat among them.
	b, err := os.ReadFile(filepath.Join(dir, "captured.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	captured := filepath.Join(t.TempDir(), "captured.txt")
	os.WriteFile(captured, []byte(lines[0]+"{\"type\":\"heartbeat\",\"conn\":7}\n"+strings.Join(lines[1:], "")), 0o644)

	code, out, errOut := runCLI(t, "verify", rcpt, "--genesis", gen, "--data", captured, "--spec", spec)
	if code != exitOK || !strings.HasPrefix(out, "valid\n") {
		t.Fatalf("with the registered spec: exit %d, %q %q", code, out, errOut)
	}
	for _, want := range []string{"raw chunk ", ": position ", "of stream raw-rules", "messages after normalisation", "the next chunk begins with",
		"normalised as " + spec + " declares: that normalisation came from your spec, not from the genesis"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the answer does not say %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "verify", rcpt, "--genesis", gen)
	if code != exitOK || !strings.Contains(out, ": position ") || !strings.Contains(out, "its messages were not checked") {
		t.Fatalf("without data: exit %d, %q", code, out)
	}
	code, out, errOut = runCLI(t, "verify", rcpt, "--genesis", gen, "--data", captured)
	if code != exitFail || !strings.Contains(out, `broken link "data"`) || !strings.Contains(errOut, "registered by transaction") || !strings.Contains(errOut, "--spec") {
		t.Fatalf("without the spec: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "verify", rcpt, "--genesis", gen, "--data", captured, "--spec", wrong)
	if code != exitFail || !strings.Contains(out, `broken link "data"`) || !strings.Contains(errOut, "not the one stream raw-rules was registered with") {
		t.Fatalf("with a wrong spec: exit %d, %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "verify", rcpt, "--genesis", gen, "--spec", spec)
	if code == exitOK || !strings.Contains(errOut, "--data") {
		t.Fatalf("--spec without --data: exit %d, %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "verify", rcpt, "--genesis", gen, "--data", captured, "--spec", gen)
	if code == exitOK || !strings.Contains(errOut, "--spec "+gen) {
		t.Fatalf("a genesis given as the spec: exit %d, %q", code, errOut)
	}
}
