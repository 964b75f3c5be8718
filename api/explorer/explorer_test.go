package explorer

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func serve(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, req)
	return w
}

func TestExplorerContentTypes(t *testing.T) {
	want := map[string]string{
		"/":                     "text/html; charset=utf-8",
		"/explorer/app.js":      "text/javascript; charset=utf-8",
		"/explorer/app.css":     "text/css; charset=utf-8",
		"/explorer/favicon.svg": "image/svg+xml",
		// The browser receipt verifier (package receipt/wasm).
		"/explorer/verifier.wasm.gz": "application/gzip",
		"/explorer/wasm_exec.js":     "text/javascript; charset=utf-8",
		"/explorer/ddverify.js":      "text/javascript; charset=utf-8",
	}
	files := Files()
	slices.Sort(files)
	var wantFiles []string
	for p := range want {
		wantFiles = append(wantFiles, p)
	}
	slices.Sort(wantFiles)
	if !slices.Equal(files, wantFiles) {
		t.Errorf("embedded files %v, want %v (add new files to this test)", files, wantFiles)
	}
	for p, ct := range want {
		w := serve(http.MethodGet, p, nil)
		if w.Code != 200 || w.Header().Get("Content-Type") != ct || w.Body.Len() == 0 {
			t.Errorf("GET %s: %d %q, %d bytes; want 200 %q", p, w.Code, w.Header().Get("Content-Type"), w.Body.Len(), ct)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "ETag"} {
			if w.Header().Get(h) == "" {
				t.Errorf("GET %s: no %s", p, h)
			}
		}
		// Revalidation answers 304.
		if w2 := serve(http.MethodGet, p, map[string]string{"If-None-Match": w.Header().Get("ETag")}); w2.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", p, w2.Code)
		}
		if w2 := serve(http.MethodHead, p, nil); w2.Code != 200 || w2.Body.Len() != 0 {
			t.Errorf("HEAD %s: %d, %d bytes", p, w2.Code, w2.Body.Len())
		}
	}
	for _, p := range []string{"/explorer/", "/explorer/nope.js", "/index.html", "/explorer/../app.js", "/static/app.js"} {
		if w := serve(http.MethodGet, p, nil); w.Code != 404 {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
}

// namespaces are XML namespace names, identifiers that are never fetched.
var namespaces = []string{"http://www.w3.org/2000/svg",
	"https://github.com/golang/go/issues/28975", // a comment in Go's wasm_exec.js
}

var (
	attrRef = regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*"([^"]*)"`)
	jsPath  = regexp.MustCompile(`"(/explorer/[^"]*)"`)
	cssURL  = regexp.MustCompile(`(?i)url\(|@import`)
)

// TestExplorerSelfContained: nothing the explorer serves points outside the node.
// The page's src and href attributes name embedded files, API routes or
// fragments; the script names no asset that is not embedded; no file
// holds an http(s):// URL or a protocol-relative one, and the CSS loads
// nothing.
func TestExplorerSelfContained(t *testing.T) {
	files := Files()
	for _, p := range files {
		if strings.HasSuffix(p, ".gz") {
			continue // the compiled verifier: binary, loads nothing
		}
		b, _ := Content(p)
		s := string(b)
		for _, ns := range namespaces {
			s = strings.ReplaceAll(s, ns, "")
		}
		low := strings.ToLower(s)
		for _, bad := range []string{"http://", "https://", `"//`, `'//`, "src=//", "href=//"} {
			if strings.Contains(low, bad) {
				t.Errorf("%s contains %q: the explorer must load nothing from elsewhere", p, bad)
			}
		}
		switch {
		case strings.HasSuffix(p, ".css"):
			if cssURL.MatchString(s) {
				t.Errorf("%s loads a resource (url() or @import)", p)
			}
		case strings.HasSuffix(p, ".js"):
			for _, m := range jsPath.FindAllStringSubmatch(s, -1) {
				if !slices.Contains(files, m[1]) {
					t.Errorf("%s names %s, which is not embedded", p, m[1])
				}
			}
		case p == "/":
			refs := attrRef.FindAllStringSubmatch(s, -1)
			if len(refs) < 4 {
				t.Fatalf("the page references only %d files: %v", len(refs), refs)
			}
			for _, m := range refs {
				ref := m[1]
				switch {
				case strings.HasPrefix(ref, "#"), ref == "/v1":
				case strings.HasPrefix(ref, Prefix):
					if !slices.Contains(files, ref) {
						t.Errorf("the page references %s, which is not embedded", ref)
					}
				default:
					t.Errorf("the page references %q, neither embedded nor an API route", ref)
				}
			}
		}
	}
}
