package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
)

// maxReceiptBytes bounds the receipt and data files verify reads.
const maxReceiptBytes = 64 << 20

var verifyCmd = &command{
	path:     "verify",
	synopsis: "FILE.ddr|RECEIPT|BUNDLE --genesis GENESIS [--data FILE [--spec SPEC.json]] [--require-ok]",
	summary:  "check a file receipt or a record's receipt offline against a trusted genesis",
	about: `Check a file receipt, FILE.ddr as 'datadragon stream FILE' writes it, or a
chunk's receipt, with no node running. For FILE.ddr the file is looked
for beside it (FILE) unless --data names it; the answer says in words what
the receipt proves: the stream and indexes, that every byte of the file
lies in a chunk whose digest the chain accepted, each chunk's verdict,
the observation and commit times, and which validators attested.

A chunk's receipt (GET /v1/receipts/STREAM/INDEX on any node) is checked
the same way: the validator set against the trusted genesis (CometBFT's
genesis.json with DataDragon's app_state), the record and its Merkle proof
to the block's record root, the app hash, the next block's header and its
commit by more than 2/3 of the voting power, and the majority's
Ziggy-signed attestations, and for a producer-signed pushed chunk the
producer's Ziggy signature.

A verdict other than ok (a chunk that broke one of the stream's rules) is
printed in words; with --require-ok it makes verify exit 1.

With --data the chunk's data must hash to the record's digest. For a
pushed chunk, FILE is the whole pushed file (the record says where the
chunk lies in it and how it splits into messages; only that part is read)
or the chunk's bytes alone (GET /v1/data/DIGEST). For an observed chunk,
FILE is its messages, a JSON list of {"seq": N, "data": "<base64>"} in seq
order. For a chunk of a raw stream, FILE is its messages as captured from
the feed, heartbeats and connection fields included: a JSON array (a string
element is that text, any other element its JSON text) or one message per
line, from the chunk's first message (its id) up to the next chunk's first;
the stream's declared normalisation is applied. A raw stream of the genesis
has it there; for one registered by transaction give its spec with --spec
SPEC.json (the JSON its owner registered, or GET /v1/streams/STREAM): the
answer then says the normalisation came from that spec, not the genesis.
A receipt does not prove which spec the chain registered, but a wrong one
cannot make the data pass: the digest must still be the agreed one. A raw
chunk's answer names its id, its position in the stream and the chunk
that follows it.

The receipt file may also be a bundle: a JSON array of receipts (the
explorer's "download all receipts"); each is checked, against the same
--data file.

Prints "valid" and exits 0 only if every link of every receipt holds;
otherwise prints "invalid" with the first broken link (version, chain_id,
genesis, validators, record, record_proof, block, header, commit,
attestations, producer_signature, data) and exits 1.

GENESIS is the network's genesis.json: the one 'datadragon devnet' prints
at its start (DIR/genesis.json), the one 'datadragon init' writes, or
config/genesis.json in any node's home. Take it from a source you trust,
not from the node whose record you check.`,
	examples: []string{
		"datadragon verify photo.jpg.ddr --genesis genesis.json",
		"datadragon verify photo.jpg.ddr --genesis genesis.json --data elsewhere/photo.jpg --require-ok",
		"curl -s localhost:8080/v1/receipts/sensors/12 > r.json",
		"datadragon verify r.json --genesis mynet/node0/config/genesis.json",
		"datadragon verify r.json --genesis genesis.json --data chunk12.json",
		"curl -s localhost:8080/v1/streams/my-feed > my-feed.json",
		"datadragon verify raw.json --genesis genesis.json --data captured.txt --spec my-feed.json",
		"datadragon verify receipts/uploads-3.json --genesis genesis.json --data photo.jpg",
		"datadragon verify all-receipts.json --genesis genesis.json --data photo.jpg",
	},
}

