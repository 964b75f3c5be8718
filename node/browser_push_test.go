package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
)

// TestBrowserPushUpload uploads a file through the explorer's upload page
// in headless Chromium against a real 4-validator network: the page
// pushes it to the node's gateway, shows every chunk accepted, and its
// "verify" button has the node check one chunk's receipt against the
// file. Every receipt the page links is then fetched and verified offline
// against the genesis and the file. The screenshot must not be blank and
// the page must log no error. Screenshots go to $DATADRAGON_SCREENSHOTS
// when set (else a temporary directory).
func TestBrowserPushUpload(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium); skipping the upload page's browser test")
	}
	if testing.Short() {
		t.Skip("starts a network and a browser")
	}
	start := time.Now()
	net := startPushNet(t, 4, 29500, 29550, []app.Stream{
		{ID: "uploads", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 16}, OpenLoopback: true},
	})
	base := "http://127.0.0.1:29550"
	file := make([]byte, 5<<19+4321) // 2.5 MiB and a bit: two chunks of 16 × 64 KiB and a short one
	rand.Read(file)
	path := filepath.Join(t.TempDir(), "upload.bin")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	net.waitFor("the chain serving the API", func() bool {
		resp, err := http.Get(base + "/v1/streams/uploads")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200 && net.nodes[0].Height() >= 2
	})
	t.Logf("network up after %v", time.Since(start).Round(time.Millisecond))

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
				p = "console." + string(e.Type)
				for _, a := range e.Args {
					p += " " + string(a.Value) + a.Description
				}
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
	waitFor := func(what, expr string, d time.Duration) {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("main").innerText`))
				t.Fatalf("%s: %s still false after %v (err %v); the page shows:\n%s", what, expr, d, err, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	eval := func(what, js string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](js))
		step(what, err)
	}

	// Upload the file.
	step("loading the upload page", chromedp.Do(ctx, chromedp.Navigate(base+"/#/upload")))
	waitFor("upload form", `(document.getElementById("up-stream") || {}).value === "uploads" && !document.getElementById("up-start").disabled`, 10*time.Second)
	step("choosing the file", chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#up-file"), []string{path})))
	eval("starting the upload", `document.getElementById("up-start").click()`)
	uploaded := time.Now()
	waitFor("every chunk accepted", `document.getElementById("chunk-summary").textContent === "All 3 chunks are decided: 3 accepted." &&
		document.querySelectorAll("#chunks a.receipt-link").length === 3 &&
		document.querySelectorAll("#chunks button.verify:not([disabled])").length === 3`, 90*time.Second) // generous: CI runs other packages meanwhile
	t.Logf("uploaded, accepted and receipts ready %v after the click", time.Since(uploaded).Round(time.Millisecond))
	if s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("up-progress-text").textContent`)); !strings.HasPrefix(s, fmt.Sprintf("Uploaded: all %s bytes", commas(len(file)))) {
		t.Errorf("progress text %q", s)
	}

	// The node verifies a chunk's receipt against the file.
	eval("verifying the last chunk", `document.querySelector("#chunks tbody tr:nth-child(3) button.verify").click()`)
	waitFor("valid", `document.querySelector("#chunks tbody tr:nth-child(3) .vres").textContent === "✓ valid"`, 30*time.Second)

	// The page assembles FILE.ddr from the chunks' receipts, which
	// verifies offline against the file.
	dl := t.TempDir()
	_, err = chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl})
	step("allowing downloads", err)
	eval("downloading the file receipt", `document.getElementById("download-ddr").click()`)
	waitFor("the file receipt saved", `document.getElementById("download-all-msg").textContent.startsWith("Saved upload.bin.ddr")`, 60*time.Second)
	var ddrBytes []byte
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ddrBytes, err = os.ReadFile(filepath.Join(dl, "upload.bin.ddr")); err == nil && len(ddrBytes) > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("upload.bin.ddr was not downloaded: %v", err)
		}
	}
	gen, err := cmttypes.GenesisDocFromFile(net.members[0].Home + "/config/genesis.json")
	step("reading the genesis", err)
	fr, err := ddr.Decode(ddrBytes)
	step("decoding the page's file receipt", err)
	rep, err := ddr.Verify(fr, gen, bytes.NewReader(file), int64(len(file)))
	if err != nil || !rep.Whole || len(rep.Records) != 3 {
		t.Fatalf("the page's file receipt: %v (whole %v)", err, rep != nil && rep.Whole)
	}

	// Screenshot: not blank.
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	step("screenshot", err)
	img, err := png.Decode(bytes.NewReader(shot))
	step("decoding the screenshot", err)
	seen := map[[4]uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y && len(seen) < 1000; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			r, g, b, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, b, a}] = true
		}
	}
	if len(seen) < 16 {
		t.Errorf("the screenshot looks blank: %d distinct colours", len(seen))
	}
	p := filepath.Join(shots, "explorer-upload-network.png")
	step("saving the screenshot", os.WriteFile(p, shot, 0o644))
	t.Logf("screenshot %s", p)

	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#chunks a.receipt-link")].map((a) => a.getAttribute("href"))`))
	step("reading the receipt links", err)

	// A chunk's index links to its record, whose Push section places it in
	// the file; the dashboard shows the validators' last attestations (a
	// validator still catching up when the chunks were decided is absent
	// for them, so a majority is what is certain).
	eval("opening chunk 1's record", `document.querySelector('#chunks a[href="#/records/uploads/1"]').click()`)
	waitFor("push section", `(document.getElementById("push-auth") || {}).textContent === "unsigned (gateway push)" &&
		document.getElementById("push-offset").textContent.startsWith("1,048,576") && document.getElementById("push-messages").textContent.startsWith("16 (seq 16–31)")`, 10*time.Second)
	eval("opening the dashboard", `document.querySelector('a[data-nav="dashboard"]').click()`)
	waitFor("last attestations", `document.querySelectorAll('#validators td.last-att a[href^="#/records/uploads/"]').length >= 3 &&
		[...document.querySelectorAll("#streams tbody tr")].some((tr) => tr.textContent.startsWith("uploadspush"))`, 30*time.Second)

	// Every receipt the page links verifies offline against the file.
	gdoc, err := cmttypes.GenesisDocFromFile(net.members[0].Home + "/config/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	for i, href := range links {
		if want := fmt.Sprintf("/v1/receipts/uploads/%d", i); href != want {
			t.Errorf("receipt link %d is %q, want %q", i, href, want)
		}
		resp, err := http.Get(base + href)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", href, resp.StatusCode, raw)
		}
		r, err := receipt.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := receipt.Verify(r, gdoc, file); err != nil {
			t.Errorf("receipt %s against the file: %v", href, err)
		}
		raws = append(raws, raw)
	}

	// The endpoint names the data link when the data is neither the file
	// nor the chunk.
	var mb bytes.Buffer
	mw := multipart.NewWriter(&mb)
	w, _ := mw.CreateFormFile("receipt", "receipt.json")
	w.Write(raws[2])
	w, _ = mw.CreateFormFile("data", "upload.bin")
	w.Write(file[:len(file)-1])
	mw.Close()
	resp, err := http.Post(base+"/v1/receipts/verify", mw.FormDataContentType(), &mb)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Valid bool   `json:"valid"`
		Link  string `json:"link"`
		Error string `json:"error"`
	}
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || res.Valid || res.Link != "data" {
		t.Errorf("a cut file: %d %+v %v, want valid false, link data", resp.StatusCode, res, err)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
	t.Logf("test body took %v", time.Since(start).Round(time.Millisecond))
}

// commas writes n with thousands separators, as the page does.
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
