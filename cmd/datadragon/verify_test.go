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

	if code, _, _ = runCLI(t, "verify", rcpt); code != exitUsage {
		t.Fatalf("no --genesis: exit %d", code)
	}
	if code, _, _ = runCLI(t, "verify", "/nonexistent", "--genesis", gen); code != exitFail {
		t.Fatalf("missing file: exit %d", code)
	}
}
