package wasm

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestStandalonePageOffline opens the page 'datadragon receipt verifier'
// writes from file://, with every network request blocked, and verifies
// the multi-chunk file receipt with its file (valid), then the same
// receipt against a file with one byte changed (broken data link) and a
// JSON receipt against the pinned genesis of another chain. It logs the
// time the check of each receipt took in headless Chromium.
func TestStandalonePageOffline(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	if testing.Short() {
		t.Skip("-short: skipping the browser test")
	}
	dir := t.TempDir()
	var page bytes.Buffer
	if err := Page(&page); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "verify.html")
	os.WriteFile(html, page.Bytes(), 0o644)
	fx, _ := filepath.Abs("../ddr/testdata/file")
	data, _ := os.ReadFile(filepath.Join(fx, "data.bin"))
	data[777] ^= 1
	bad := filepath.Join(dir, "data.bin")
	os.WriteFile(bad, data, 0o644)

	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true))
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	must("network", err)
	_, err = chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{
		{URLPattern: "*://*:*/*", Block: true}}})
	must("blocking requests", err)
	must("opening the page", chromedp.Do(ctx, chromedp.Navigate("file://"+html)))
	wait := func(what, expr string) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
				t.Fatalf("%s: %s still false (%v); the page shows:\n%s", what, expr, err, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	text := func(sel string) string {
		s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("`+sel+`") || {}).textContent || ""`))
		return s
	}
	files := func(sel string, p ...string) {
		t.Helper()
		must("choosing "+sel, chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(sel), p)))
	}
	verify := func() {
		t.Helper()
		must("verify", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("result").replaceChildren(); document.getElementById("go").click()`)))
		wait("an answer", `!!document.querySelector("#result .dd-result")`)
		t.Logf("answer: %s", text("#result .dd-head"))
		t.Logf("%s", text("#result .dd-time"))
	}
	wait("the verifier to load", `!document.getElementById("go").disabled`)

	files("#receipt", filepath.Join(fx, "data.bin.ddr"))
	files("#genesis", filepath.Join(fx, "genesis.json"))
	files("#data", filepath.Join(fx, "data.bin"))
	verify()
	if s := text("#result"); !strings.Contains(s, "valid — file receipt of 7 chunks") || !strings.Contains(s, "every byte lies in exactly one chunk") ||
		!strings.Contains(s, "verdict: ok for every chunk") || !strings.Contains(s, "trusting the genesis genesis.json of chain dd-push, SHA-256 ") {
		t.Errorf("the valid answer:\n%s", s)
	}
	if s := text("#pinned"); !strings.Contains(s, "Pinned genesis: genesis.json (chain dd-push") {
		t.Errorf("the genesis is not pinned: %q", s)
	}
	// Verify time per receipt, warm: the same check four more times.
	for range 4 {
		verify()
	}

	// One byte of the file changed, the genesis now the pinned one.
	must("clearing the genesis", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("genesis").value = ""`)))
	files("#data", bad)
	verify()
	if s := text("#result .dd-result"); !strings.Contains(s, "invalid: broken link “data”") || !strings.Contains(s, "(pinned)") {
		t.Errorf("one file byte changed:\n%s", s)
	}

	// A chunk's JSON receipt of another chain, against the pinned genesis.
	must("clearing the data", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("data").value = ""`)))
	jr, _ := filepath.Abs("../testdata/receipt.json")
	files("#receipt", jr)
	verify()
	if s := text("#result .dd-result"); !strings.Contains(s, "invalid: broken link “chain_id”") {
		t.Errorf("another chain's receipt:\n%s", s)
	}
}
