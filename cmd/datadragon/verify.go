package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/receipt"
)

// maxReceiptBytes bounds the receipt and data files verify reads.
const maxReceiptBytes = 64 << 20

var verifyCmd = &command{
	path:     "verify",
	synopsis: "RECEIPT --genesis GENESIS [--data FILE]",
	summary:  "check a record's receipt offline against a trusted genesis",
	about: `Check a receipt (GET /v1/receipts/STREAM/INDEX on any node) with no node
running: the validator set against the trusted genesis (CometBFT's
genesis.json with DataDragon's app_state), the record and its Merkle proof
to the block's record root, the app hash, the next block's header and its
commit by more than 2/3 of the voting power, and the majority's
Ziggy-signed attestations. With --data, the chunk's messages — a JSON list
of {"seq": N, "data": "<base64>"} in seq order — must hash to the record's
digest.

Prints "valid" and exits 0 only if every link holds; otherwise prints
"invalid" with the first broken link (version, chain_id, genesis,
validators, record, record_proof, block, header, commit, attestations,
data) and exits 1.`,
	examples: []string{
		"curl -s localhost:8080/v1/receipts/sensors/12 > r.json",
		"datadragon verify r.json --genesis ~/.datadragon/node0/config/genesis.json",
		"datadragon verify r.json --genesis genesis.json --data chunk12.json",
	},
}

func runVerify(args []string, stdout, stderr io.Writer) int {
	c := verifyCmd
	fs := newFlagSet(c)
	genesis := fs.String("genesis", "", "the trusted genesis `FILE` (CometBFT genesis.json); required")
	dataFile := fs.String("data", "", "the chunk's messages, a JSON `FILE` [{\"seq\":N,\"data\":\"<base64>\"}, ...]")
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
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	raw, err := readLimited(pos[0])
	if err != nil {
		return fail(stderr, c, err)
	}
	r, err := receipt.Parse(raw)
	if err != nil {
		return fail(stderr, c, err)
	}
	g, err := cmttypes.GenesisDocFromFile(*genesis)
	if err != nil {
		return fail(stderr, c, fmt.Errorf("genesis: %w", err))
	}
	var data []byte
	if *dataFile != "" {
		if data, err = readLimited(*dataFile); err != nil {
			return fail(stderr, c, err)
		}
	}
	if err := receipt.Verify(r, g, data); err != nil {
		link := receipt.BrokenLink(err)
		if link == "" {
			link = "receipt"
		}
		fmt.Fprintf(stdout, "invalid: broken link %q\n", link)
		fmt.Fprintf(stderr, "datadragon verify: %v\n", err)
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
	fmt.Fprintf(stdout, "valid\n%s/%d accepted at height %d on chain %s (%d attestations); checked %s\n",
		r.Stream, r.Index, r.Block.Height, r.ChainID, len(r.Attestations), what)
	return exitOK
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
