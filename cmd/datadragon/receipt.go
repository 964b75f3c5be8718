package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/gateway/client"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
	"github.com/datadragon/datadragon/receipt/wasm"
)

var receiptShowCmd = &command{
	path:     "receipt show",
	synopsis: "FILE.ddr",
	summary:  "print a file receipt (.ddr) as JSON",
	about: `Print a file receipt — the FILE.ddr 'datadragon stream FILE' writes — as
JSON: the validator set, each deciding block with its next header, each
vote extension's root and Ziggy signature (base64), each chunk's record
decoded (stream, index, digest, verdict, time, its place in the file) and
what each part costs in the binary file. It does not verify anything:
'datadragon verify FILE.ddr --genesis GENESIS' does.`,
	examples: []string{"datadragon receipt show photo.jpg.ddr", "datadragon receipt show photo.jpg.ddr | jq .bytes"},
}

var receiptVerifierCmd = &command{
	path:     "receipt verifier",
	synopsis: "> verify.html",
	summary:  "write the standalone browser verifier, one HTML file that works offline",
	about: `Write to standard output one self-contained HTML page that verifies
receipts in the browser: DataDragon's own verifier compiled to WebAssembly
(about 9 MB of the page), with nothing loaded from anywhere. Open it from
file:// with no network: choose the receipt (FILE.ddr or a chunk's JSON
receipt), the network's genesis.json (pinned in the browser for next time,
shown with its SHA-256) and optionally the file, which is hashed in the
page. Give it to anyone who should check your receipts without installing
anything or trusting any node.`,
	examples: []string{"datadragon receipt verifier > verify.html"},
}

