// Package stamp hashes the Go sources the browser verifier is built from,
// so that a test can tell when the committed verifier.wasm.gz is stale.
package stamp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Tags are the build tags of the browser build: curve25519-voi needs to
// be told the word size it has no file for under GOARCH=wasm.
const Tags = "force64bit"

// Module is the module whose packages count as the verifier's sources;
// the others are fixed by go.sum, which is hashed too.
const Module = "github.com/datadragon/datadragon"

// Sources returns the hash of the verifier's sources: every Go file of
// this module's packages that the GOOS=js build of dir/js links, by path
// relative to the module and content, and go.sum.
func Sources(dir string) (string, error) {
	cmd := exec.Command("go", "list", "-tags", Tags, "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \" \"}}\t{{if .Module}}{{.Module.Dir}}{{end}}", "./js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list: %v: %s", err, errb.String())
	}
	var files []string
	var modDir string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || !(f[0] == Module || strings.HasPrefix(f[0], Module+"/")) {
			continue
		}
		modDir = f[3]
		for _, g := range strings.Fields(f[2]) {
			files = append(files, filepath.Join(f[1], g))
		}
	}
	if modDir == "" {
		return "", fmt.Errorf("go list found no package of %s", Module)
	}
	files = append(files, filepath.Join(modDir, "go.sum"))
	sort.Strings(files)
	h := sha256.New()
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(modDir, p)
		fmt.Fprintf(h, "%s\n%d\n", filepath.ToSlash(rel), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
