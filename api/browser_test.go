package api

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

// TestExplorerBrowser drives headless Chromium against the explorer over
// the fixture: the dashboard shows the four validators and a height that
// follows the chain, a stream's live feed shows a record as the feed
// publishes it, a record page shows the attestations table and the
// majority analysis, the blocks view navigates; the screenshots are not
// blank, keyboard focus survives redraws and follows links, and the page
// logs no error to the console. Screenshots go to
// $DATADRAGON_SCREENSHOTS when set (else a temporary directory).
func TestExplorerBrowser(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium); skipping the explorer's browser test")
	}
	if testing.Short() {
		t.Skip("-short: skipping the explorer's browser test")
	}
	a := newTestAPI(t, nil)
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	defer a.h.Feed().Close()

	shots := os.Getenv("DATADRAGON_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}

	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900))
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()

	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		var p string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p = "console." + string(e.Type) + ": " + strings.Join(args, " ")
			}
		case *runtime.EventExceptionThrown:
			p = "uncaught exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				p += " " + e.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				p = fmt.Sprintf("log error (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = chromedp.Call(ctx, runtime.Enable, cdp.Empty{})
	step("Runtime.enable", err)
	_, err = chromedp.Call(ctx, cdplog.Enable, cdp.Empty{})
	step("Log.enable", err)

	// waitFor polls a JavaScript boolean expression until it is true.
	waitFor := func(what, expr string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("main").innerText`))
				t.Fatalf("%s: %s still false after 10 s (err %v); the page shows:\n%s", what, expr, err, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)))
		step("reading "+sel, err)
		return s
	}
	screenshot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		step("screenshot "+name, err)
		img, err := png.Decode(bytes.NewReader(b))
		step("decoding screenshot "+name, err)
		if n := colours(img); n < 16 {
			t.Errorf("screenshot %s looks blank: %d distinct colours", name, n)
		}
		p := filepath.Join(shots, "explorer-"+name+".png")
		step("saving screenshot", os.WriteFile(p, b, 0o644))
		t.Logf("screenshot %s", p)
	}
	hash := func(h string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, h)))
		step("navigating to "+h, err)
	}

	// Dashboard: four validators, the height, and the height following the chain.
	step("loading the dashboard", chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")))
	waitFor("validators table", `document.querySelectorAll("#validators tbody tr").length === 4`)
	waitFor("height", `(document.getElementById("height") || {}).textContent === "300"`)
	for _, name := range fixtureNames {
		if !strings.Contains(text("#validators"), name) {
			t.Errorf("the validators table does not name %s", name)
		}
	}
	a.fake.mu.Lock()
	a.fake.status.Height = 301
	b := *a.fake.blocks[300]
	b.Height = 301
	a.fake.blocks[301] = &b
	a.fake.mu.Unlock()
	waitFor("height grows", `document.getElementById("height").textContent === "301"`)
	waitFor("block rate", `/\/s$/.test(document.getElementById("block-rate").textContent)`)
	waitFor("streams table", `document.querySelectorAll("#streams tbody tr").length === 2 && document.querySelectorAll("#streams canvas").length === 2`)
	screenshot("dashboard")

	// Keyboard: focus survives the dashboard's redraws, Enter follows a
	// link, and the new view's heading takes the focus.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('#streams a[href="#/streams/sensor"]').focus()`))
	step("focusing a stream link", err)
	time.Sleep(1200 * time.Millisecond) // at least one redraw
	waitFor("focus kept across redraws", `document.activeElement.getAttribute("href") === "#/streams/sensor"`)
	step("pressing Enter", chromedp.Do(ctx, chromedp.KeyEvent("\r")))
	waitFor("Enter follows the link", `location.hash === "#/streams/sensor"`)
	waitFor("heading focused", `document.activeElement.tagName === "H1"`)

	// Stream view: the newest page, then a record pushed by the live feed.
	waitFor("stream records", `document.querySelectorAll("#records tbody tr").length === 50`)
	waitFor("feed connected", `document.getElementById("feed-mode").textContent.startsWith("live")`)
	if first := text("#records tbody tr td"); first != "249" {
		t.Errorf("newest record listed first is %q, want 249", first)
	}
	a.h.Feed().Publish(app.CommitSummary{Height: 302, AppHash: []byte{1}, Records: []*wire.Record{wireRecord("sensor", 250, false)}})
	waitFor("fed record", `document.querySelector("#records tbody tr td").textContent === "250"`)

	// Record view: the validation results and the majority analysis.
	hash("#/records/sensor/3")
	waitFor("attestations table", `document.querySelectorAll("#attestations tbody tr").length === 4`)
	att := text("#attestations tbody")
	for _, want := range []string{"node0", "node3", "agreed", "faulty", "valid"} {
		if !strings.Contains(att, want) {
			t.Errorf("attestations table lacks %q: %s", want, att)
		}
	}
	if v, f := text("#count-valid"), text("#count-faulty"); v != "3" || f != "1" {
		t.Errorf("analysis counts valid %q faulty %q, want 3 and 1", v, f)
	}
	if s := text("#analysis"); !strings.Contains(s, "30 of 40") {
		t.Errorf("analysis %q", s)
	}
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("receipt").getAttribute("href")`))
	step("receipt link", err)
	if href != "/v1/receipts/sensor/3" {
		t.Errorf("receipt link %q", href)
	}
	screenshot("record")

	// Blocks: a block's decisions link to records, and next/previous navigate.
	hash("#/blocks/5")
	waitFor("block 5", `!!document.querySelector('a[href="#/records/sensor/2"]')`)
	_, err = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("next-block").click()`))
	step("next block", err)
	waitFor("block 6", `location.hash === "#/blocks/6" && document.getElementById("block-height").textContent === "Height 6"`)
	hash("#/blocks/latest")
	waitFor("latest block", `/^Height 30[01]$/.test((document.getElementById("block-height") || {}).textContent)`)

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
}

// colours counts the distinct colours of an image, up to 1000.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, al := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, al}] = true
			if len(seen) >= 1000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}
