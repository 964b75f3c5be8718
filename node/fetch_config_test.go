package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFetchConfig: api_url, peer_apis and fetch_window are read as
// written, and a value no fetch could use is refused at start, naming
// what to write instead.
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
	many := `,"peer_apis":[` + strings.Repeat(`"http://h:1",`, 64) + `"http://h:1"]`
	for _, tc := range []struct{ json, want string }{
		{`,"api_url":"node1:8080"`, `write a base URL`},
		{`,"api_url":"ftp://node1"`, `write a base URL`},
		{`,"peer_apis":["http://ok:1","://bad"]`, `write a base URL`},
		{many, `peer_apis lists more than 64 URLs`},
		{`,"fetch_window":"10ms"`, `fetch_window must lie between 1s and 1h`},
		{`,"fetch_window":"2h"`, `fetch_window must lie between 1s and 1h`},
		{`,"fetch_window":"-1s"`, `fetch_window must lie between 1s and 1h`},
	} {
		_, err := load(tc.json)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.json, err, tc.want)
		}
	}
}
