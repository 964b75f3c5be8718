// Package explorer is the DataDragon explorer: a single-page web UI
// served by every node next to its HTTP API, with no server-side routes
// of its own. Its HTML, CSS, JavaScript and icon are embedded in the
// binary (go:embed), reference nothing outside it and need no network
// beyond the node itself: it works offline and behind a firewall.
//
// Handler serves the page at "/" and its assets under "/explorer/"; the
// page reads the node's JSON API (/v1/...) and its WebSocket feed from
// the same origin and routes by the URL fragment (#/streams/ID,
// #/records/STREAM/INDEX, #/blocks/HEIGHT), so a link to any view works
// without the server knowing the views.
package explorer

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/datadragon/datadragon/receipt/wasm"
)

//go:embed static
var static embed.FS

// Prefix is where the assets are served.
const Prefix = "/explorer/"

// contentTypes are the types of the embedded files, set explicitly so
// they do not depend on the host's MIME tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".gz":   "application/gzip", // the compiled verifier, inflated by the page itself
}

// CSP is the Content-Security-Policy of every explorer response: the page
// may load and connect to its own origin only, and runs no inline script
// or style; it may compile WebAssembly, the receipt verifier it runs.
const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type asset struct {
	data  []byte
	ctype string
	etag  string
}

// Files lists the embedded files by the path they are served at.
func Files() []string {
	var out []string
	fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, servedPath(p))
		}
		return nil
	})
	for p := range verifierFiles {
		out = append(out, p)
	}
	return out
}

// Content returns the embedded file served at p ("/" for the page).
func Content(p string) ([]byte, bool) {
	a, ok := loaded[p]
	return a.data, ok
}

func servedPath(p string) string {
	rel := strings.TrimPrefix(p, "static/")
	if rel == "index.html" {
		return "/"
	}
	return Prefix + rel
}

// verifierFiles are the browser receipt verifier's files (package
// receipt/wasm), which the verify and upload pages run: a receipt is
// checked in the page, not by asking this node.
var verifierFiles = map[string][]byte{
	Prefix + "verifier.wasm.gz": wasm.VerifierGz,
	Prefix + "wasm_exec.js":     wasm.ExecJS,
	Prefix + "ddverify.js":      wasm.DDVerifyJS,
}

// loaded holds the embedded files by served path, with their types and
// ETags.
var loaded = load()

func load() map[string]asset {
	m := map[string]asset{}
	fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(b)
		ct := contentTypes[path.Ext(p)]
		if ct == "" {
			ct = "application/octet-stream"
		}
		m[servedPath(p)] = asset{data: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	for p, b := range verifierFiles {
		sum := sha256.Sum256(b)
		ct := contentTypes[path.Ext(p)]
		if ct == "" {
			ct = "application/octet-stream"
		}
		m[p] = asset{data: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return m
}

// Handler serves the page at "/" and the assets under Prefix; anything
// else is 404. GET and HEAD only (the caller checks the method). Responses
// carry an ETag and "Cache-Control: no-cache", so browsers revalidate and
// get 304 until the node is upgraded.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := loaded[r.URL.Path]
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("Referrer-Policy", "no-referrer")
		if !ok {
			hd.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("404: no such explorer file; the explorer is at /\n"))
			return
		}
		hd.Set("Content-Type", a.ctype)
		hd.Set("Cache-Control", "no-cache")
		hd.Set("ETag", a.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
	})
}