func runVerify(args []string, stdout, stderr io.Writer) int {
	c := verifyCmd
	fs := newFlagSet(c)
	genesis := fs.String("genesis", "", "the trusted genesis `FILE` (CometBFT genesis.json); required")
	requireOK := fs.Bool("require-ok", false, "exit 1 unless every chunk's verdict is ok")
	noData := fs.Bool("no-data", false, "for FILE.ddr: do not look for FILE beside it")
	dataFile := fs.String("data", "", "the chunk's data: the whole pushed `FILE`, the chunk's bytes, an observed chunk's messages as JSON [{\"seq\":N,\"data\":\"<base64>\"}, ...], or a raw chunk's messages as captured (a JSON array or one per line)")
	specFile := fs.String("spec", "", "a raw stream's spec `SPEC.json` (as registered, or GET /v1/streams/STREAM) for a stream registered by transaction: --data is normalised as it declares")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	if err == nil {
		switch {
		case len(pos) != 1:
			err = usagef("want one receipt file, got %d arguments", len(pos))
		case *genesis == "":
			err = usagef("--genesis is required: the trusted genesis the receipt is checked against")
		case *specFile != "" && *dataFile == "":
			err = usagef("--spec gives the normalisation of --data: give the captured messages with --data too")
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	var spec *receipt.RawStreamSpec
	if *specFile != "" {
		b, err := readLimited(*specFile)
		if err == nil {
			spec, err = receipt.ParseRawSpec(b)
		}
		if err != nil {
			return fail(stderr, c, fmt.Errorf("--spec %s: %w", *specFile, err))
		}
	}
	// The file itself given instead of its receipt: say which to give.
	if _, serr := os.Stat(pos[0] + ddr.Ext); serr == nil && !strings.HasSuffix(pos[0], ddr.Ext) {
		if b, rerr := readLimited(pos[0]); rerr != nil || (!ddr.IsDDR(b) && receiptParses(b) != nil) {
			return fail(stderr, c, fmt.Errorf("%s is the data, not a receipt: its receipt is %s ('datadragon verify %s --genesis %s')", pos[0], pos[0]+ddr.Ext, pos[0]+ddr.Ext, *genesis))
		}
	}
	raw, err := readLimited(pos[0])
	if err != nil {
		return fail(stderr, c, err)
	}
	if ddr.IsDDR(raw) || strings.HasSuffix(pos[0], ddr.Ext) {
		g, err := loadGenesis(*genesis)
		if err != nil {
			return fail(stderr, c, err)
		}
		return verifyDDR(pos[0], raw, *genesis, g, *dataFile, *noData, *requireOK, stdout, stderr)
	}
	var receipts []*receipt.Receipt
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return fail(stderr, c, fmt.Errorf("%s: a bundle is a JSON array of receipts: %w", pos[0], err))
		}
		if len(items) == 0 {
			return fail(stderr, c, fmt.Errorf("%s: the bundle holds no receipts", pos[0]))
		}
		for i, it := range items {
			r, err := receipt.Parse(it)
			if err != nil {
				return fail(stderr, c, fmt.Errorf("%s: receipt %d: %w", pos[0], i, err))
			}
			receipts = append(receipts, r)
		}
	} else {
		r, err := receipt.Parse(raw)
		if err != nil {
			return fail(stderr, c, err)
		}
		receipts = append(receipts, r)
	}
	g, err := loadGenesis(*genesis)
	if err != nil {
		return fail(stderr, c, err)
	}
	var lines []string
	for _, r := range receipts {
		var data []byte
		if *dataFile != "" {
			if data, err = readData(*dataFile, r); err != nil {
				return fail(stderr, c, err)
			}
		}
		if err := receipt.VerifyWithSpec(r, g, data, spec, nil); err != nil {
			link := receipt.BrokenLink(err)
			if link == "" {
				link = "receipt"
			}
			fmt.Fprintf(stdout, "invalid: broken link %q\n", link)
			fmt.Fprintf(stderr, "datadragon verify: %s/%d: %v\n", r.Stream, r.Index, err)
			return exitFail
		}
		parts := []string{"record", "proofs", "header", "commit", "attestations"}
		if len(r.ProducerSignature) > 0 {
			parts = append(parts, "the producer's signature")
		}
		if data != nil {
			parts = append(parts, "data")
		}
		what := strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
		lines = append(lines, fmt.Sprintf("%s/%d accepted at height %d on chain %s (%d attestations); checked %s",
			r.Stream, r.Index, r.Block.Height, r.ChainID, len(r.Attestations), what))
		if rec, err := wire.UnmarshalRecord(r.Record); err == nil && rec.Raw != nil {
			lines = append(lines, rawWords(rec, data != nil, receipt.GenesisDeclaresRaw(g, rec.Stream), *specFile))
		}
	}
	fmt.Fprintln(stdout, "valid")
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return exitOK
}

