package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFetchConfig: api_url, peer_apis and fetch_window are read as
// written, and a value no fetch could use is refused at start with the
// field named.
func TestFetchConfig(t *testing.T) {
	load := func(extra string) (*Config, error) {
		home := t.TempDir()
		js := `{"moniker":"v0","p2p_listen":"127.0.0.1:1","peers":[],"commit_timeout":"100ms"` + extra + `}`
		if err := os.WriteFile(filepath.Join(home, NodeFile), []byte(js), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(home)
	}
	c, err := load(`,"api_url":"https://node1.example:8443/","peer_apis":["http://10.0.0.2:8080"],"fetch_window":"45s"`)
	if err != nil {
		t.Fatal(err)
	}
	if c.publicURL() != "https://node1.example:8443" || len(c.PeerAPIs) != 1 || time.Duration(c.FetchWindow) != 45*time.Second {
		t.Fatalf("read %q %v %v", c.publicURL(), c.PeerAPIs, c.FetchWindow)
	}
	many := `,"peer_apis":[` + strings.Repeat(`"http://h:1",`, maxPeerAPIs) + `"http://h:1"]`
	for _, tc := range []struct{ json, want string }{
		{`,"api_url":"node1:8080"`, `api_url "node1:8080"`},
		{`,"api_url":"ftp://node1"`, `api_url "ftp://node1"`},
		{`,"api_url":"http://"`, `api_url "http://"`},
		{`,"peer_apis":["http://ok:1","://bad"]`, `peer_apis entry "://bad"`},
		{`,"peer_apis":["http://h:1/?x=1"]`, `peer_apis entry`},
		{many, `peer_apis lists 65 URLs, at most 64`},
		{`,"fetch_window":"10ms"`, `fetch_window must lie between 1s and 10m`},
		{`,"fetch_window":"1h"`, `fetch_window must lie between 1s and 10m`},
		{`,"fetch_window":"-1s"`, `fetch_window must lie between 1s and 10m`},
	} {
		_, err := load(tc.json)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.json, err, tc.want)
		}
	}
}
