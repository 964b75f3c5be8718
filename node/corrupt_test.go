package node

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
)

// A validator's app.db goes bad under it: its background scrub finds the
// damage, /healthz and reads answer 503 naming the file and what to do;
// it then refuses to start on the file, and recovers both ways the
// message says (the file moved aside and the whole chain replayed from its
// block store; a backup put back and the blocks after it replayed) with
// the network's app hash.
func TestDamagedStateIsDetectedRefusedAndRebuilt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	net := startNet(t, 4, 31300, 20, 400, nil)
	home := net.members[3].Home
	net.stop(3)
	cfg, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	const api = "127.0.0.1:31390"
	cfg.API = api
	cfg.ScrubInterval = Duration(time.Second)
	if err := cfg.Save(home); err != nil {
		t.Fatal(err)
	}
	// A backup of the file, taken while the node is stopped.
	path := filepath.Join(home, "data", "app", "app.db")
	backup, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	net.start(3)
	// Blocks bucket pages of old heights are never rewritten: by height 30,
	// block 3's lies in a page no commit touches.
	// The damage must meet the validator in consensus, not in block sync:
	// CometBFT's block sync panics (ending the whole process) on an app
	// error, where consensus stops the node alone.
	net.waitForIn("height 30, caught up", 3*time.Minute, func() bool {
		return net.nodes[3].Height() >= 30 && net.accepted(3) >= 3 && !net.nodes[3].cmt.ConsensusReactor().WaitSync()
	})

	// One bit of block 3's app hash, in every copy in the file (copies in
	// freed pages are harmless).
	bi, err := net.nodes[0].App().Block(3)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	copies := 0
	for i := bytes.Index(raw, bi.AppHash); i >= 0; {
		copies++
		f.WriteAt([]byte{raw[i+5] ^ 0x04}, int64(i+5))
		j := bytes.Index(raw[i+1:], bi.AppHash)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	f.Close()
	if copies == 0 {
		t.Fatal("block 3's app hash is not in the file")
	}

	get := func(p string) (int, string) {
		resp, err := http.Get("http://" + api + p)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	net.waitFor("the scrub to find the damage and /healthz to say so", func() bool {
		code, body := get("/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"damaged":true`)
	})
	for _, p := range []string{"/healthz", "/v1/streams/sensors/records", "/v1/records/sensors/1", "/v1/status"} {
		code, body := get(p)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, path) || !strings.Contains(body, "move the file aside") {
			t.Fatalf("GET %s on damaged state: %d %s", p, code, body)
		}
	}
	net.stop(3)

	// It will not start on the damaged file.
	if nd, err := Open(home, Options{}); err == nil {
		nd.Stop()
		t.Fatal("the node opened a damaged state file")
	} else if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "is corrupt") || !strings.Contains(msg, app.CorruptAdvice) {
		t.Fatalf("opening damaged state: %v", err)
	}

	// Recovery as the message says, both ways: the file moved aside (the
	// whole chain replayed), then the backup put back (the blocks after
	// it replayed).
	if err := os.Rename(path, path+".damaged"); err != nil {
		t.Fatal(err)
	}
	rejoins := func(how string) {
		net.start(3)
		target := net.nodes[0].Height()
		net.waitForIn(how+": the state to reach the network's height", 3*time.Minute, func() bool {
			st, err := net.nodes[3].App().Status()
			return err == nil && st.Height >= target
		})
		a, err := net.nodes[0].App().Block(target)
		if err != nil {
			t.Fatal(err)
		}
		b, err := net.nodes[3].App().Block(target)
		if err != nil {
			t.Fatal(err)
		}
		if a.AppHash.String() != b.AppHash.String() {
			t.Fatalf("%s: app hash at height %d: %s, rebuilt %s", how, target, a.AppHash, b.AppHash)
		}
		if code, body := get("/healthz"); code != http.StatusOK {
			t.Fatalf("%s: healthz: %d %s", how, code, body)
		}
	}
	rejoins("file moved aside")
	net.stop(3)
	if err := os.WriteFile(path, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	rejoins("backup put back")
	r, err := net.nodes[3].App().Record("sensors", 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := expectedDigest(t, "sensors", 1, 20, 400); r.Status != "accepted" || r.Digest != want.String() {
		t.Fatalf("rebuilt sensors/1: %s %s, want accepted %s", r.Status, r.Digest, want)
	}
}

func TestScrubIntervalSetting(t *testing.T) {
	cfg := &Config{Moniker: "n", P2PListen: "127.0.0.1:1"}
	if err := cfg.validate(); err != nil || cfg.scrubInterval() != DefaultScrubInterval {
		t.Fatalf("absent scrub_interval: %v, %v", err, cfg.scrubInterval())
	}
	cfg.ScrubInterval = Duration(90 * time.Minute)
	if err := cfg.validate(); err != nil || cfg.scrubInterval() != 90*time.Minute {
		t.Fatalf("scrub_interval 90m: %v, %v", err, cfg.scrubInterval())
	}
	for _, bad := range []time.Duration{-time.Second, 500 * time.Millisecond} {
		cfg.ScrubInterval = Duration(bad)
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "scrub_interval") {
			t.Fatalf("scrub_interval %v: %v", bad, err)
		}
	}
}
