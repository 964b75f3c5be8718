package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/gateway/client"
	"github.com/datadragon/datadragon/gateway/client/clienttest"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
	"github.com/datadragon/datadragon/zk/ziggy"
)

func TestStreamAndExpertHelp(t *testing.T) {
	pages := map[string][]string{
		"stream":          {"node", "stream", "token", "key", "private", "piece", "ddr", "receipts", "upload"},
		"stream register": {"node", "key", "spec", "nonce"},
		"stream token":    nil,
		"expert endorse":  {"node", "key", "stream", "index", "note"},
		"expert dispute":  {"node", "key", "stream", "index", "note"},
	}
	for path, flags := range pages {
		args := append(strings.Fields(path), "--help")
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		if !strings.HasPrefix(out, "Usage: datadragon "+path+" ") || !strings.Contains(out, "Example") {
			t.Errorf("%s --help:\n%s", path, out)
		}
		entries := flagEntries(out)
		for _, f := range flags {
			if !regexp.MustCompile(`\(default [^)]+\)$`).MatchString(entries[f]) {
				t.Errorf("%s --help does not list --%s with its default:\n%s", path, f, out)
			}
		}
		if len(entries) != len(flags) {
			t.Errorf("%s --help lists %d flags, want %d", path, len(entries), len(flags))
		}
		_, viaHelp, _ := runCLI(t, append([]string{"help"}, strings.Fields(path)...)...)
		if viaHelp != out {
			t.Errorf("'help %s' differs from '%s --help'", path, path)
		}
	}
	_, top, _ := runCLI(t, "help")
	for _, want := range []string{"stream register", "stream token", "expert endorse", "expert dispute"} {
		if !strings.Contains(top, want) {
			t.Errorf("top-level help lacks %q", want)
		}
	}
	code, out, errOut := runCLI(t, "expert", "--help")
	wantCode(t, []string{"expert", "--help"}, code, exitOK, out, errOut)
	if !strings.Contains(out, "endorse") || !strings.Contains(out, "dispute") {
		t.Errorf("expert --help:\n%s", out)
	}
	// The token never shows in help, even when it is in the environment.
	t.Setenv(tokenEnv, "do-not-print-me")
	if _, out, _ := runCLI(t, "stream", "--help"); strings.Contains(out, "do-not-print-me") {
		t.Error("stream --help shows the token from the environment")
	}
}

func TestStreamUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stream", "--stream", "s", "--private", "f"}, "--private needs --key"},
		{[]string{"stream", "f"}, "--stream ID is required"},
		{[]string{"stream", "--stream", "s"}, "want one FILE"},
		{[]string{"stream", "--stream", "s", "a", "b"}, "want one FILE"},
		{[]string{"stream", "--stream", "s", "--frobnicate", "f"}, "frobnicate"},
		{[]string{"stream", "--stream", "s", "--piece", "0", "f"}, "--piece"},
		{[]string{"stream", "--stream", "s", "--piece", "1048577", "f"}, "--piece"},
		{[]string{"stream", "--stream", "s", "--token", "t", "--key", "k", "f"}, "needs no token"},
		{[]string{"stream", "--stream", "s", "--upload", "0123456789abcdef0123456789abcdef", "--key", "k", "f"}, "--upload"},
		{[]string{"stream", "--stream", "s", "--upload", "xyz", "f"}, "--upload"},
		{[]string{"stream", "--stream", "bad id!", "f"}, "--stream"},
		{[]string{"stream", "--stream", "s", "--node", "ftp://x", "f"}, "--node"},
		{[]string{"stream", "register", "--spec", "s.json"}, "--key FILE is required"},
		{[]string{"stream", "register", "--key", "k"}, "--spec FILE is required"},
		{[]string{"stream", "register", "--key", "k", "--spec", "s.json", "extra"}, "unexpected argument"},
		{[]string{"stream", "register", "--key", "k", "--spec", "s.json", "--nonce", "-1"}, "nonce"},
		{[]string{"stream", "register", "--frobnicate"}, "frobnicate"},
		{[]string{"stream", "token", "extra"}, "takes no arguments"},
		{[]string{"stream", "token", "--length", "3"}, "length"},
		{[]string{"expert", "endorse", "--stream", "s", "--index", "1"}, "--key FILE is required"},
		{[]string{"expert", "endorse", "--key", "k", "--index", "1"}, "--stream ID is required"},
		{[]string{"expert", "dispute", "--key", "k", "--stream", "s"}, "--index N is required"},
		{[]string{"expert", "dispute", "--key", "k", "--stream", "s", "--index", "-3"}, "--index"},
		{[]string{"expert", "endorse", "--key", "k", "--stream", "s", "--index", "1", "--note", strings.Repeat("x", 1025)}, "--note"},
		{[]string{"expert", "endorse", "--frobnicate"}, "frobnicate"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		wantCode(t, tc.args, code, exitUsage, out, errOut)
		path := tc.args[0] + " " + tc.args[1]
		if tc.args[0] == "stream" && tc.args[1] != "register" && tc.args[1] != "token" {
			path = "stream"
		}
		if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "datadragon "+path+" --help") {
			t.Errorf("%v: stderr %q should mention %q and 'datadragon %s --help'", tc.args, errOut, tc.want, path)
		}
	}
	for _, args := range [][]string{{"expert"}, {"expert", "approve"}} {
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitUsage, out, errOut)
		if !strings.Contains(errOut, "datadragon expert") {
			t.Errorf("%v: stderr %q", args, errOut)
		}
	}
	// A missing file or key is a failure, not a usage error.
	dir := t.TempDir()
	for _, args := range [][]string{
		{"stream", "--stream", "s", filepath.Join(dir, "missing")},
		{"stream", "--stream", "s", "--key", filepath.Join(dir, "missing.key"), filepath.Join(dir, "missing")},
	} {
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitFail, out, errOut)
	}
}

func TestStreamToken(t *testing.T) {
	line := regexp.MustCompile(`^token:  ([0-9a-f]{64})\nsha256: ([0-9a-f]{64})\n`)
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		code, out, errOut := runCLI(t, "stream", "token")
		wantCode(t, []string{"stream", "token"}, code, exitOK, out, errOut)
		m := line.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("stream token printed:\n%s", out)
		}
		// The gateway hashes the token as sent: its 64 hex characters.
		sum := sha256.Sum256([]byte(m[1]))
		if hex.EncodeToString(sum[:]) != m[2] {
			t.Errorf("sha256 %s is not the SHA-256 of token %s", m[2], m[1])
		}
		if seen[m[1]] {
			t.Error("the same token twice")
		}
		seen[m[1]] = true
		if !strings.Contains(out, "write_tokens") {
			t.Errorf("stream token does not say where the hash goes:\n%s", out)
		}
	}
}

// fastPolls makes pushes poll every few milliseconds for the test.
func fastPolls(t *testing.T) {
	old := pushPoll
	pushPoll = 2 * time.Millisecond
	t.Cleanup(func() { pushPoll = old })
}

func streamCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := streamMain(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestStreamPushWritesReceipts(t *testing.T) {
	fastPolls(t)
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "files", Messages: 4, Token: "secret", NextIndex: 3})
	dir := t.TempDir()
	file := filepath.Join(dir, "data.bin")
	data := bytes.Repeat([]byte("datadragon "), 30_000) // 330000 bytes: 33 pieces of 10000, 9 chunks
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	receipts := filepath.Join(dir, "receipts")
	t.Setenv(tokenEnv, "secret")
	args := []string{"--node", g.URL, "--stream", "files", "--piece", "10000", "--receipts", receipts, file}
	code, out, errOut := streamCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	for _, want := range []string{"pushed 330000 bytes", "9 chunks", "indexes 3 to 11", "9 accepted", "MiB/s",
		filepath.Join(receipts, "files-3.json"), "datadragon verify " + filepath.Join(receipts, "files-3.json")} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "acked 0.3 MiB") || !strings.Contains(errOut, "9 accepted of 9") {
		t.Errorf("progress on stderr:\n%s", errOut)
	}
	// The last progress line's rate is the summary's ingest rate: both
	// count the same bytes over the same time.
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	progressRate := regexp.MustCompile(`acked [0-9.]+ MiB \(([0-9.]+) MiB/s\)`).FindStringSubmatch(lines[len(lines)-1])
	summaryRate := regexp.MustCompile(`durable on the gateway in [0-9.]+ s \(([0-9.]+) MiB/s\)`).FindStringSubmatch(out)
	if progressRate == nil || summaryRate == nil || progressRate[1] != summaryRate[1] {
		t.Errorf("the last progress line's rate %v differs from the summary's %v:\n%s\n%s", progressRate, summaryRate, errOut, out)
	}
	for i := 3; i <= 11; i++ {
		b, err := os.ReadFile(filepath.Join(receipts, "files-"+strconv.Itoa(i)+".json"))
		if err != nil || !bytes.Contains(b, []byte(`"index":`+strconv.Itoa(i))) {
			t.Errorf("receipt %d: %s %v", i, b, err)
		}
	}
	// The file receipt beside the file holds all 9 records, and
	// 'receipt show' reads it.
	if !strings.Contains(out, "receipt: "+file+".ddr") || !strings.Contains(out, "datadragon verify "+file+".ddr") {
		t.Errorf("summary does not name the file receipt:\n%s", out)
	}
	raw, err := os.ReadFile(file + ".ddr")
	if err != nil {
		t.Fatal(err)
	}
	fr, err := ddr.Decode(raw)
	if err != nil || len(fr.Records) != 9 || len(fr.Blocks) != 1 {
		t.Fatalf("file receipt: %v", err)
	}
	code, out, errOut = runCLI(t, "receipt", "show", file+".ddr")
	wantCode(t, []string{"receipt", "show"}, code, exitOK, out, errOut)
	var view ddr.JSON
	if err := json.Unmarshal([]byte(out), &view); err != nil || len(view.Records) != 9 || view.Records[8].Index != 11 || view.Records[0].Verdict != "ok" {
		t.Errorf("receipt show: %v\n%s", err, out)
	}
	ids := g.Uploads()
	if got, _ := g.Upload(ids[0]); len(ids) != 1 || !bytes.Equal(got, data) {
		t.Errorf("the gateway holds %d bytes in %d uploads", len(got), len(ids))
	}

	// A wrong token fails with the gateway's word, and no resume hint for
	// an upload that holds nothing.
	args = []string{"--node", g.URL, "--stream", "files", "--token", "wrong", file}
	code, out, errOut = streamCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.Contains(errOut, "403") || !strings.Contains(errOut, "write tokens") || strings.Contains(errOut, "resume") {
		t.Errorf("wrong token: %s", errOut)
	}

	// Interrupted once some bytes are durable: the error says how to
	// resume, and resuming with --upload finishes the same upload.
	ctx, cancel := context.WithCancel(context.Background())
	g.Hold(true)
	args = []string{"--node", g.URL, "--stream", "files", "--piece", "10000", "--receipts", receipts, file}
	var out2, errOut2 bytes.Buffer
	go func() {
		for {
			for _, id := range g.Uploads() {
				if id != ids[0] {
					if b, _ := g.Upload(id); len(b) > 0 {
						cancel()
						return
					}
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	code = streamMain(ctx, args, strings.NewReader(""), &out2, &errOut2)
	cancel()
	wantCode(t, args, code, exitFail, out2.String(), errOut2.String())
	m := regexp.MustCompile(`--upload ([0-9a-f]{32}) `).FindStringSubmatch(errOut2.String())
	if m == nil || !strings.Contains(errOut2.String(), "interrupted") {
		t.Fatalf("interrupted push:\n%s", errOut2.String())
	}
	// The hint repeats every flag that matters.
	if want := "--piece 10000 --receipts " + receipts + " --upload " + m[1] + " " + file; !strings.Contains(errOut2.String(), want) {
		t.Errorf("the resume hint lacks %q:\n%s", want, errOut2.String())
	}
	g.Hold(false)
	args = []string{"--node", g.URL, "--stream", "files", "--piece", "10000", "--upload", m[1], file}
	code, out, errOut = streamCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	if got, ended := g.Upload(m[1]); !ended || !bytes.Equal(got, data) || !strings.Contains(out, "upload: "+m[1]) {
		t.Errorf("resumed upload holds %d bytes (ended %v):\n%s", len(got), ended, out)
	}
	// The resumed run's rates count what it sent, not what the gateway
	// already held: the summary says both.
	held := regexp.MustCompile(`resumed: the gateway already held (\d+) bytes; this run sent (\d+)`).FindStringSubmatch(out)
	if held == nil {
		t.Fatalf("the resumed summary does not say what the gateway held:\n%s", out)
	}
	if a, _ := strconv.Atoi(held[1]); a == 0 || a+atoi(t, held[2]) != len(data) {
		t.Errorf("held %s + sent %s != %d bytes", held[1], held[2], len(data))
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStreamVerdictNotOK: a chunk the chain accepted as breaking one of
// the stream's rules makes the push fail, saying so in words; the file
// receipt is still written.
func TestStreamVerdictNotOK(t *testing.T) {
	fastPolls(t)
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "files", Messages: 2, Token: "secret"})
	g.SetVerdict(1, wire.Violation(3))
	file := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(file, bytes.Repeat([]byte("a,b\n"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--node", g.URL, "--stream", "files", "--token", "secret", "--piece", "1000", "--ddr", file + ".receipt.ddr", file}
	code, out, errOut := streamCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.Contains(errOut, "(files/1) was accepted with the verdict rule violation (rule 3)") {
		t.Errorf("the verdict is not in words:\n%s", errOut)
	}
	if _, err := os.Stat(file + ".receipt.ddr"); err != nil {
		t.Errorf("no file receipt at --ddr: %v", err)
	}
}

// TestStreamPushEmptyInput: an empty file or empty standard input is an
// error, not a push of nothing reported as a success, and nothing reaches
// the gateway.
func TestStreamPushEmptyInput(t *testing.T) {
	fastPolls(t)
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "files", Messages: 4})
	empty := filepath.Join(t.TempDir(), "empty.bin")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{empty, "-"} {
		args := []string{"--node", g.URL, "--stream", "files", in}
		code, out, errOut := streamCLI(t, args...)
		wantCode(t, args, code, exitFail, out, errOut)
		if !strings.Contains(errOut, "is empty: there is nothing to push") {
			t.Errorf("%s: %s", in, errOut)
		}
	}
	if ids := g.Uploads(); len(ids) != 0 {
		t.Errorf("an empty input made %d uploads", len(ids))
	}
}

// TestPushSummaryRates: the summary's indexes are in order whatever order
// the chunks were decided in, and its rates are of the bytes this run sent.
func TestPushSummaryRates(t *testing.T) {
	res := &client.UploadResult{Stream: "s", Bytes: 100 << 20, Resumed: 90 << 20, Durable: 2 * time.Second, Elapsed: 4 * time.Second}
	for _, i := range []uint64{9, 10, 11, 108, 107, 12} {
		res.Chunks = append(res.Chunks, client.Chunk{Index: i, HasIndex: true, Status: "accepted"})
	}
	var b bytes.Buffer
	printPushSummary(&b, res)
	for _, want := range []string{"indexes 9 to 12, 107 to 108", "this run sent 10485760", "(5.0 MiB/s)", "(2.5 MiB/s end to end)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

func TestStreamPushSignedPrivate(t *testing.T) {
	fastPolls(t)
	pub, priv, err := ziggy.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "ziggy.key")
	if err := ziggy.SavePrivateKey(keyFile, priv); err != nil {
		t.Fatal(err)
	}
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "lab", Messages: 2, Producers: [][]byte{pub.Bytes()}})
	file := filepath.Join(dir, "report.csv")
	if err := os.WriteFile(file, bytes.Repeat([]byte("a,b,c\n"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--node", g.URL, "--stream", "lab", "--key", keyFile, "--private", "--piece", "1000", file}
	code, out, errOut := streamCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	signed := g.Signed("lab")
	if len(signed) != 3 || !strings.Contains(out, "3 accepted") || !strings.Contains(out, "indexes 0 to 2") {
		t.Fatalf("%d chunks logged; summary:\n%s", len(signed), out)
	}
	for _, c := range signed {
		if !c.Private || len(c.Messages) != 0 || c.Digest.IsZero() {
			t.Errorf("chunk %d is not private: %+v", c.Index, c)
		}
	}
	// The same push as an unsigned upload is refused before it starts:
	// the stream takes signed chunks only.
	args = []string{"--node", g.URL, "--stream", "lab", file}
	code, out, errOut = streamCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.Contains(errOut, "--key") {
		t.Errorf("unsigned push to a producers' stream: %s", errOut)
	}
	// Unknown streams and absent nodes fail at once.
	for _, tc := range []struct{ node, stream, want string }{
		{g.URL, "nope", "register it first"},
		{"http://127.0.0.1:1", "lab", "is a node's API listening"},
	} {
		args = []string{"--node", tc.node, "--stream", tc.stream, file}
		start := time.Now()
		code, out, errOut = streamCLI(t, args...)
		wantCode(t, args, code, exitFail, out, errOut)
		if !strings.Contains(errOut, tc.want) || time.Since(start) > 2*time.Second {
			t.Errorf("%v: after %v: %s, want %q", args, time.Since(start), errOut, tc.want)
		}
	}
}

func TestStreamRegister(t *testing.T) {
	pub, priv, _ := ziggy.GenerateKey(nil)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "ziggy.key")
	if err := ziggy.SavePrivateKey(keyFile, priv); err != nil {
		t.Fatal(err)
	}
	g := clienttest.New(t, "test-chain")
	spec := filepath.Join(dir, "lab.json")
	os.WriteFile(spec, []byte(`{
  "id": "lab", "mode": "push", "chunk": {"messages": 4},
  "experts": ["0X`+strings.ToUpper(hex.EncodeToString(pub.Bytes()))+`"]
}`), 0o644)
	var out, errOut bytes.Buffer
	args := []string{"--node", g.URL, "--key", keyFile, "--spec", spec, "--nonce", "5"}
	code := streamRegisterMain(context.Background(), args, &out, &errOut, 5*time.Second)
	wantCode(t, args, code, exitOK, out.String(), errOut.String())
	if !strings.Contains(out.String(), `"id": "lab"`) || !strings.Contains(out.String(), hex.EncodeToString(pub.Bytes())) {
		t.Errorf("register printed:\n%s", out.String())
	}
	// The same nonce again is refused by the chain, with its reason.
	out.Reset()
	errOut.Reset()
	code = streamRegisterMain(context.Background(), args, &out, &errOut, 5*time.Second)
	wantCode(t, args, code, exitFail, out.String(), errOut.String())
	if !strings.Contains(errOut.String(), "nonce 5 is not above") {
		t.Errorf("stale nonce: %s", errOut.String())
	}
	// A node still catching up answers 503 a few times: the command waits,
	// says why, and registers.
	g.FailTxs(2)
	out.Reset()
	errOut.Reset()
	args6 := []string{"--node", g.URL, "--key", keyFile, "--spec", spec, "--nonce", "6"}
	code = streamRegisterMain(context.Background(), args6, &out, &errOut, 5*time.Second)
	wantCode(t, args6, code, exitOK, out.String(), errOut.String())
	if n := strings.Count(errOut.String(), "the node cannot take the transaction yet"); n != 1 || !strings.Contains(errOut.String(), "catching up") {
		t.Errorf("waiting for a catching-up node: said %d times: %s", n, errOut.String())
	}
	// A spec the chain would refuse is refused here, before signing.
	for body, want := range map[string]string{
		`{"id": "lab", "mode": "push", "colour": "red"}`:                                                      "colour",
		`{"id": "lab", "mode": "push", "chunk": {"window_ms": 100}}`:                                          "window_ms",
		`{"id": "lab", "mode": "push", "owner": "00"}`:                                                        "owner",
		`{"id": "lab", "mode": "push", "write_tokens": ["00"]}`:                                               "write_tokens",
		`{"id": "lab", "mode": "push"} {}`:                                                                    "trailing",
		`{"id": "lab", "mode": "observe", "source": "ws://x", "chunk": {"messages": 1}, "producers": ["00"]}`: "producers",
	} {
		os.WriteFile(spec, []byte(body), 0o644)
		out.Reset()
		errOut.Reset()
		code = streamRegisterMain(context.Background(), args, &out, &errOut, time.Second)
		wantCode(t, args, code, exitFail, out.String(), errOut.String())
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("spec %s: %s, want %q", body, errOut.String(), want)
		}
	}
}

func TestExpertEndorseAndDispute(t *testing.T) {
	pub, priv, _ := ziggy.GenerateKey(nil)
	other, _, _ := ziggy.GenerateKey(nil)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "ziggy.key")
	if err := ziggy.SavePrivateKey(keyFile, priv); err != nil {
		t.Fatal(err)
	}
	g := clienttest.New(t, "test-chain",
		clienttest.Stream{ID: "lab", Experts: [][]byte{pub.Bytes()}},
		clienttest.Stream{ID: "theirs", Experts: [][]byte{other.Bytes()}})
	g.AddRecord("lab", 12, wire.Digest{12})
	g.AddRecord("theirs", 1, wire.Digest{1})
	for i, dispute := range []bool{false, true} {
		c := expertEndorseCmd
		if dispute {
			c = expertDisputeCmd
		}
		var out, errOut bytes.Buffer
		args := []string{"--node", g.URL, "--key", keyFile, "--stream", "lab", "--index", "12", "--note", "looked at it"}
		code := expertMain(context.Background(), c, dispute, args, &out, &errOut, 5*time.Second)
		wantCode(t, args, code, exitOK, out.String(), errOut.String())
		if !strings.Contains(out.String(), "lab/12") || !strings.Contains(out.String(), (wire.Digest{12}).String()) {
			t.Errorf("printed %q", out.String())
		}
		if js := g.Judgements("lab", 12); len(js) != i+1 || js[i]["dispute"] != dispute || js[i]["note"] != "looked at it" {
			t.Errorf("judgements %v", js)
		}
	}
	// 'receipt update' adds both, signatures and all, to a file receipt
	// of the record, once.
	cl := &client.Client{Base: g.URL}
	raw, err := cl.Receipt(context.Background(), "lab", 12)
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ddr.From([]*receipt.Receipt{r}, ddr.Threshold{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ddr.Encode(f)
	ddrPath := filepath.Join(dir, "lab.ddr")
	os.WriteFile(ddrPath, b, 0o644)
	for _, want := range []string{"2 new expert judgement(s), 2 in all", "0 new expert judgement(s), 2 in all"} {
		code, out, errOut := runCLI(t, "receipt", "update", "--node", g.URL, ddrPath)
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("receipt update: exit %d, want %q:\n%s%s", code, want, out, errOut)
		}
	}
	b, _ = os.ReadFile(ddrPath)
	if f, err := ddr.Decode(b); err != nil || len(f.Judgements) != 2 || !f.Judgements[1].Dispute || f.Judgements[1].Note != "looked at it" || len(f.Judgements[1].Signature) == 0 {
		t.Errorf("judgements in the file receipt: %v", err)
	}
	for _, tc := range []struct {
		stream, index, want string
	}{
		{"lab", "13", "no record yet"},
		{"theirs", "1", "not an expert"},
		{"nope", "1", "404"},
	} {
		var out, errOut bytes.Buffer
		args := []string{"--node", g.URL, "--key", keyFile, "--stream", tc.stream, "--index", tc.index}
		code := expertMain(context.Background(), expertEndorseCmd, false, args, &out, &errOut, time.Second)
		wantCode(t, args, code, exitFail, out.String(), errOut.String())
		if !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%s/%s: %s, want %q", tc.stream, tc.index, errOut.String(), tc.want)
		}
	}
}
