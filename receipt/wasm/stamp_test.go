package wasm

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/receipt/wasm/internal/stamp"
)

// TestCompiledVerifierIsCurrent: the committed verifier.wasm.gz was built
// from the sources as they are (verifier.stamp holds their hash): a
// change to the verifier's Go code without 'go generate ./receipt/wasm'
// fails here, so the browser never runs older code than the CLI.
func TestCompiledVerifierIsCurrent(t *testing.T) {
	want, err := os.ReadFile("verifier.stamp")
	if err != nil {
		t.Fatal(err)
	}
	got, err := stamp.Sources(".")
	if err != nil {
		t.Fatal(err)
	}
	if got != strings.TrimSpace(string(want)) {
		t.Fatalf("verifier.wasm.gz is stale: its sources hash to %s, it was built from %s; run 'go generate ./receipt/wasm' and commit the result", got, want)
	}
	zr, err := gzip.NewReader(bytes.NewReader(VerifierGz))
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(zr, head); err != nil || string(head) != "\x00asm" {
		t.Fatalf("verifier.wasm.gz does not hold a WebAssembly module: %q %v", head, err)
	}
}

// TestPage: the standalone page holds everything it runs and loads
// nothing from elsewhere.
func TestPage(t *testing.T) {
	var b bytes.Buffer
	if err := Page(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, bad := range []string{"src=", "href=", "http://", "https://"} {
		if i := strings.Index(s, bad); i >= 0 && !strings.Contains(string(ExecJS), bad) {
			t.Errorf("the page refers outside itself: %q at %d", s[max(0, i-40):i+40], i)
		}
	}
	if !strings.Contains(s, "datadragonVerify") || !strings.Contains(s, "DDVerify") || !strings.Contains(s, `id="verifier"`) {
		t.Error("the page lacks the verifier or its script")
	}
}
