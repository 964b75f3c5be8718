package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/app/ziggysig"
	"github.com/datadragon/datadragon/gateway/client"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// defaultNode is the API address of a devnet's node 0.
const defaultNode = "http://127.0.0.1:8080"

// tokenEnv names the environment variable that may hold the write token,
// which keeps it off the command line (and out of process listings).
const tokenEnv = "DATADRAGON_TOKEN"

// Waits of the commands that submit transactions or fetch receipts.
const (
	txWait      = 30 * time.Second // until a registration or a judgement shows
	receiptWait = 60 * time.Second // until an accepted record's receipt is served
)

// pushPoll is the interval of a push's status polls; zero is the client's
// default. Tests shorten it.
var pushPoll time.Duration

var streamCmd = &command{
	path:     "stream",
	synopsis: "--stream ID [--node URL] [--token T | --key FILE [--private]] [--piece N] [--ddr FILE.ddr] [--receipts DIR] FILE|-",
	summary:  "push a file or standard input to a push stream and wait for its records",
	about: `Push FILE (or standard input, '-') to a push stream through a node's
gateway, wait until the chain has decided every chunk and write the file
receipt FILE.ddr beside it: one small binary file holding every chunk's
record and the evidence that the chain accepted it, verifiable offline
with 'datadragon verify FILE.ddr --genesis GENESIS' (which finds FILE
beside it). For standard input it is STREAM-FIRST-LAST.ddr in the current
directory; --ddr names another path. With --receipts, a JSON receipt per
accepted chunk is saved too, as DIR/<stream>-<index>.json.

Without --key the gateway chunks: the bytes go up in parts of 4 MiB, cut
into messages of --piece bytes; each part is acknowledged once it is
durable on the node. The stream must accept the write token (--token, or
the DATADRAGON_TOKEN environment variable; its SHA-256 is in the stream's
write_tokens, see 'datadragon stream token') or, from the node's own
machine, be open to loopback. A dropped connection or a restarted node is
retried from the last acknowledged byte, so no byte is lost or sent twice;
an interrupted run prints the upload id, and --upload ID with the same
input resumes it.

With --key, a Ziggy private key of one of the stream's producers, this
command chunks and signs itself: chunks of the stream's message count from
its next index, each signed over the chain id, stream, index, offset and
digest. They carry the messages (every validator hashes them and checks the
stream's rules) or, with --private, only the digest and the message
lengths: the data never leaves this machine, and only its holder can later
show it matches a receipt.

Progress goes to standard error: bytes sent and acknowledged, chunks
acknowledged and accepted (redrawn in place on a terminal, a line every
few seconds otherwise). The summary goes to standard output. Exits 0 only
if every chunk was accepted with the verdict ok: a chunk disputed,
rejected, or accepted as breaking one of the stream's rules makes it exit
1, with the verdict in words.

Related: 'datadragon stream register' registers a stream, 'datadragon
stream token' makes a write token.`,
	examples: []string{
		"datadragon stream --stream uploads data.csv      # writes data.csv.ddr",
		"datadragon verify data.csv.ddr --genesis net/genesis.json",
		"datadragon stream --stream uploads --receipts receipts/ data.csv",
		"DATADRAGON_TOKEN=9f3c... datadragon stream --node http://10.0.0.5:8080 --stream logs --piece 4096 app.log",
		"tar c reports/ | datadragon stream --stream lab --key keys/ziggy.key --private -",
	},
}

var streamRegisterCmd = &command{
	path:     "stream register",
	synopsis: "--key OWNER_KEY --spec SPEC.json [--node URL] [--nonce N]",
	summary:  "register (or update) a stream, signed by its owner's key",
	about: `Register a stream on the chain, or replace the registration of a stream
registered before with the same owner key. SPEC.json is the stream's JSON,
for example a push stream open to two producers and one write token:

  {"id": "lab", "mode": "push", "chunk": {"messages": 16},
   "description": "lab instrument exports",
   "producers": ["<hex of a Ziggy public key>", ...],
   "experts": ["<hex of a Ziggy public key>"],
   "write_tokens": ["<SHA-256 of a token, hex>"],
   "open_loopback": false}

Public keys are the 32-byte Ziggy encoding in hex; the owner is the key
that signs (leave "owner" out). The registration is signed over the chain
id, the owner key, the nonce and the spec; a new registration of the same
stream needs a larger nonce (default: the current Unix time in
milliseconds). The command submits it, waits up to 30 seconds until the
node serves the stream as registered and prints it.`,
	examples: []string{
		"datadragon stream register --key keys/ziggy.key --spec lab.json",
		"datadragon stream register --node http://10.0.0.5:8080 --key owner/ziggy.key --spec lab.json --nonce 7",
	},
}

