// Command gen rebuilds the committed browser verifier: it compiles
// ../js for GOOS=js GOARCH=wasm, gzips it reproducibly (no name, no time)
// as verifier.wasm.gz, copies the Go release's wasm_exec.js beside it and
// writes verifier.stamp, the hash of the Go sources it was built from.
// Run it with 'go generate ./receipt/wasm'.
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/datadragon/datadragon/receipt/wasm/internal/stamp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "ddwasm")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "verifier.wasm")
	cmd := exec.Command("go", "build", "-tags", stamp.Tags, "-trimpath", "-ldflags=-s -w", "-o", out, "./js")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building the verifier: %w", err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile("verifier.wasm.gz", gz.Bytes(), 0o644); err != nil {
		return err
	}
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return err
	}
	var js []byte
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if js, err = os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), p)); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("the Go release's wasm_exec.js: %w", err)
	}
	if err := os.WriteFile("wasm_exec.js", js, 0o644); err != nil {
		return err
	}
	sum, err := stamp.Sources(".")
	if err != nil {
		return err
	}
	fmt.Printf("verifier.wasm.gz: %d bytes (%d uncompressed); sources %s\n", gz.Len(), len(raw), sum)
	return os.WriteFile("verifier.stamp", []byte(sum+"\n"), 0o644)
}
