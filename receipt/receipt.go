// Package receipt builds and verifies receipts: everything needed to check
// offline, with no node running, that a chunk's record was accepted by the
// chain (DESIGN.md §7).
//
// A receipt links, in order:
//
//  1. the validator set, checked against a trusted genesis (addresses,
//     consensus public keys, Ziggy public keys, powers);
//  2. the record's canonical bytes (package app/wire);
//  3. its Merkle inclusion proof (RFC 9162, package app/merkle) to the
//     record root of the block that decided it;
//  4. that block's app hash, recomputed with app.AppHash from the previous
//     app hash, the height, the record root and the changeset hash;
//  5. the CometBFT header of the next height, which carries that app hash
//     and whose validators hash is the genesis set's;
//  6. the commit for that header, signed by more than 2/3 of the voting
//     power (CometBFT canonical vote sign bytes);
//  7. the attestations of the majority: for each, the Merkle path of the
//     attestation (rebuilt from the record) into its vote extension's root
//     and the validator's Ziggy signature over that root; their power must
//     exceed the genesis threshold;
//  8. optionally the chunk's data, whose digest must be the record's.
//
// Verify names the first link that does not hold.
package receipt

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	cmttypes "github.com/cometbft/cometbft/types"
)

// Version is the receipt format version.
const Version = 1

// Receipt is one accepted record and the evidence that links it to a
// trusted genesis. Its JSON form is the receipt file.
type Receipt struct {
	Version int    `json:"version"`
	ChainID string `json:"chain_id"`
	Stream  string `json:"stream"`
	Index   uint64 `json:"index"`
	// Record is the record's canonical encoding (wire.Record.Marshal),
	// the leaf of the block's record root.
	Record HexBytes `json:"record"`
	// RecordProof places the record in Block.RecordRoot.
	RecordProof Proof `json:"record_proof"`
	// Block is what the app hash of the deciding block is made of.
	Block Block `json:"block"`
	// Header is the CometBFT header of Block.Height+1, whose app_hash is
	// Block.AppHash.
	Header *cmttypes.Header `json:"header"`
	// Commit is the commit for Header (its block id hash is Header's hash).
	Commit *cmttypes.Commit `json:"commit"`
	// Validators is the validator set, in genesis order.
	Validators []Validator `json:"validators"`
	// Attestations are the majority's signed attestations.
	Attestations []Attestation `json:"attestations"`
	// ProducerSignature is a pushed chunk's producer signature, whose
	// SHA-256 the record holds: the chunk's authenticity, checked offline.
	ProducerSignature HexBytes `json:"producer_signature,omitempty"`
	// History is the validator set's history from the genesis to the
	// record (history.go); empty while the set is the genesis set.
	History []Change `json:"history,omitempty"`
}

// Proof is a Merkle inclusion proof: leaf Leaf of a tree of Leaves leaves.
type Proof struct {
	Leaf   int        `json:"leaf"`
	Leaves int        `json:"leaves"`
	Path   []HexBytes `json:"path"`
}

// Block is the deciding block's app-hash inputs (app.BlockInfo).
type Block struct {
	Height        int64    `json:"height"`
	PrevAppHash   HexBytes `json:"prev_app_hash"`
	RecordRoot    HexBytes `json:"record_root"`
	ChangesetHash HexBytes `json:"changeset_hash"`
	AppHash       HexBytes `json:"app_hash"`
}

// Validator is one member of the validator set.
type Validator struct {
	Name        string   `json:"name,omitempty"`
	Address     HexBytes `json:"address"`
	PubKey      PubKey   `json:"pub_key"`
	ZiggyPubKey HexBytes `json:"ziggy_pub_key"`
	Power       int64    `json:"power"`
}

// Attestation is one majority validator's signed vote extension, reduced
// to what proves its attestation of this chunk: the attestation itself is
// rebuilt from the record (stream, index, and the validator's digest,
// time and verdict), hashed as a leaf and walked up Path to Root; the
// validator's Ziggy signature covers wire.SignBytes(chain id,
// ExtensionHeight, validator address, Root).
type Attestation struct {
	Validator       HexBytes `json:"validator"` // CometBFT address
	ExtensionHeight int64    `json:"extension_height"`
	Proof           Proof    `json:"proof"`
	Root            HexBytes `json:"root"`
	Signature       HexBytes `json:"signature"` // Ziggy; empty when Summary proves the root
	// Summary, when set, proves Root by the validator's epoch summary
	// instead of Signature (summary.go).
	Summary *Summary `json:"summary,omitempty"`
}

// Marshal returns the receipt's indented JSON.
func (r *Receipt) Marshal() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// head is the first n bytes of b (for messages).
func head(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// ErrNotReceipt is returned by Parse for JSON that is not a receipt at all
// (as opposed to a receipt that does not verify, which Verify reports).
var ErrNotReceipt = errors.New("not a receipt")

// receiptKeys are the members without which an object is not a receipt:
// a tampered receipt keeps them (and Verify names the broken link), any
// other JSON object lacks them.
var receiptKeys = []string{"version", "stream", "record"}

// Parse decodes a receipt file. JSON that is not a receipt object — an
// array, another document, an object without a receipt's version, stream
// and record — is refused with an error wrapping ErrNotReceipt.
func Parse(b []byte) (*Receipt, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("receipt: %w: the JSON is a %s, a receipt is an object (GET /v1/receipts/STREAM/INDEX gives one)", ErrNotReceipt, te.Value)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("receipt: %w: the file is not JSON (%v at byte %d; it begins %q)", ErrNotReceipt, err, se.Offset, head(b, 24))
		}
		return nil, fmt.Errorf("receipt: %w", err)
	}
	// What a node answers instead of a receipt, saved as one: say what
	// the node said.
	if e, ok := members["error"]; ok && len(members) <= 2 {
		var msg string
		if json.Unmarshal(e, &msg) == nil {
			return nil, fmt.Errorf("receipt: %w: this is the node's error answer, saved instead of a receipt; the node said: %q", ErrNotReceipt, head([]byte(msg), 300))
		}
	}
	if _, ok := members["genesis_time"]; ok {
		if _, ok := members["app_state"]; ok {
			return nil, fmt.Errorf("receipt: %w: this is a genesis file; give the receipt first and the genesis with --genesis", ErrNotReceipt)
		}
	}
	var missing []string
	for _, k := range receiptKeys {
		if _, ok := members[k]; !ok {
			missing = append(missing, strconv.Quote(k))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("receipt: %w: the object has no %s (a receipt has version, chain_id, stream, index, record, record_proof, block, header, commit, validators and attestations; GET /v1/receipts/STREAM/INDEX gives one)", ErrNotReceipt, strings.Join(missing, ", "))
	}
	var r Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	return &r, nil
}

// LinkError says which link of a receipt does not hold.
type LinkError struct {
	Link string // version, genesis, chain_id, validators, record, record_proof, block, header, commit, attestations, summary, data
	Err  error
}

func (e *LinkError) Error() string { return e.Link + ": " + e.Err.Error() }
func (e *LinkError) Unwrap() error { return e.Err }

func broken(link string, format string, args ...any) error {
	return &LinkError{Link: link, Err: fmt.Errorf(format, args...)}
}

// BrokenLink returns the link named by err, or "" if err is not a
// LinkError.
func BrokenLink(err error) string {
	var le *LinkError
	if errors.As(err, &le) {
		return le.Link
	}
	return ""
}
