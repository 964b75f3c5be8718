package node

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/gateway"
)

// TestGatewayRetentionConfig: node.json's gateway_retention reaches the
// gateway as written, and careless or hostile values are refused with the
// entry named and what to write instead.
func TestGatewayRetentionConfig(t *testing.T) {
	load := func(retention string) (*Config, error) {
		home := t.TempDir()
		js := `{"moniker":"v0","p2p_listen":"127.0.0.1:1","peers":[],"commit_timeout":"100ms"` + retention + `}`
		if err := os.WriteFile(filepath.Join(home, NodeFile), []byte(js), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(home)
	}
	c, err := load("")
	if err != nil || c.gatewayRetention() != nil {
		t.Fatalf("no gateway_retention: %v, %v; want every object kept", err, c.gatewayRetention())
	}
	c, err = load(`,"gateway_retention":{"uploads":{"max_age":"720h"},"*":{"max_bytes":10737418240,"max_age":"2160h"}}`)
	if err != nil {
		t.Fatal(err)
	}
	got := c.gatewayRetention()
	if got["uploads"] != (gateway.Retention{MaxAge: 720 * time.Hour}) || got["*"] != (gateway.Retention{MaxAge: 2160 * time.Hour, MaxBytes: 10 << 30}) {
		t.Fatalf("gateway retention %v", got)
	}
	many := `,"gateway_retention":{`
	for i := range 1001 {
		if i > 0 {
			many += ","
		}
		many += `"s` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `-` + strconv.Itoa(i) + `":{"max_age":"1h"}`
	}
	many += "}"
	for _, tc := range []struct{ json, want string }{
		{`,"gateway_retention":{"uploads":{}}`, `gateway_retention["uploads"] sets neither max_age nor max_bytes`},
		{`,"gateway_retention":{"uploads":{"max_age":"5s"}}`, `max_age 5s is below 1m`},
		{`,"gateway_retention":{"uploads":{"max_age":"-1h"}}`, `max_age -1h0m0s is below 1m`},
		{`,"gateway_retention":{"uploads":{"max_age":"forever"}}`, `invalid duration "forever"`},
		{`,"gateway_retention":{"uploads":{"max_age":"1000000h"}}`, `more than 100 years`},
		{`,"gateway_retention":{"uploads":{"max_bytes":-5}}`, `max_bytes -5 is below 1048576`},
		{`,"gateway_retention":{"uploads":{"max_bytes":1000}}`, `max_bytes 1000 is below 1048576, one chunk's data`},
		{`,"gateway_retention":{"uploads":{"max_bytes":1e30}}`, `cannot unmarshal number 1e30`},
		{`,"gateway_retention":{"uploads":{"max_bytes":"10GiB"}}`, `cannot unmarshal string`},
		{`,"gateway_retention":{"uploads":{"max_days":30}}`, `unknown field "max_days"`},
		{`,"gateway_retention":{"../etc":{"max_age":"1h"}}`, `gateway_retention["../etc"]`},
		{`,"gateway_retention":{"":{"max_age":"1h"}}`, `gateway_retention[""]`},
		{many, `gateway_retention has 1001 entries, more than 1000`},
	} {
		if _, err := load(tc.json); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.80s: %v, want an error saying %q", tc.json, err, tc.want)
		}
	}
}