var streamTokenCmd = &command{
	path:     "stream token",
	synopsis: "",
	summary:  "make a random write token and the SHA-256 to put in write_tokens",
	about: `Print a new random write token (32 random bytes as 64 hex digits) and its
SHA-256 (hex). The SHA-256 goes in the stream spec's "write_tokens" (it is
public: it is on chain); the token goes to producers, who push with
--token or the DATADRAGON_TOKEN environment variable. Keep the token
secret: anyone holding it can push to the stream through any node.`,
	examples: []string{"datadragon stream token"},
}

func runStream(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch cmd, rest := args[0], args[1:]; cmd {
		case "register":
			return runStreamRegister(rest, stdout, stderr)
		case "token":
			return runStreamToken(rest, stdout, stderr)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return streamMain(ctx, args, os.Stdin, stdout, stderr)
}

// streamMain runs 'datadragon stream' until the push is done or ctx ends.
func streamMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := streamCmd
	fs := newFlagSet(c)
	node := fs.String("node", defaultNode, "the node's API `URL`")
	streamID := fs.String("stream", "", "the push stream `ID`; required")
	token := fs.String("token", "", "the write `TOKEN` of unsigned pushes; without it, $DATADRAGON_TOKEN, else none (a stream open to loopback)")
	keyPath := fs.String("key", "", "chunk and sign with this producer's Ziggy private key `FILE`")
	private := fs.Bool("private", false, "with --key: send digests and message lengths only, not the data")
	piece := fs.Int("piece", client.DefaultPiece, "`BYTES` per message, 1 to 1048576")
	ddrPath := fs.String("ddr", "", "write the file receipt to `FILE.ddr` (default: FILE.ddr beside FILE; for standard input STREAM-FIRST-LAST.ddr)")
	receiptDir := fs.String("receipts", "", "save a receipt per accepted chunk in `DIR` as <stream>-<index>.json")
	uploadID := fs.String("upload", "", "resume the unsigned upload with this `ID` (printed by an interrupted run); give the same input")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	var base string
	switch {
	case err != nil:
	case len(pos) != 1:
		err = usagef("want one FILE to push (or - for standard input), got %d arguments", len(pos))
	case *streamID == "":
		err = usagef("--stream ID is required: the push stream to push to")
	case *private && *keyPath == "":
		err = usagef("--private needs --key: a private chunk is only as good as its producer's signature")
	case *keyPath != "" && *token != "":
		err = usagef("--token is for unsigned pushes; a push signed with --key needs no token")
	case *keyPath != "" && *uploadID != "":
		err = usagef("--upload resumes an unsigned upload; a signed push (--key) is pushed again instead")
	case *piece < 1 || *piece > client.MaxPiece:
		err = usagef("--piece %d is out of range: use 1 to %d bytes", *piece, client.MaxPiece)
	default:
		if verr := wire.ValidateStreamID(*streamID); verr != nil {
			err = usagef("--stream: %v", verr)
		} else if base, err = client.ParseBase(*node); err != nil {
			err = usagef("--node: %v", err)
		} else if *uploadID != "" {
			if _, perr := client.ParseUploadID(*uploadID); perr != nil {
				err = usagef("--upload: %v", perr)
			}
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	if *token == "" && *keyPath == "" {
		*token = os.Getenv(tokenEnv)
	}

	var key *ziggy.PrivateKey
	if *keyPath != "" {
		if key, err = loadPrivateKeyFile(*keyPath); err != nil {
			return fail(stderr, c, err)
		}
	}
	name, in, size := pos[0], stdin, int64(-1)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fail(stderr, c, err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		in = f
	}
	// An empty input would make no chunk, no record and no receipt: say
	// so instead of reporting a push of nothing as a success.
	if size == 0 && *uploadID == "" {
		return fail(stderr, c, fmt.Errorf("%s is empty: there is nothing to push (no chunk, record or receipt would come of it)", name))
	}
	if size < 0 && *uploadID == "" {
		br := bufio.NewReader(in)
		if _, err := br.Peek(1); err == io.EOF {
			return fail(stderr, c, errors.New("the standard input is empty: there is nothing to push (no chunk, record or receipt would come of it)"))
		}
		in = br
	}
	if *receiptDir != "" {
		if err := os.MkdirAll(*receiptDir, 0o755); err != nil {
			return fail(stderr, c, fmt.Errorf("--receipts: %w", err))
		}
	}

	cl := &client.Client{Base: base, Token: *token}
	if err := checkPushStream(ctx, cl, *streamID, key != nil); err != nil {
		return fail(stderr, c, err)
	}
	opt := client.UploadOptions{Piece: *piece, Upload: *uploadID, Poll: pushPoll}
	pp := &progressPrinter{w: stderr, tty: isTerminal(stderr), total: size}
	var res *client.UploadResult
	if key != nil {
		res, err = cl.PushSigned(ctx, *streamID, in, key, *private, opt, pp.update)
	} else {
		res, err = cl.PushUpload(ctx, *streamID, in, opt, pp.update)
	}
	last := pp.finish()
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("interrupted")
		}
		code := fail(stderr, c, err)
		if res != nil && res.Upload != "" && (last.BytesAcked > 0 || ctx.Err() != nil) {
			how := "- (the same input again on standard input)"
			if name != "-" {
				how = name
			}
			fmt.Fprintf(stderr, "The gateway keeps what it acknowledged. To resume:\n  %s\n", resumeCommand(fs, base, *streamID, res.Upload, how))
			if *token != "" && os.Getenv(tokenEnv) != *token {
				fmt.Fprintf(stderr, "(with the same write token: --token, or %s)\n", tokenEnv)
			}
		}
		return code
	}

	printPushSummary(stdout, res)
	var problems []string
	if p, err := saveFileReceipt(ctx, cl, res, name, *ddrPath, stdout); err != nil {
		problems = append(problems, err.Error())
	} else if len(p) > 0 {
		problems = append(problems, p...)
	}
	if *receiptDir != "" {
		paths, err := saveReceipts(ctx, cl, res, *receiptDir)
		if len(paths) > 0 {
			fmt.Fprintf(stdout, "receipts:\n")
			const show = 10
			for i, p := range paths {
				if i == show && len(paths) > show+1 {
					fmt.Fprintf(stdout, "  ... and %d more in %s\n", len(paths)-show, *receiptDir)
					break
				}
				fmt.Fprintf(stdout, "  %s\n", p)
			}
			fmt.Fprintf(stdout, "check one offline: datadragon verify %s --genesis GENESIS.json (the network's genesis)\n", paths[0])
		}
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	if bad := len(res.Chunks) - res.Count("accepted"); bad > 0 {
		msg := fmt.Sprintf("%d of %d chunks were not accepted", bad, len(res.Chunks))
		for _, ch := range res.Chunks {
			if ch.Status != "accepted" {
				msg += fmt.Sprintf("; first: the chunk at byte %d is %s", ch.Offset, ch.Status)
				if ch.HasIndex {
					msg += fmt.Sprintf(" (GET /v1/records/%s/%d says why)", res.Stream, ch.Index)
				}
				if ch.Error != "" {
					msg += ": " + ch.Error
				}
				break
			}
		}
		problems = append(problems, msg)
	}
	if len(problems) > 0 {
		return fail(stderr, c, errors.New(strings.Join(problems, "; ")))
	}
	return exitOK
}

// resumeCommand is the command line that resumes an interrupted upload:
// every flag given that matters for the rest of the run (not the token,
// which stays off the screen), and --upload.
func resumeCommand(fs *flag.FlagSet, base, stream, upload, input string) string {
	parts := []string{"datadragon stream", "--node", base, "--stream", stream}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "node", "stream", "token", "upload":
			return
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			parts = append(parts, "--"+f.Name)
			return
		}
		parts = append(parts, "--"+f.Name, shellQuote(f.Value.String()))
	})
	return strings.Join(append(parts, "--upload", upload, shellQuote(input)), " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// saveFileReceipt fetches the receipt of every accepted chunk, writes the
// push's file receipt and says where. It returns the chunks whose verdict
// is not ok, in words.
func saveFileReceipt(ctx context.Context, cl *client.Client, res *client.UploadResult, name, path string, stdout io.Writer) ([]string, error) {
	var rs []*receipt.Receipt
	var idx []uint64
	var problems []string
	for _, ch := range res.Chunks {
		if ch.Status != "accepted" || !ch.HasIndex {
			continue
		}
		r, err := fetchReceipt(ctx, cl, res.Stream, ch.Index)
		if err != nil {
			return nil, err
		}
		rec, err := wire.UnmarshalRecord(r.Record)
		if err != nil {
			return nil, fmt.Errorf("receipt of %s/%d: %w", res.Stream, ch.Index, err)
		}
		if rec.Verdict != wire.OK {
			problems = append(problems, fmt.Sprintf("the chunk at byte %d (%s/%d) was accepted with the verdict %s: the chain agrees it broke the stream's rule", ch.Offset, res.Stream, ch.Index, ddr.Verdict(rec.Verdict)))
		}
		rs = append(rs, r)
		idx = append(idx, ch.Index)
	}
	if len(rs) == 0 {
		return problems, nil
	}
	var th ddr.Threshold
	if st, err := cl.Status(ctx); err == nil {
		th = ddr.Threshold{Numerator: st.Threshold.Numerator, Denominator: st.Threshold.Denominator}
	}
	f, err := ddr.From(rs, th)
	if err != nil {
		return nil, fmt.Errorf("file receipt: %w", err)
	}
	addJudgements(ctx, cl, f)
	b, err := ddr.Encode(f)
	if err != nil {
		return nil, fmt.Errorf("file receipt: %w", err)
	}
	if path == "" {
		slices.Sort(idx)
		path = defaultDDRPath(name, res.Stream, idx[0], idx[len(idx)-1])
	}
	if err := writeFileAtomic(path, b); err != nil {
		return nil, fmt.Errorf("file receipt: %w", err)
	}
	fmt.Fprintf(stdout, "receipt: %s (%d bytes, %d chunks)\n", path, len(b), len(rs))
	fmt.Fprintf(stdout, "check it offline: datadragon verify %s --genesis GENESIS.json (the network's genesis)\n", path)
	return problems, nil
}

// addJudgements adds to f the experts' judgements the node serves for
// its records that are not in it yet, and returns how many it added. A
// record the node cannot serve is left as it is: judgements are extra
// evidence, the receipt holds without them.
func addJudgements(ctx context.Context, cl *client.Client, f *ddr.File) int {
	have := map[string]bool{}
	for _, j := range f.Judgements {
		have[string(j.Signature)] = true
	}
	n := 0
	for i, rc := range f.Records {
		rec, err := wire.UnmarshalRecord(rc.Record)
		if err != nil {
			continue
		}
		rv, err := cl.Record(ctx, rec.Stream, rec.Index)
		if err != nil {
			continue
		}
		for _, j := range rv.Experts {
			if len(j.Signature) == 0 || have[string(j.Signature)] || j.Digest != rec.Digest.String() {
				continue
			}
			have[string(j.Signature)] = true
			f.Judgements = append(f.Judgements, ddr.Judgement{Record: i, Dispute: j.Dispute, Note: j.Note, Expert: j.Expert, Signature: j.Signature})
			n++
		}
	}
	return n
}

// fetchReceipt waits for and checks the receipt of stream/index.
func fetchReceipt(ctx context.Context, cl *client.Client, stream string, index uint64) (*receipt.Receipt, error) {
	rctx, cancel := context.WithTimeout(ctx, receiptWait)
	raw, err := cl.WaitReceipt(rctx, stream, index)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("receipt of %s/%d: %w", stream, index, err)
	}
	r, err := receipt.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("receipt of %s/%d: %w", stream, index, err)
	}
	if r.Stream != stream || r.Index != index {
		return nil, fmt.Errorf("the node answered the receipt of %s/%d with one of %s/%d", stream, index, r.Stream, r.Index)
	}
	return r, nil
}