// rawWords says what a raw record's receipt shows about its chunk, and
// where the normalisation its data was checked with came from.
func rawWords(rec *wire.Record, data, inGenesis bool, specFile string) string {
	l := rec.Raw
	s := fmt.Sprintf("raw chunk %s: position %d of stream %s, %d messages after normalisation, content hash %s; the next chunk begins with the message whose boundary hash is %s",
		l.ID, l.Position, rec.Stream, l.Count, l.Content, l.Close)
	switch {
	case !data:
		s += "; its messages were not checked (give them with --data)"
	case !inGenesis:
		s += "; the messages were normalised as " + specFile + " declares: that normalisation came from your spec, not from the genesis"
	default:
		s += "; the messages were normalised as the genesis declares"
	}
	return s
}

// readData reads what --data names for one receipt: for a pushed chunk
// inside a larger file only the chunk's part (so files of any size work),
// otherwise the whole file (bounded).
func readData(path string, r *receipt.Receipt) ([]byte, error) {
	rec, err := wire.UnmarshalRecord(r.Record)
	if err != nil || rec.Push == nil {
		return readLimited(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	n := rec.Push.Bytes()
	size := uint64(st.Size())
	off := rec.Push.Offset
	switch {
	case size == n:
		off = 0
	case size >= off+n:
	default:
		// Too short for the chunk: let Verify name the data link.
		return readLimited(path)
	}
	if n > 1<<31 {
		return nil, fmt.Errorf("the record says the chunk holds %d bytes: not a chunk this verifier reads", n)
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, int64(off)); err != nil {
		return nil, fmt.Errorf("%s: reading the chunk at offset %d: %w", path, off, err)
	}
	return buf, nil
}

// receiptParses reports why b is not a JSON receipt or bundle (nil if
// it is one).
func receiptParses(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		var items []json.RawMessage
		return json.Unmarshal(t, &items)
	}
	_, err := receipt.Parse(b)
	return err
}

// loadGenesis reads the trusted genesis, saying in words what a file
// given as one is when it is not.
func loadGenesis(path string) (*cmttypes.GenesisDoc, error) {
	g, err := cmttypes.GenesisDocFromFile(path)
	if err == nil {
		return g, nil
	}
	if b, rerr := readLimited(path); rerr == nil {
		if ddr.IsDDR(b) {
			return nil, fmt.Errorf("--genesis %s is a file receipt, not a genesis: give the receipt first and the network's genesis.json with --genesis", path)
		}
		if _, perr := receipt.Parse(b); perr == nil {
			return nil, fmt.Errorf("--genesis %s is a receipt, not a genesis: give the network's genesis.json (the one 'datadragon devnet' or 'datadragon init' wrote, or config/genesis.json in a node's home)", path)
		}
	}
	return nil, fmt.Errorf("--genesis %s is not a genesis file CometBFT reads: %w", path, err)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxReceiptBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxReceiptBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, maxReceiptBytes>>20)
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return b, nil
}