func runReceiptVerifier(args []string, stdout, stderr io.Writer) int {
	c := receiptVerifierCmd
	fs := newFlagSet(c)
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	if err == nil && len(pos) > 0 {
		err = unexpectedArg(pos[0])
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	if err := wasm.Page(stdout); err != nil {
		return fail(stderr, c, err)
	}
	return exitOK
}

var receiptUpdateCmd = &command{
	path:     "receipt update",
	synopsis: "[--node URL] FILE.ddr",
	summary:  "add the experts' endorsements and disputes of its records to a file receipt",
	about: `Ask a node for the experts' judgements of every record of FILE.ddr (an
expert endorses or disputes a record after it was accepted, so they come
later than the receipt) and add the new ones to the file, each with the
expert's Ziggy signature, which 'datadragon verify' checks offline. The
receipt's own proofs are unchanged; a node that serves nothing adds
nothing.`,
	examples: []string{"datadragon receipt update photo.jpg.ddr", "datadragon receipt update --node http://10.0.0.5:8080 photo.jpg.ddr"},
}

func runReceiptUpdate(args []string, stdout, stderr io.Writer) int {
	c := receiptUpdateCmd
	fs := newFlagSet(c)
	node := fs.String("node", defaultNode, "the node's API `URL`")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	var base string
	if err == nil {
		if len(pos) != 1 {
			err = usagef("want one FILE.ddr, got %d arguments", len(pos))
		} else if base, err = client.ParseBase(*node); err != nil {
			err = usagef("--node: %v", err)
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	raw, err := readLimited(pos[0])
	if err != nil {
		return fail(stderr, c, err)
	}
	f, err := decodeDDR(pos[0], raw)
	if err != nil {
		return fail(stderr, c, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n := addJudgements(ctx, &client.Client{Base: base}, f)
	if n > 0 {
		b, err := ddr.Encode(f)
		if err != nil {
			return fail(stderr, c, err)
		}
		if err := writeFileAtomic(pos[0], b); err != nil {
			return fail(stderr, c, err)
		}
	}
	fmt.Fprintf(stdout, "%s: %d new expert judgement(s), %d in all\n", pos[0], n, len(f.Judgements))
	return exitOK
}

var receiptPackCmd = &command{
	path:     "receipt pack",
	synopsis: "--genesis GENESIS -o OUT.ddr RECEIPT.json|BUNDLE.json...",
	summary:  "pack chunks' JSON receipts into one file receipt (.ddr)",
	about: `Pack the JSON receipts of chunks (GET /v1/receipts/STREAM/INDEX, files
saved by 'stream --receipts', or a bundle from the explorer's "download
all receipts") into one file receipt: what they share stored once, and of
each record's attestations only enough for more than the genesis
threshold of power. Each receipt is verified against GENESIS first, and
so is the result; nothing is written unless both hold.`,
	examples: []string{
		"curl -s localhost:8080/v1/receipts/sensors/12 > r.json",
		"datadragon receipt pack --genesis genesis.json -o sensors-12.ddr r.json",
		"datadragon receipt pack --genesis genesis.json -o photo.jpg.ddr receipts/uploads-*.json",
	},
}

func runReceiptPack(args []string, stdout, stderr io.Writer) int {
	c := receiptPackCmd
	fs := newFlagSet(c)
	genesis := fs.String("genesis", "", "the trusted genesis `FILE`; required")
	out := fs.String("o", "", "write the file receipt to `OUT.ddr`; required")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	switch {
	case err != nil:
	case len(pos) == 0:
		err = usagef("want one or more JSON receipts or bundles")
	case *genesis == "":
		err = usagef("--genesis is required: receipts are verified before they are packed")
	case *out == "":
		err = usagef("-o OUT.ddr is required")
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	g, err := loadGenesis(*genesis)
	if err != nil {
		return fail(stderr, c, err)
	}
	var rs []*receipt.Receipt
	for _, p := range pos {
		raw, err := readLimited(p)
		if err != nil {
			return fail(stderr, c, err)
		}
		items := []json.RawMessage{raw}
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
			if err := json.Unmarshal(t, &items); err != nil {
				return fail(stderr, c, fmt.Errorf("%s: a bundle is a JSON array of receipts: %w", p, err))
			}
		}
		for i, it := range items {
			r, err := receipt.Parse(it)
			if err != nil {
				return fail(stderr, c, fmt.Errorf("%s: receipt %d: %w", p, i, err))
			}
			if err := receipt.Verify(r, g, nil); err != nil {
				return fail(stderr, c, fmt.Errorf("%s: %s/%d does not verify, so it is not packed: %w", p, r.Stream, r.Index, err))
			}
			rs = append(rs, r)
		}
	}
	gs, err := genesisThreshold(g)
	if err != nil {
		return fail(stderr, c, err)
	}
	f, err := ddr.From(rs, gs)
	if err != nil {
		return fail(stderr, c, err)
	}
	b, err := ddr.Encode(f)
	if err != nil {
		return fail(stderr, c, err)
	}
	if _, err := ddr.Verify(f, g, nil, 0); err != nil {
		return fail(stderr, c, fmt.Errorf("the packed receipt does not verify: %w", err))
	}
	if err := writeFileAtomic(*out, b); err != nil {
		return fail(stderr, c, err)
	}
	fmt.Fprintf(stdout, "%s: %d bytes, %d record(s), %d signature(s)\n", *out, len(b), len(f.Records), len(f.Extensions))
	return exitOK
}

// genesisThreshold is the genesis acceptance threshold.
func genesisThreshold(g *cmttypes.GenesisDoc) (ddr.Threshold, error) {
	var st struct {
		Threshold ddr.Threshold `json:"threshold"`
	}
	if err := json.Unmarshal(g.AppState, &st); err != nil {
		return ddr.Threshold{}, fmt.Errorf("the genesis app_state: %w", err)
	}
	if st.Threshold.Denominator == 0 {
		st.Threshold = ddr.Threshold{Numerator: 1, Denominator: 2} // the genesis default
	}
	return st.Threshold, nil
}

func runReceipt(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "show":
			return runReceiptShow(args[1:], stdout, stderr)
		case "verifier":
			return runReceiptVerifier(args[1:], stdout, stderr)
		case "update":
			return runReceiptUpdate(args[1:], stdout, stderr)
		case "pack":
			return runReceiptPack(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "datadragon receipt: want 'receipt show FILE.ddr', 'receipt pack', 'receipt update FILE.ddr' or 'receipt verifier'\n")
	return exitUsage
}

func runReceiptShow(args []string, stdout, stderr io.Writer) int {
	c := receiptShowCmd
	fs := newFlagSet(c)
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	if err == nil && len(pos) != 1 {
		err = usagef("want one FILE.ddr, got %d arguments", len(pos))
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	raw, err := readLimited(pos[0])
	if err != nil {
		return fail(stderr, c, err)
	}
	f, err := decodeDDR(pos[0], raw)
	if err != nil {
		return fail(stderr, c, err)
	}
	out, err := json.MarshalIndent(ddr.View(f), "", "  ")
	if err != nil {
		return fail(stderr, c, err)
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return exitOK
}

// decodeDDR decodes a file receipt, saying in words what a file that is
// not one is.
func decodeDDR(path string, raw []byte) (*ddr.File, error) {
	if !ddr.IsDDR(raw) {
		if _, err := receipt.Parse(raw); err == nil {
			return nil, fmt.Errorf("%s is a chunk's JSON receipt, not a file receipt: 'datadragon verify %s --genesis GENESIS' checks it", path, path)
		} else if strings.Contains(err.Error(), "not a receipt") {
			return nil, fmt.Errorf("%s is not a receipt: %v", path, strings.TrimPrefix(err.Error(), "receipt: not a receipt: "))
		}
		return nil, fmt.Errorf("%s is not a file receipt (.ddr): it does not begin with the .ddr signature", path)
	}
	f, err := ddr.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// dataBeside returns the file a file receipt is of, FILE for FILE.ddr,
// if it exists.
func dataBeside(ddrPath string) string {
	if !strings.HasSuffix(ddrPath, ddr.Ext) {
		return ""
	}
	p := strings.TrimSuffix(ddrPath, ddr.Ext)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
		return p
	}
	return ""
}

// verifyDDR checks a file receipt and says what it proves, in words.
func verifyDDR(path string, raw []byte, genesisPath string, g *cmttypes.GenesisDoc, dataFile string, noData, requireOK bool, stdout, stderr io.Writer) int {
	c := verifyCmd
	f, err := decodeDDR(path, raw)
	if err != nil {
		if link := receipt.BrokenLink(err); link != "" {
			fmt.Fprintf(stdout, "invalid: broken link %q\n", link)
			fmt.Fprintf(stderr, "datadragon verify: %v\n", err)
			return exitFail
		}
		return fail(stderr, c, err)
	}
	if dataFile == "" && !noData {
		dataFile = dataBeside(path)
	}
	var rep *ddr.Report
	if dataFile != "" {
		df, err := os.Open(dataFile)
		if err != nil {
			return fail(stderr, c, fmt.Errorf("--data: %w", err))
		}
		defer df.Close()
		st, err := df.Stat()
		if err != nil {
			return fail(stderr, c, err)
		}
		rep, err = ddr.Verify(f, g, df, st.Size())
		if err != nil {
			return reportInvalid(err, stdout, stderr)
		}
	} else if rep, err = ddr.Verify(f, g, nil, 0); err != nil {
		return reportInvalid(err, stdout, stderr)
	}
	gb, _ := os.ReadFile(genesisPath)
	gsum := sha256.Sum256(gb)
	fmt.Fprintln(stdout, "valid")
	fmt.Fprintf(stdout, "trusting:   the genesis %s (chain %s, SHA-256 %x)\n", genesisPath, g.ChainID, gsum)
	rs := rep.Records
	streams := map[string][]uint64{}
	var names []string
	for _, r := range rs {
		if _, ok := streams[r.Stream]; !ok {
			names = append(names, r.Stream)
		}
		streams[r.Stream] = append(streams[r.Stream], r.Index)
	}
	for _, s := range names {
		idx := slices.Clone(streams[s])
		slices.Sort(idx)
		fmt.Fprintf(stdout, "stream:     %s, %d chunk(s), indexes %s\n", s, len(idx), indexRanges(idx))
	}
	switch {
	case dataFile == "":
		fmt.Fprintf(stdout, "data:       not checked (give the file with --data, or keep it beside the receipt as %s)\n", strings.TrimSuffix(path, ddr.Ext))
	case rep.Whole:
		fmt.Fprintf(stdout, "data:       %s, %d bytes: every byte lies in exactly one chunk, each chunk's bytes hash to its record's digest\n", dataFile, rep.DataBytes)
	default:
		fmt.Fprintf(stdout, "data:       %s, %d bytes: each chunk's bytes hash to its record's digest, but the chunks do not cover the whole file\n", dataFile, rep.DataBytes)
	}
	bad := 0
	for _, r := range rs {
		if r.Verdict.Kind != 0 || r.Verdict.Code != 0 {
			bad++
		}
	}
	if bad == 0 {
		fmt.Fprintf(stdout, "verdict:    ok for every chunk (every rule of the stream passed)\n")
	} else {
		fmt.Fprintf(stdout, "verdict:    NOT OK for %d of %d chunks:", bad, len(rs))
		for _, r := range rs {
			if r.Verdict.Kind != 0 {
				fmt.Fprintf(stdout, " %s/%d %s;", r.Stream, r.Index, ddr.Verdict(r.Verdict))
			}
		}
		fmt.Fprintln(stdout)
	}
	first, last := rs[0], rs[0]
	att := map[string]int{}
	for _, r := range rs {
		if r.TimeMs < first.TimeMs {
			first = r
		}
		if r.TimeMs > last.TimeMs {
			last = r
		}
		for _, a := range r.Attesters {
			att[a]++
		}
	}
	fmt.Fprintf(stdout, "timestamps: observed %s to %s (the majority's median time), committed by %s\n",
		fmtMs(first.TimeMs), fmtMs(last.TimeMs), last.BlockTime.UTC().Format(time.RFC3339))
	var who []string
	for _, v := range f.Validators {
		n := v.Name
		if n == "" {
			n = v.Address.String()
		}
		if att[n] > 0 {
			who = append(who, fmt.Sprintf("%s (%d)", n, att[n]))
		}
	}
	fmt.Fprintf(stdout, "attested:   every chunk by validators holding more than the threshold of power, Ziggy-signed: %s\n", strings.Join(who, ", "))
	fmt.Fprintf(stdout, "chunks:\n")
	const show = 12
	for i, r := range rs {
		if i == show && len(rs) > show+1 {
			fmt.Fprintf(stdout, "  ... and %d more ('datadragon receipt show %s' lists them all)\n", len(rs)-show, path)
			break
		}
		where := ""
		if r.Pushed {
			where = fmt.Sprintf(" bytes %d-%d", r.Offset, r.Offset+r.Bytes)
		}
		fmt.Fprintf(stdout, "  %s/%d%s digest %s %s, observed %s, block %d, by %s\n", r.Stream, r.Index, where, r.Digest.String()[:16], ddr.Verdict(r.Verdict),
			fmtMs(r.TimeMs), r.Height, strings.Join(r.Attesters, ", "))
	}
	disputes := 0
	for _, r := range rs {
		for _, j := range r.Judgements {
			kind := "endorsed"
			if j.Dispute {
				kind = "DISPUTED"
				disputes++
			}
			auth := "a key the genesis does not list as the stream's expert (the stream was registered later: only the key's signature is shown)"
			if j.InGenesis {
				auth = "one of the stream's experts in the genesis"
			}
			fmt.Fprintf(stdout, "expert:     %s/%d %s by %x, %s", r.Stream, r.Index, kind, j.Expert, auth)
			if j.Note != "" {
				fmt.Fprintf(stdout, ": %q", j.Note)
			}
			fmt.Fprintln(stdout)
		}
	}
	if requireOK && disputes > 0 {
		fmt.Fprintf(stderr, "datadragon verify: --require-ok: %d expert dispute(s)\n", disputes)
		return exitFail
	}
	if requireOK && bad > 0 {
		fmt.Fprintf(stderr, "datadragon verify: --require-ok: %d chunk(s) have a verdict other than ok\n", bad)
		return exitFail
	}
	return exitOK
}

func reportInvalid(err error, stdout, stderr io.Writer) int {
	link := receipt.BrokenLink(err)
	if link == "" {
		link = "receipt"
	}
	fmt.Fprintf(stdout, "invalid: broken link %q\n", link)
	fmt.Fprintf(stderr, "datadragon verify: %v\n", err)
	return exitFail
}

func fmtMs(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

// defaultDDRPath is where 'stream' writes a push's file receipt: beside
// the file, or for standard input in the current directory after the
// stream and indexes.
func defaultDDRPath(name, stream string, first, last uint64) string {
	if name != "-" {
		return name + ddr.Ext
	}
	return filepath.Join(".", fmt.Sprintf("%s-%d-%d%s", stream, first, last, ddr.Ext))
}