// checkPushStream asks the node once for the stream before a push, so
// that a wrong address or stream fails at once instead of after the
// retries that carry a push through a node's restart.
func checkPushStream(ctx context.Context, cl *client.Client, id string, signed bool) error {
	si, err := cl.Stream(ctx, id)
	switch {
	case client.IsNotFound(err):
		return fmt.Errorf("the node at %s has no stream %q: check --stream, or register it first ('datadragon stream register')", cl.Base, id)
	case err != nil:
		return err
	case si.Mode != "" && si.Mode != "push":
		return fmt.Errorf("stream %q is observed from its source (mode %q); it takes no pushes", id, si.Mode)
	case !signed && len(si.Producers) > 0:
		return fmt.Errorf("stream %q takes only chunks signed by one of its producers: push with --key PRODUCER_KEY", id)
	}
	return nil
}

// printPushSummary prints what a push became. Rates count the bytes this
// run sent (not those a resumed upload already had on the gateway), over
// the time from its start until they were durable (ingest), and until
// every chunk was decided (end to end).
func printPushSummary(w io.Writer, res *client.UploadResult) {
	mib := float64(res.Bytes) / (1 << 20)
	sent := float64(res.Bytes-min(res.Resumed, res.Bytes)) / (1 << 20)
	rate := func(d time.Duration) string {
		if d <= 0 || sent == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f MiB/s", sent/d.Seconds())
	}
	var idx []uint64
	for _, ch := range res.Chunks {
		if ch.HasIndex {
			idx = append(idx, ch.Index)
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	fmt.Fprintf(w, "pushed %d bytes (%.1f MiB) to stream %s in %d chunks", res.Bytes, mib, res.Stream, len(res.Chunks))
	if len(idx) > 0 {
		fmt.Fprintf(w, ", indexes %s", indexRanges(idx))
	}
	fmt.Fprintln(w)
	if res.Resumed > 0 {
		fmt.Fprintf(w, "resumed: the gateway already held %d bytes; this run sent %d\n", res.Resumed, res.Bytes-min(res.Resumed, res.Bytes))
	}
	fmt.Fprintf(w, "durable on the gateway in %.1f s (%s), every chunk decided after %.1f s (%s end to end)\n",
		res.Durable.Seconds(), rate(res.Durable), res.Elapsed.Seconds(), rate(res.Elapsed))
	fmt.Fprintf(w, "chunks: %d accepted, %d disputed, %d rejected\n", res.Count("accepted"), res.Count("disputed"),
		res.Count("rejected")+res.Count("conflict"))
	if res.Upload != "" {
		fmt.Fprintf(w, "upload: %s\n", res.Upload)
	}
}

// indexRanges writes sorted indexes as ranges: "4 to 9, 11, 13 to 20".
func indexRanges(idx []uint64) string {
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.FormatUint(idx[i], 10))
		} else {
			parts = append(parts, fmt.Sprintf("%d to %d", idx[i], idx[j]))
		}
		i = j + 1
		if len(parts) == 8 && i < len(idx) {
			parts = append(parts, "...")
			break
		}
	}
	return strings.Join(parts, ", ")
}

