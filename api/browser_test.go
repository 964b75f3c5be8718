package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
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
	bin := chromiumOrSkip(t)
	a := newTestAPI(t, func(c *Config) {
		c.SourceStatus = func() map[string]string {
			return map[string]string{"ticker": "the source is at seq 3, behind seq 90 that this node waits for"}
		}
	})
	a.fake.setLastAttestations(time.Now(), 5*time.Second)
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	defer a.h.Feed().Close()
	b := newBrowser(t, bin)
	ctx, step, waitFor, text, screenshot, hash := b.ctx, b.step, b.waitFor, b.text, b.screenshot, b.hash
	var err error

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
	blk := *a.fake.blocks[300]
	blk.Height = 301
	a.fake.blocks[301] = &blk
	a.fake.mu.Unlock()
	waitFor("height grows", `document.getElementById("height").textContent === "301"`)
	waitFor("block rate", `/\/s$/.test(document.getElementById("block-rate").textContent)`)
	waitFor("streams table", `document.querySelectorAll("#streams tbody tr").length === 2 && document.querySelectorAll("#streams canvas").length === 2`)
	// Each validator's last attestation links to its record, with its age;
	// streams show their mode.
	waitFor("last attestations", `document.querySelectorAll('#validators td.last-att a[href="#/records/sensor/249"]').length === 4`)
	if la := text("#validators td.last-att"); !regexp.MustCompile(`^sensor/249 \d+s ago$`).MatchString(la) {
		t.Errorf("last attestation cell %q, want sensor/249 and about 5s ago", la)
	}
	if s := text("#streams tbody"); strings.Count(s, "observe") != 2 {
		t.Errorf("the streams table does not show both streams' mode: %s", s)
	}
	// What the node says is wrong with a stream's source shows beside it.
	waitFor("source trouble", `[...document.querySelectorAll("#streams tbody th .badge.warn")].map((b) => b.title).join("|").includes("behind seq 90")`)
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

	b.checkConsole(nil)
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

// chromiumOrSkip returns chromium's path, or skips the test.
func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium); skipping the explorer's browser test")
	}
	if testing.Short() {
		t.Skip("-short: skipping the explorer's browser test")
	}
	return bin
}

// browser is a headless Chromium tab that records console errors,
// uncaught exceptions and error log entries. Screenshots go to
// $DATADRAGON_SCREENSHOTS when set (else a temporary directory).
type browser struct {
	t        *testing.T
	ctx      context.Context
	shots    string
	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	b := &browser{t: t, shots: os.Getenv("DATADRAGON_SCREENSHOTS")}
	if b.shots == "" {
		b.shots = t.TempDir()
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900))
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b.ctx = ctx
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
			b.mu.Lock()
			b.problems = append(b.problems, p)
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	_, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{})
	b.step("Runtime.enable", err)
	_, err = chromedp.Call(ctx, cdplog.Enable, cdp.Empty{})
	b.step("Log.enable", err)
	return b
}

func (b *browser) step(what string, err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// waitFor polls a JavaScript boolean expression until it is true.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	b.waitForIn(what, expr, 45*time.Second) // generous: CI machines run other packages meanwhile
}

func (b *browser) waitForIn(what, expr string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("main").innerText`))
			b.t.Fatalf("%s: %s still false after %v (err %v); the page shows:\n%s", what, expr, d, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is the text content of the first element matching sel ("" if none).
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)))
	b.step("reading "+sel, err)
	return s
}

// eval runs JavaScript for its effect.
func (b *browser) eval(what, js string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](js))
	b.step(what, err)
}

// screenshot takes a full-page screenshot, fails if it looks blank and
// saves it.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png1, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	b.step("screenshot "+name, err)
	img, err := png.Decode(bytes.NewReader(png1))
	b.step("decoding screenshot "+name, err)
	if n := colours(img); n < 16 {
		b.t.Errorf("screenshot %s looks blank: %d distinct colours", name, n)
	}
	b.noStrayText(name)
	p := filepath.Join(b.shots, "explorer-"+name+".png")
	b.step("saving screenshot", os.WriteFile(p, png1, 0o644))
	b.t.Logf("screenshot %s", p)
}

// noStrayText fails the test when the page shows "null", "undefined" or
// "NaN": a value a view printed instead of leaving out.
func (b *browser) noStrayText(where string) {
	b.t.Helper()
	m, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
		const t = document.body.innerText;
		const m = /(null|undefined|NaN)/.exec(t);
		return m ? t.slice(Math.max(0, m.index - 40), m.index + 40) : "";
	})()`))
	b.step("reading the page's text", err)
	if m != "" {
		b.t.Errorf("%s: the page shows a stray value: %q", where, m)
	}
}

