package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/api/explorer"
)

// TestExplorerMounted: New serves the explorer at "/" and its assets under
// /explorer/, with their content types, while the API and its JSON 404s
// are unchanged.
func TestExplorerMounted(t *testing.T) {
	a := newTestAPI(t, nil)
	for _, p := range explorer.Files() {
		code, body, hd := a.do(http.MethodGet, p, nil)
		want, _ := explorer.Content(p)
		if code != 200 || string(body) != string(want) {
			t.Errorf("GET %s: %d, %d bytes", p, code, len(body))
		}
		if ct := hd.Get("Content-Type"); ct == "" || strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/octet-stream") {
			t.Errorf("GET %s: content type %q", p, ct)
		}
	}
	if _, _, hd := a.do(http.MethodGet, "/", nil); hd.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("GET /: %q", hd.Get("Content-Type"))
	}
	if code, _, hd := a.do(http.MethodPost, "/", nil); code != http.StatusMethodNotAllowed || hd.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d %q", code, hd.Get("Allow"))
	}
	if code, _, _ := a.do(http.MethodGet, "/explorer/missing.js", nil); code != 404 {
		t.Errorf("GET /explorer/missing.js: %d", code)
	}
	for _, target := range []string{"/index.html", "/v2/status", "/favicon.ico"} {
		if e := a.get(target, 404); !strings.Contains(e["error"].(string), "GET /v1") {
			t.Errorf("%s: %v", target, e)
		}
	}
	a.get("/v1/status", 200)
}