// saveReceipts fetches the receipt of every accepted chunk, checks that
// it is the chunk's and writes it to dir/<stream>-<index>.json. It returns
// the paths written.
func saveReceipts(ctx context.Context, cl *client.Client, res *client.UploadResult, dir string) ([]string, error) {
	var paths []string
	for _, ch := range res.Chunks {
		if ch.Status != "accepted" || !ch.HasIndex {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, receiptWait)
		raw, err := cl.WaitReceipt(rctx, res.Stream, ch.Index)
		cancel()
		if err != nil {
			return paths, fmt.Errorf("receipt of %s/%d: %w", res.Stream, ch.Index, err)
		}
		r, err := receipt.Parse(raw)
		if err != nil {
			return paths, fmt.Errorf("receipt of %s/%d: %w", res.Stream, ch.Index, err)
		}
		if r.Stream != res.Stream || r.Index != ch.Index {
			return paths, fmt.Errorf("the node answered the receipt of %s/%d with one of %s/%d", res.Stream, ch.Index, r.Stream, r.Index)
		}
		p := filepath.Join(dir, fmt.Sprintf("%s-%d.json", res.Stream, ch.Index))
		if err := writeFileAtomic(p, raw); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// progressPrinter draws a push's progress on standard error.
type progressPrinter struct {
	w     io.Writer
	tty   bool
	total int64 // input size, -1 if unknown

	mu    sync.Mutex
	p     client.Progress
	drawn time.Time
	width int    // of the line drawn last (terminal)
	last  string // the line printed last (not a terminal)
}

func (pp *progressPrinter) update(p client.Progress) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.p = p
	every := 5 * time.Second
	if pp.tty {
		every = 200 * time.Millisecond
	}
	if time.Since(pp.drawn) >= every {
		pp.draw()
	}
}

func (pp *progressPrinter) draw() {
	pp.drawn = time.Now()
	line := pp.line()
	if !pp.tty {
		if line != pp.last {
			fmt.Fprintln(pp.w, line)
		}
		pp.last = line
		return
	}
	pad := max(0, pp.width-len(line))
	pp.width = len(line)
	fmt.Fprintf(pp.w, "\r%s%s", line, strings.Repeat(" ", pad))
}

func (pp *progressPrinter) line() string {
	p := pp.p
	sent := fmt.Sprintf("%.1f MiB", float64(p.BytesSent)/(1<<20))
	if pp.total > 0 {
		sent = fmt.Sprintf("%.1f of %.1f MiB (%d%%)", float64(p.BytesSent)/(1<<20), float64(pp.total)/(1<<20), p.BytesSent*100/uint64(pp.total))
	}
	// The rate of the bytes this run made durable, over the time they
	// took: once the input is durable the clock stops at the moment the
	// push reported it, the one the summary's ingest rate uses, so the
	// last line and the summary agree while the chunks are decided.
	took := p.Elapsed
	if p.InputDone && p.Durable > 0 {
		took = p.Durable
	}
	rate := 0.0
	if s := took.Seconds(); s > 0 {
		rate = float64(p.BytesAcked-min(p.BytesResumed, p.BytesAcked)) / (1 << 20) / s
	}
	of := ""
	if p.InputDone {
		of = fmt.Sprintf(" of %d", p.ChunksTotal)
	}
	return fmt.Sprintf("sent %s, acked %.1f MiB (%.1f MiB/s); chunks: %d acked, %d accepted%s",
		sent, float64(p.BytesAcked)/(1<<20), rate, p.ChunksLogged, p.ChunksAccepted, of)
}

// finish draws the last state, ends the line and returns the state.
func (pp *progressPrinter) finish() client.Progress {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.draw()
	if pp.tty {
		fmt.Fprintln(pp.w)
	}
	return pp.p
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ---- stream register ----

func runStreamRegister(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return streamRegisterMain(ctx, args, stdout, stderr, txWait)
}

func streamRegisterMain(ctx context.Context, args []string, stdout, stderr io.Writer, wait time.Duration) int {
	c := streamRegisterCmd
	fs := newFlagSet(c)
	node := fs.String("node", defaultNode, "the node's API `URL`")
	keyPath := fs.String("key", "", "the owner's Ziggy private key `FILE`; required")
	specPath := fs.String("spec", "", "the stream's JSON `FILE`; required")
	nonce := fs.Uint64("nonce", 0, "registration `N`, above the stream's previous one; 0: the current Unix time in milliseconds")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	var base string
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *keyPath == "":
		err = usagef("--key FILE is required: the owner's private key, which signs the registration")
	case *specPath == "":
		err = usagef("--spec FILE is required: the stream's JSON")
	case *nonce > 1<<62:
		err = usagef("--nonce %d is out of range: use 1 to 2^62", *nonce)
	default:
		if base, err = client.ParseBase(*node); err != nil {
			err = usagef("--node: %v", err)
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	key, err := loadPrivateKeyFile(*keyPath)
	if err != nil {
		return fail(stderr, c, err)
	}
	owner := key.Public().Bytes()
	spec, want, err := readStreamSpec(*specPath, owner)
	if err != nil {
		return fail(stderr, c, err)
	}
	n := *nonce
	if n == 0 {
		n = uint64(time.Now().UnixMilli())
	}

	cl := &client.Client{Base: base, Waiting: waitingNote(stderr)}
	st, err := cl.Status(ctx)
	if err != nil {
		return fail(stderr, c, err)
	}
	if st.ChainID == "" {
		return fail(stderr, c, fmt.Errorf("the node at %s has not started its chain yet; wait for its first block", base))
	}
	sig, err := ziggy.Sign(key, wire.RegisterSignBytes(st.ChainID, owner, n, spec))
	if err != nil {
		return fail(stderr, c, err)
	}
	tx, err := (&wire.RegisterTx{Spec: spec, Owner: owner, Nonce: n, Signature: sig}).Marshal()
	if err != nil {
		return fail(stderr, c, err)
	}
	if err := cl.SubmitTx(ctx, tx); err != nil {
		return fail(stderr, c, fmt.Errorf("the registration was refused: %w", err))
	}
	fmt.Fprintf(stderr, "registration of %q submitted (nonce %d); waiting for the chain...\n", want.ID, n)
	served, err := waitForStream(ctx, cl, want, wait)
	if err != nil {
		return fail(stderr, c, err)
	}
	var out bytes.Buffer
	if json.Indent(&out, served.Raw, "", "  ") != nil {
		out.Reset()
		out.Write(served.Raw)
	}
	fmt.Fprintf(stdout, "%s\n", bytes.TrimSpace(out.Bytes()))
	return exitOK
}

// readStreamSpec reads and checks a stream spec as the chain will (strict
// JSON, the stream's own checks, the owner), and returns it compacted
// and decoded with the owner set.
func readStreamSpec(path string, owner []byte) ([]byte, *app.Stream, error) {
	raw, err := readFileLimited(path, wire.MaxSpecBytes)
	if err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var s app.Stream
	if err := dec.Decode(&s); err != nil {
		return nil, nil, fmt.Errorf("%s: not a stream spec: %v", path, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%s: trailing data after the JSON object", path)
	}
	if len(s.Owner) != 0 && !bytes.Equal(s.Owner, owner) {
		return nil, nil, fmt.Errorf("%s: \"owner\" is not the public key of --key; leave it out (the signing key is the owner)", path)
	}
	if err := s.Validate(ziggysig.Scheme{}); err != nil {
		return nil, nil, fmt.Errorf("%s: stream %q: %v", path, s.ID, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	s.Owner = app.HexBytes(owner)
	return compact.Bytes(), &s, nil
}

// waitForStream polls the node until it serves the stream as want says:
// every field the node serves that the spec sets must match.
func waitForStream(ctx context.Context, cl *client.Client, want *app.Stream, wait time.Duration) (*client.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	wantJSON, _ := json.Marshal(want)
	var wantFields map[string]any
	json.Unmarshal(wantJSON, &wantFields)
	var last error
	for {
		si, err := cl.Stream(ctx, want.ID)
		if err == nil {
			if matchesSpec(si.Raw, wantFields) {
				return si, nil
			}
			last = errors.New("the node still serves the previous registration")
		} else if !client.IsNotFound(err) {
			last = err
		} else {
			last = errors.New("the node does not serve it yet")
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return nil, fmt.Errorf("stream %q was submitted but did not show within %v (%v): the block may be slow, or the chain refused it; check GET /v1/streams/%s later, and the node's log", want.ID, wait, last, want.ID)
			}
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// matchesSpec reports whether the served stream has every field of want
// that it serves with the same value (hex normalised: both sides go
// through app.Stream).
func matchesSpec(served json.RawMessage, want map[string]any) bool {
	var keys map[string]json.RawMessage
	var s app.Stream
	if json.Unmarshal(served, &keys) != nil || json.Unmarshal(served, &s) != nil {
		return false
	}
	norm, _ := json.Marshal(&s)
	var got map[string]any
	json.Unmarshal(norm, &got)
	for k, v := range want {
		if _, ok := keys[k]; !ok {
			continue
		}
		if !reflect.DeepEqual(got[k], v) {
			return false
		}
	}
	return true
}

// ---- stream token ----

func runStreamToken(args []string, stdout, stderr io.Writer) int {
	c := streamTokenCmd
	fs := newFlagSet(c)
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	if err == nil && len(pos) > 0 {
		err = usagef("takes no arguments, got %q", strings.Join(pos, " "))
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fail(stderr, c, err)
	}
	token := hex.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(token))
	fmt.Fprintf(stdout, "token:  %s\n", token)
	fmt.Fprintf(stdout, "sha256: %s\n", hex.EncodeToString(sum[:]))
	fmt.Fprintf(stdout, "Put the sha256 in the stream spec's \"write_tokens\"; give the token to producers\n(--token or %s) and keep it secret.\n", tokenEnv)
	return exitOK
}

// waitingNote tells the user, on w, why a command waits for the node.
func waitingNote(w io.Writer) func(string) {
	return func(reason string) {
		fmt.Fprintf(w, "the node cannot take the transaction yet (%s); retrying for up to a minute\n", reason)
	}
}