func (b *browser) hash(h string) {
	b.t.Helper()
	b.eval("navigating to "+h, fmt.Sprintf(`location.hash = %q`, h))
}

// checkConsole fails the test for every problem the page logged, except
// those expected says it expected.
func (b *browser) checkConsole(expected func(string) bool) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		if expected == nil || !expected(p) {
			b.t.Errorf("browser: %s", p)
		}
	}
}

// setFile sets the files of a file input, as choosing them would.
// blockRequests makes every request of the page fail (on) or lets them
// through again: the node might as well be stopped.
func (b *browser) blockRequests(on bool) {
	b.t.Helper()
	_, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{})
	b.step("enabling the network domain", err)
	var ps []*network.BlockPattern
	if on {
		ps = []*network.BlockPattern{{URLPattern: "*://*:*/*", Block: true}}
	}
	_, err = chromedp.Call(b.ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: ps})
	b.step(fmt.Sprintf("blocking requests: %v", on), err)
}

func (b *browser) setFile(sel string, paths ...string) {
	b.t.Helper()
	b.step("choosing "+strings.Join(paths, ", ")+" in "+sel, chromedp.Do(b.ctx, chromedp.SetUploadFiles(chromedp.CSS(sel), paths)))
}

// fakeGateway speaks the gateway's upload protocol (package gateway) for
// the stream "uploads": it keeps each upload's bytes and cuts them into
// 3 MiB chunks (the last one shorter once the upload ends), listed on
// chain at their first listing and accepted from the next, with index i
// for the i-th chunk. It answers the failPost-th upload request with 503,
// and takes only requests with the bearer token when token is set.
type fakeGateway struct {
	mu         sync.Mutex
	token      string
	failPost   int
	posts      int
	statusGets int
	uploads    map[string]*fakeUpload
}

type fakeUpload struct {
	data   []byte
	ended  bool
	listed map[int]int
}

const fakeChunkBytes = 3 << 20

func (g *fakeGateway) status(id string, u *fakeUpload) map[string]any {
	return map[string]any{"upload": id, "acked": len(u.data), "ended": u.ended}
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.uploads == nil {
		g.uploads = map[string]*fakeUpload{}
	}
	id := r.URL.Query().Get("upload")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/push/uploads":
		g.posts++
		if g.token != "" && r.Header.Get("Authorization") != "Bearer "+g.token {
			writeError(w, http.StatusForbidden, "wrong token")
			return
		}
		body, _ := io.ReadAll(r.Body)
		if g.posts == g.failPost {
			writeError(w, http.StatusServiceUnavailable, "injected failure")
			return
		}
		u := g.uploads[id]
		if u == nil {
			u = &fakeUpload{listed: map[int]int{}}
			g.uploads[id] = u
		}
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if off > len(u.data) {
			writeJSON(w, http.StatusConflict, g.status(id, u))
			return
		}
		if !u.ended && off+len(body) > len(u.data) {
			u.data = append(u.data, body[len(u.data)-off:]...)
		}
		u.ended = u.ended || r.URL.Query().Get("end") == "1"
		writeJSON(w, http.StatusOK, g.status(id, u))
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/push/uploads/uploads/"):
		g.statusGets++
		id = strings.TrimPrefix(r.URL.Path, "/v1/push/uploads/uploads/")
		u := g.uploads[id]
		if u == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"upload": id, "acked": 0, "ended": false})
			return
		}
		writeJSON(w, http.StatusOK, g.status(id, u))
	case r.Method == http.MethodGet && r.URL.Path == "/v1/push/uploads/chunks":
		u := g.uploads[id]
		chunks := []map[string]any{}
		if u == nil {
			writeJSON(w, http.StatusOK, map[string]any{"chunks": chunks, "ended": false, "acked": 0})
			return
		}
		for i, off := 0, 0; off < len(u.data); i, off = i+1, off+fakeChunkBytes {
			n := min(fakeChunkBytes, len(u.data)-off)
			c := map[string]any{"first_seq": off / (64 << 10), "messages": (n + 64<<10 - 1) / (64 << 10), "offset": off, "bytes": n}
			switch {
			case n < fakeChunkBytes && !u.ended:
				c["status"] = "open"
			case u.listed[i] == 0:
				c["status"], c["index"] = "on_chain", i
			default:
				c["status"], c["index"] = "accepted", i
			}
			if c["status"] != "open" {
				u.listed[i]++
			}
			chunks = append(chunks, c)
		}
		writeJSON(w, http.StatusOK, map[string]any{"chunks": chunks, "ended": u.ended, "acked": len(u.data)})
	default:
		writeError(w, http.StatusNotFound, "the fake gateway has no "+r.Method+" "+r.URL.Path)
	}
}

