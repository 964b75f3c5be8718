package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
)

// writeDDR writes the push fixture's file receipt as DIR/chunk.bin.ddr
// beside a copy of its data, and returns both paths and the genesis.
func writeDDR(t *testing.T) (string, string, string) {
	t.Helper()
	src := filepath.Join(fixtureDir, "push")
	raw, err := os.ReadFile(filepath.Join(src, "receipt.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ddr.From([]*receipt.Receipt{r}, ddr.Threshold{Numerator: 1, Denominator: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ddr.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, _ := os.ReadFile(filepath.Join(src, "data.bin"))
	file := filepath.Join(dir, "chunk.bin")
	os.WriteFile(file, data, 0o644)
	os.WriteFile(file+".ddr", b, 0o644)
	return file, file + ".ddr", filepath.Join(src, "genesis.json")
}

// TestVerifyDDR: verify finds the file beside its file receipt and says
// what the receipt proves; a changed byte of the file or of the receipt
// is invalid, naming the link; mistakes are answered in words.
func TestVerifyDDR(t *testing.T) {
	file, rcpt, gen := writeDDR(t)
	code, out, errOut := runCLI(t, "verify", rcpt, "--genesis", gen)
	if code != exitOK || !strings.HasPrefix(out, "valid\n") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"trusting:   the genesis " + gen, "SHA-256 ", "stream:     ", "data:       " + file + ", 262144 bytes: every byte lies in exactly one chunk",
		"verdict:    ok for every chunk", "timestamps: observed ", "attested:   every chunk by validators", "chunks:\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the answer lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := runCLI(t, "verify", rcpt, "--genesis", gen, "--require-ok"); code != exitOK {
		t.Errorf("--require-ok on an ok chunk: exit %d\n%s", code, out)
	}
	if _, out, _ := runCLI(t, "verify", rcpt, "--genesis", gen, "--no-data"); !strings.Contains(out, "data:       not checked") {
		t.Errorf("--no-data:\n%s", out)
	}

	// One byte of the file.
	data, _ := os.ReadFile(file)
	bad := bytes.Clone(data)
	bad[12345] ^= 1
	os.WriteFile(file, bad, 0o644)
	code, out, _ = runCLI(t, "verify", rcpt, "--genesis", gen)
	if code != exitFail || !strings.Contains(out, `invalid: broken link "data"`) {
		t.Errorf("one file byte changed: exit %d\n%s", code, out)
	}
	os.WriteFile(file, data, 0o644)

	// One byte of the receipt: a signature, a header, the commit.
	b, _ := os.ReadFile(rcpt)
	for at, links := range map[int][]string{len(b) - 5000: {"attestations", "producer_signature"}, 600: {"header", "commit", "block", "encoding"}} {
		c := bytes.Clone(b)
		c[at] ^= 1
		p := filepath.Join(t.TempDir(), "x.ddr")
		os.WriteFile(p, c, 0o644)
		code, out, errOut := runCLI(t, "verify", p, "--genesis", gen, "--data", file)
		ok := false
		for _, l := range links {
			ok = ok || strings.Contains(out, `broken link "`+l+`"`)
		}
		if code != exitFail || !ok {
			t.Errorf("receipt byte %d changed: exit %d, want one of %v\n%s%s", at, code, links, out, errOut)
		}
	}

	// Mistakes, in the user's words.
	dir := t.TempDir()
	apiErr := filepath.Join(dir, "err.ddr")
	os.WriteFile(apiErr, []byte(`{"error":"no receipt for uploads/7 yet"}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", apiErr, "--genesis", gen}, `is not a receipt: this is the node's error answer, saved instead of a receipt; the node said: "no receipt for uploads/7 yet"`},
		{[]string{"verify", rcpt, "--genesis", rcpt}, "is a file receipt, not a genesis"},
		{[]string{"verify", gen, "--genesis", rcpt}, "this is a genesis file; give the receipt first"},
		{[]string{"receipt", "show", filepath.Join(fixtureDir, "receipt.json")}, "is a chunk's JSON receipt, not a file receipt"},
		{[]string{"verify", file, "--genesis", gen}, "is the data, not a receipt: its receipt is " + rcpt},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code == exitOK || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr lacks %q:\n%s%s", tc.args, code, tc.want, out, errOut)
		}
	}
}

// TestReceiptPack: an observed record's JSON receipt packs into a file
// receipt under 80 KB that verifies; a receipt that does not verify is
// not packed.
func TestReceiptPack(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.ddr")
	rc, gen := filepath.Join(fixtureDir, "receipt.json"), filepath.Join(fixtureDir, "genesis.json")
	code, so, se := runCLI(t, "receipt", "pack", "--genesis", gen, "-o", out, rc)
	if code != exitOK || !strings.Contains(so, "1 record(s), 3 signature(s)") {
		t.Fatalf("pack: exit %d\n%s%s", code, so, se)
	}
	if st, err := os.Stat(out); err != nil || st.Size() > 80_000 {
		t.Errorf("the packed observed record: %v, %d bytes", err, st.Size())
	}
	if code, so, se := runCLI(t, "verify", out, "--genesis", gen, "--data", filepath.Join(fixtureDir, "data.json")); code != exitOK || !strings.HasPrefix(so, "valid\n") {
		t.Errorf("verify the packed receipt: exit %d\n%s%s", code, so, se)
	}
	other := filepath.Join(fixtureDir, "push", "genesis.json")
	if code, _, se := runCLI(t, "receipt", "pack", "--genesis", other, "-o", filepath.Join(dir, "x.ddr"), rc); code == exitOK || !strings.Contains(se, "does not verify, so it is not packed") {
		t.Errorf("packing against another genesis: exit %d\n%s", code, se)
	}
}

// TestReceiptVerifierCommand: 'receipt verifier' writes the standalone
// page, with the compiled verifier in it.
func TestReceiptVerifierCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "receipt", "verifier")
	if code != exitOK || !strings.HasPrefix(out, "<!doctype html>") || !strings.Contains(out, `id="verifier"`) || len(out) < 1<<20 {
		t.Fatalf("exit %d, %d bytes: %s", code, len(out), errOut)
	}
	if code, _, errOut := runCLI(t, "receipt", "verifier", "extra"); code != exitUsage {
		t.Errorf("an argument: exit %d %s", code, errOut)
	}
}