// fixtureReceipts serves the receipt package's fixture as the receipt of
// uploads/0…2.
type fixtureReceipts struct{ raw []byte }

func (f fixtureReceipts) Receipt(stream string, index uint64) (*receipt.Receipt, error) {
	if stream != "uploads" || index > 2 {
		return nil, fmt.Errorf("record %s/%d: %w", stream, index, app.ErrNotFound)
	}
	return receipt.Parse(f.raw)
}

// TestExplorerBrowserPush drives the push views over the fixture: a
// pushed record's Push and Experts sections (a producer-signed private
// chunk with an endorsement and a dispute; an unsigned chunk with a rule
// violation), the upload page against a fake gateway (token, 4 MiB parts,
// resuming after a failed part from what the gateway acknowledges, the
// chunk table, receipts, "verify" and "download all receipts"), and the
// verify page with the receipt fixture and its data (valid), then a
// tampered receipt (the broken link named).
func TestExplorerBrowserPush(t *testing.T) {
	bin := chromiumOrSkip(t)
	raw, genesis, _ := receiptFixture(t)
	gw := &fakeGateway{token: "s3cret", failPost: 2}
	a := newTestAPI(t, func(c *Config) {
		c.Push, c.Receipts, c.Genesis = gw, fixtureReceipts{raw}, genesis
	})
	a.fake.addPushFixture()
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	defer a.h.Feed().Close()
	b := newBrowser(t, bin)

	// A signed, private pushed chunk with expert judgements.
	b.step("loading a pushed record", chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/#/records/uploads/2")))
	b.waitFor("push section", `!!document.getElementById("push") && document.querySelectorAll("#experts tbody tr").length === 2`)
	if s := b.text("#push-auth"); !strings.Contains(s, "authentic: signed by "+fixtureProducer) {
		t.Errorf("authenticity %q, want the producer's key", s)
	}
	if s := b.text("#push-content"); !strings.Contains(s, "private") {
		t.Errorf("content %q, want private", s)
	}
	if s := b.text("#push-offset") + " | " + b.text("#push-bytes") + " | " + b.text("#push-messages"); !strings.Contains(s, "6,291,456") ||
		!strings.Contains(s, "3,145,728") || !strings.Contains(s, "48 (seq 96–143)") {
		t.Errorf("offset | bytes | messages: %q", s)
	}
	ex := b.text("#experts tbody")
	for _, want := range []string{"endorses", "disputes", "calibrated instrument", "sensor 4 drifted after noon", "✓"} {
		if !strings.Contains(ex, want) {
			t.Errorf("experts table lacks %q: %s", want, ex)
		}
	}
	b.screenshot("record-push")

	// An unsigned chunk that broke a rule: the verdict in words.
	b.hash("#/records/uploads/1")
	b.waitFor("record 1", `(document.getElementById("push-auth") || {}).textContent === "unsigned (gateway push)"`)
	for _, sel := range []string{"#verdict", "#push-verdict"} {
		if s := b.text(sel); s != "rule-violation:8 (not monotonic)" {
			t.Errorf("%s: %q", sel, s)
		}
	}
	if !strings.Contains(b.text("#attestations tbody"), "rule-violation:8 (not monotonic)") {
		t.Errorf("the attestations table does not spell out the violation")
	}
	if b.text("#experts-none") == "" {
		t.Errorf("a pushed record without judgements does not say so")
	}

	// Upload: 8 MiB and a bit, in three parts; the second fails once.
	file := make([]byte, 8<<20+1000)
	for i := range file {
		file[i] = byte(i*7 + i>>11)
	}
	path := filepath.Join(t.TempDir(), "measurements.bin")
	b.step("writing the file", os.WriteFile(path, file, 0o644))
	b.eval("following the Upload link", `document.querySelector('a[data-nav="upload"]').click()`)
	b.waitFor("upload form", `location.hash === "#/upload" && document.getElementById("up-stream").value === "uploads" && !document.getElementById("up-start").disabled`)
	if s := b.text("#up-stream"); !strings.Contains(s, "uploads (every 48 messages)") {
		t.Errorf("stream choice %q", s)
	}
	b.eval("typing the token", `document.getElementById("up-token").value = "s3cret"`)
	b.setFile("#up-file", path)
	b.waitFor("file chosen", `document.getElementById("up-chosen").textContent.includes("measurements.bin")`)
	b.eval("starting the upload", `document.getElementById("up-start").click()`)
	b.waitFor("uploaded", `document.getElementById("up-progress-text").textContent.startsWith("Uploaded: all 8,389,608 bytes")`)
	b.waitFor("every chunk accepted", `document.getElementById("chunk-summary").textContent === "All 3 chunks are decided: 3 accepted." &&
		document.querySelectorAll("#chunks a.receipt-link").length === 3 && !document.getElementById("download-all").disabled`)
	gw.mu.Lock()
	var got []byte
	for _, u := range gw.uploads {
		got = u.data
	}
	posts, gets := gw.posts, gw.statusGets
	gw.mu.Unlock()
	if !bytes.Equal(got, file) || posts != 4 || gets != 1 {
		t.Errorf("the gateway got %d bytes (equal %v) in %d requests, %d status requests; want the file in 4 (one failed) and 1",
			len(got), bytes.Equal(got, file), posts, gets)
	}
	if v, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`document.getElementById("up-progress").value`)); err != nil || v != float64(len(file)) {
		t.Errorf("progress %v (%v), want %d", v, err, len(file))
	}
	for i := range 3 {
		sel := fmt.Sprintf(`#chunks tbody tr:nth-child(%d)`, i+1)
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(
			`!!document.querySelector('%s a[href="#/records/uploads/%d"]') && document.querySelector('%s a.receipt-link').getAttribute("href") === "/v1/receipts/uploads/%d"`,
			sel, i, sel, i)))
		if err != nil || !ok {
			t.Errorf("chunk row %d lacks its record or receipt link (%v)", i, err)
		}
	}
	// "verify": the fixture's receipt is of another chunk, so its data link breaks.
	b.eval("verify chunk 0", `document.querySelector("#chunks tbody tr button.verify").click()`)
	b.waitFor("verify result", `document.querySelector("#chunks tbody tr .vres").textContent === "✗ broken link: data"`)
	// "download all receipts": one JSON array of the three receipts.
	dl := t.TempDir()
	_, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl})
	b.step("allowing downloads", err)
	b.eval("download all", `document.getElementById("download-all").click()`)
	b.waitFor("receipts saved", `document.getElementById("download-all-msg").textContent === "Saved 3 receipts as one JSON array."`)
	var saved []receipt.Receipt
	deadline := time.Now().Add(5 * time.Second)
	for {
		names, _ := filepath.Glob(filepath.Join(dl, "receipts-uploads-*.json"))
		if len(names) == 1 {
			if b, err := os.ReadFile(names[0]); err == nil && json.Unmarshal(b, &saved) == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no receipts file downloaded to %s: %v", dl, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(saved) != 3 || saved[2].Stream != "sensors" || saved[2].Version != 1 {
		t.Errorf("downloaded %d receipts: %+v", len(saved), saved)
	}
	b.screenshot("upload")

	// Verify page: checked in the page by the WebAssembly verifier against
	// the genesis chosen, with every request to the node failing.
	b.eval("following the Verify link", `document.querySelector('a[data-nav="verify"]').click()`)
	b.waitFor("verify form", `location.hash === "#/verify" && !!document.getElementById("vf-text") && document.querySelector('a[data-nav="verify"]').getAttribute("aria-current") === "page"`)
	if s := b.text("#vf-caveat"); !strings.Contains(s, "nothing is sent to the node") || !strings.Contains(s, "datadragon receipt verifier > verify.html") {
		t.Errorf("caveat %q", s)
	}
	b.waitForIn("the verifier to load", `!!document.getElementById("vf-ready") && !document.getElementById("vf-go").disabled`, 60*time.Second)
	b.blockRequests(true)
	js, _ := json.Marshal(string(raw))
	b.eval("pasting the receipt", `document.getElementById("vf-text").value = `+string(js))
	absG, _ := filepath.Abs("../receipt/testdata/genesis.json")
	b.setFile("#vf-genesis", absG)
	abs, _ := filepath.Abs("../receipt/testdata/data.json")
	b.setFile("#vf-data", abs)
	b.eval("verify", `document.getElementById("vf-go").click()`)
	b.waitForIn("valid", `!!document.querySelector('#vf-verdict .dd-result[data-valid="true"]') &&
		document.getElementById("vf-verdict").textContent.includes("trusting the genesis genesis.json of chain dd-test, SHA-256 ")`, 30*time.Second)
	if s := b.text("#vf-genesis-help"); !strings.Contains(s, "Pinned in this browser: genesis.json") {
		t.Errorf("the genesis is not shown pinned: %q", s)
	}
	b.screenshot("verify")
	// A tampered receipt, without data, against the pinned genesis: the
	// broken link is named.
	bad := strings.Replace(string(raw), `"chain_id": "dd-test"`, `"chain_id": "dd-other"`, 1)
	js, _ = json.Marshal(bad)
	b.eval("pasting a tampered receipt", `document.getElementById("vf-text").value = `+string(js)+`; document.getElementById("vf-data").value = ""; document.getElementById("vf-genesis").value = ""`)
	b.eval("verify", `document.getElementById("vf-go").click()`)
	b.waitFor("broken", `!!document.querySelector('#vf-verdict .dd-result[data-link="chain_id"]')`)
	// Garbage: in the user's words.
	b.eval("pasting garbage", `document.getElementById("vf-text").value = "not a receipt"`)
	b.eval("verify", `document.getElementById("vf-go").click()`)
	b.waitFor("error", `(document.querySelector("#vf-verdict .dd-result") || {textContent: ""}).textContent.includes("this is not a receipt: the file is not JSON")`)
	b.blockRequests(false)

	// The verify page asks the node nothing by itself; opened first, its
	// header still says whether the node answers.
	b.step("leaving the explorer", chromedp.Do(b.ctx, chromedp.Navigate("about:blank")))
	b.step("opening the verify page directly", chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/#/verify")))
	b.waitFor("verify form", `!!document.getElementById("vf-text")`)
	b.waitForIn("the header to say connected", `document.getElementById("conn").textContent === "connected"`, 15*time.Second)
	b.noStrayText("verify page")

	// Narrow and wide screens: no view is wider than the window (tables
	// scroll in their own boxes), nothing sticks out of its box, and the
	// navigation wraps.
	for _, vp := range [][2]int64{{1400, 900}, {390, 844}} {
		b.step(fmt.Sprintf("%d px viewport", vp[0]), chromedp.Do(b.ctx, chromedp.EmulateViewport(vp[0], vp[1])))
		for _, h := range []string{"#/upload", "#/verify", "#/records/uploads/2", "#/records/uploads/1", "#/"} {
			b.hash(h)
			b.waitFor("view "+h, `!!document.querySelector("main h1") && !document.querySelector("main > div > p.muted:only-child")`)
			time.Sleep(300 * time.Millisecond)
			if w, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); err != nil || w > 0 {
				wide, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map((e) => e.tagName + "#" + e.id + "." + e.className + ":" + Math.round(e.getBoundingClientRect().right)).join(" ")`))
				t.Errorf("%s on a %d px screen: %d px wider than the window (%v): %s", h, vp[0], w, err, wide)
			}
			// A table wider than the main column must scroll inside its
			// own box, not spill over the page's edge.
			if out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
				const main = document.querySelector("main").getBoundingClientRect();
				return [...document.querySelectorAll("main table")].filter((t) => {
					const box = (t.closest(".scroll") || t).getBoundingClientRect();
					return box.right > main.right + 1 || box.left < main.left - 1;
				}).map((t) => t.id || t.className || "table").join(" ");
			})()`)); err != nil || out != "" {
				t.Errorf("%s on a %d px screen: tables outside the main column (%v): %s", h, vp[0], err, out)
			}
			// On a wide screen no table needs its own scroll bar.
			if vp[0] >= 1400 {
				if out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("main .scroll")].filter((s) => s.scrollWidth > s.clientWidth + 1).map((s) => (s.querySelector("table") || {}).id + ":" + s.scrollWidth + ">" + s.clientWidth).join(" ")`)); err != nil || out != "" {
					t.Errorf("%s on a %d px screen: tables wider than their box (%v): %s", h, vp[0], err, out)
				}
			}
			b.noStrayText(h)
		}
	}
	b.hash("#/upload")
	b.waitFor("upload form", `document.getElementById("up-stream").value === "uploads"`)
	b.screenshot("upload-narrow")

	b.checkConsole(func(p string) bool {
		// The injected failure of the second part, and the garbage receipt.
		return strings.Contains(p, "status of 503") && strings.Contains(p, "/v1/push/uploads?upload=") ||
			strings.Contains(p, "ERR_BLOCKED_BY_CLIENT") // while every request is blocked
	})
}

// fetchedDispute adds uploads/3 to the push fixture: a chunk whose bytes
// the validators fetched and whose gateway named a content id its bytes
// do not have, so every validator attested a gap and it is disputed; and
// the FetchFinding of the node answering, which says which bytes its
// validator was served and the digest they have.
func fetchedDispute(a *testAPI) (finding *FetchFinding) {
	a.fake.addPushFixture()
	a.fake.mu.Lock()
	defer a.fake.mu.Unlock()
	w := wireRecord("uploads", 3, false)
	w.DecidedHeight, w.FirstHeight = 12, 9
	rv := viewFromWire(w)
	rv.Status, rv.Digest, rv.Verdict, rv.Power = "disputed", "", "", 0
	for j := range rv.Attestations {
		rv.Attestations[j].Digest, rv.Attestations[j].Verdict, rv.Attestations[j].Outcome = "", "gap", "gap"
	}
	rv.Push = &app.PushView{FirstSeq: 144, Count: 48, Offset: 9 << 20, Bytes: 3 << 20, TxHeight: 8,
		Digest: strings.Repeat("0", 64), Verdict: "ok", Origin: make(app.HexBytes, 16)}
	a.fake.records["uploads"][3] = rv
	return &FetchFinding{Validator: "node0", Outcome: "content-mismatch", ContentNamed: strings.Repeat("ab", 32),
		Content: strings.Repeat("cd", 32), Digest: strings.Repeat("ef", 32), Source: "http://gateway.example:26657"}
}

// TestRecordLocalFetch: a pushed record's JSON carries what the node's
// validator found fetching it; a record that is not pushed, or one the
// node knows nothing about, carries none.
func TestRecordLocalFetch(t *testing.T) {
	a, finding := newDisputeAPI(t)
	lf, ok := a.get("/v1/records/uploads/3", 200)["local_fetch"].(map[string]any)
	if !ok || lf["outcome"] != "content-mismatch" || lf["digest"] != finding.Digest || lf["content"] != finding.Content ||
		lf["content_named"] != finding.ContentNamed || lf["validator"] != "node0" {
		t.Fatalf("local_fetch %v, want %+v", lf, finding)
	}
	if _, ok := a.get("/v1/records/uploads/1", 200)["local_fetch"]; ok {
		t.Fatal("a record the node has no finding for shows local_fetch")
	}
}

// TestExplorerBrowserFetchedDispute: the record page of a disputed
// fetched chunk says the bytes travelled beside consensus, shows no
// chain's digest (there is none), and shows this node's validator's own
// digest of the bytes it was served beside the content id on chain.
func TestExplorerBrowserFetchedDispute(t *testing.T) {
	bin := chromiumOrSkip(t)
	a, finding := newDisputeAPI(t)
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	defer a.h.Feed().Close()
	b := newBrowser(t, bin)
	b.step("loading a disputed fetched record", chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/#/records/uploads/3")))
	b.waitFor("fetch finding", `!!document.getElementById("fetch-outcome")`)
	if s := b.text("#push-content"); !strings.Contains(s, "fetched them from the gateway or a peer") {
		t.Errorf("content %q, want the fetched wording", s)
	}
	if s := b.text("#push"); strings.Contains(s, "Chain's digest") {
		t.Errorf("a fetched chunk's push section shows a chain's digest: %q", s)
	}
	for sel, want := range map[string]string{"#fetch-outcome": "content mismatch", "#fetch-named": finding.ContentNamed,
		"#fetch-content": finding.Content, "#fetch-digest": finding.Digest} {
		if s := b.text(sel); !strings.Contains(s, want) {
			t.Errorf("%s: %q, want %q", sel, s, want)
		}
	}
	b.screenshot("record-fetched-dispute")
}

// newDisputeAPI serves a test chain whose node's validator has a fetch
// finding for uploads/3 (a content mismatch) and none for any other record.
func newDisputeAPI(t *testing.T) (*testAPI, *FetchFinding) {
	var finding *FetchFinding
	a := newTestAPI(t, func(c *Config) {
		c.FetchFinding = func(stream string, index uint64) *FetchFinding {
			if stream == "uploads" && index == 3 {
				return finding
			}
			return nil
		}
	})
	finding = fetchedDispute(a)
	return a, finding
}
