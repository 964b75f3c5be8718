package app

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	bolt "go.etcd.io/bbolt"

	"github.com/datadragon/datadragon/app/fakesig"
	"github.com/datadragon/datadragon/app/store"
	"github.com/datadragon/datadragon/app/tally"
	"github.com/datadragon/datadragon/app/wire"
)

// acceptedNet runs a network until sensors/0..9 are accepted and settled.
func acceptedNet(t *testing.T) *testNet {
	n := newNet(t, netOpts{streams: []string{"sensors"}})
	for h := 1; h <= 16; h++ {
		if h <= 10 {
			n.observe("sensors", uint64(h-1))
		}
		n.step()
	}
	if r := n.record(0, "sensors", 5); r.Status != "accepted" || r.Digest != hexDigest(digestOf("sensors", 5)) || len(r.Attestations) != 4 {
		t.Fatalf("sensors/5 before the damage: %+v", r)
	}
	return n
}

// occurrences returns every offset of pattern in the file.
func occurrences(t *testing.T, path string, pattern []byte) []int64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for i := 0; ; {
		j := bytes.Index(raw[i:], pattern)
		if j < 0 {
			return out
		}
		out = append(out, int64(i+j))
		i += j + 1
	}
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func byteAt(t *testing.T, path string, off int64) byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw[off]
}

// wantCorrupt checks err is the damaged-state error: it names the file
// and says what to do.
func wantCorrupt(t *testing.T, what string, err error, path string) {
	t.Helper()
	var ce *store.CorruptError
	if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
		t.Fatalf("%s: got %v, want the damaged-state error", what, err)
	}
	for _, want := range []string{path, "is corrupt", CorruptAdvice} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: the error %q does not say %q", what, err, want)
		}
	}
}

// One bit flipped in a stored digest of an accepted record: the node
// never serves the wrong digest, reports the damage naming the file on
// every read and in Status (the node's /healthz), stops taking part in
// consensus, and refuses to open the file again.
func TestFlippedDigestBitIsDetectedNotServed(t *testing.T) {
	n := acceptedNet(t)
	v := n.vals[0]
	a := v.app
	path := filepath.Join(v.dir, store.FileName)
	d := digestOf("sensors", 5)
	offs := occurrences(t, path, d[:])
	if len(offs) == 0 {
		t.Fatal("the digest is not in the file")
	}
	// Flip one bit in one copy of the digest at a time (some copies are in
	// pages bbolt has freed, which nothing reads), until a read meets it.
	detected := false
	for _, off := range offs {
		orig := byteAt(t, path, off+9)
		writeAt(t, path, off+9, []byte{orig ^ 0x10})
		r, err := a.Record("sensors", 5)
		if err == nil {
			if r.Digest != hexDigest(d) {
				t.Fatalf("served the damaged digest %s as accepted (true %s)", r.Digest, hexDigest(d))
			}
			for _, at := range r.Attestations {
				if at.Digest != hexDigest(d) {
					t.Fatalf("served an attestation of the damaged digest %s", at.Digest)
				}
			}
			writeAt(t, path, off+9, []byte{orig}) // a freed page: put it back
			continue
		}
		wantCorrupt(t, "Record", err, path)
		detected = true
		break
	}
	if !detected {
		t.Fatal("no read met the flipped bit")
	}

	// Every read now says so, even of intact values.
	_, err := a.Status()
	wantCorrupt(t, "Status", err, path)
	_, _, err = a.Records("sensors", 0, 10)
	wantCorrupt(t, "Records", err, path)
	_, err = a.Validators()
	wantCorrupt(t, "Validators", err, path)
	_, err = a.Streams()
	wantCorrupt(t, "Streams", err, path)
	_, err = a.Block(3)
	wantCorrupt(t, "Block", err, path)
	_, err = a.RecordBytes("sensors", 1)
	wantCorrupt(t, "RecordBytes", err, path)
	if q, _ := a.Query(ctx, &abci.QueryRequest{Path: "/record/sensors/1"}); q.Code == 0 || !strings.Contains(q.Log, path) {
		t.Fatalf("ABCI query on damaged state: code %d, %q", q.Code, q.Log)
	}
	// Consensus: no attestations from it, no block built on it.
	if ext, err := a.ExtendVote(ctx, &abci.ExtendVoteRequest{Height: n.height + 1, Time: n.blockTime(n.height + 1)}); err != nil || len(ext.VoteExtension) != 0 {
		t.Fatalf("ExtendVote on damaged state: %d bytes, %v", len(ext.GetVoteExtension()), err)
	}
	_, err = a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: n.height + 1, Time: n.blockTime(n.height + 1)})
	wantCorrupt(t, "FinalizeBlock", err, path)

	// At the next start the scrub finds it before anything is served.
	a.Close()
	v.app = nil
	_, err = New(Config{Dir: v.dir, Scheme: n.scheme, Signer: v.signer, Attestor: v.att})
	wantCorrupt(t, "New", err, path)
}

// A damaged page that makes bbolt panic or read outside its map: every
// read answers the damaged-state error, nothing panics.
func TestDamagedPageIsAnErrorNotAPanic(t *testing.T) {
	n := acceptedNet(t)
	v := n.vals[0]
	a := v.app
	path := filepath.Join(v.dir, store.FileName)
	d := digestOf("sensors", 5)
	offs := occurrences(t, path, d[:])
	ps := int64(os.Getpagesize())
	garbage := bytes.Repeat([]byte{0xff}, 16) // the page header: id, flags, count, overflow
	detected := false
	for _, off := range offs {
		page := off / ps * ps
		raw, _ := os.ReadFile(path)
		orig := bytes.Clone(raw[page : page+16])
		writeAt(t, path, page, garbage)
		_, err := a.Record("sensors", 5)
		if err == nil {
			writeAt(t, path, page, orig)
			continue
		}
		wantCorrupt(t, "Record", err, path)
		if !strings.Contains(err.Error(), "page structure") {
			t.Fatalf("the error does not say the page structure is damaged: %v", err)
		}
		detected = true
		break
	}
	if !detected {
		t.Fatal("no read met the damaged page")
	}
	_, _, err := a.Records("sensors", 0, 10)
	wantCorrupt(t, "Records", err, path)
	_, err = a.Status()
	wantCorrupt(t, "Status", err, path)
	a.Close()
	v.app = nil
	_, err = New(Config{Dir: v.dir, Scheme: n.scheme, Signer: v.signer, Attestor: v.att})
	wantCorrupt(t, "New", err, path)
}

// The scrub finds damage no read has met, and contradictions between
// values whose checksums all hold: a record that is not the one its block
// committed to, a record lost from the file.
func TestScrubFindsWhatReadsHaveNotMet(t *testing.T) {
	n := acceptedNet(t)
	rep, err := n.vals[0].app.Scrub(ctx)
	if err != nil {
		t.Fatalf("scrub of intact state: %v", err)
	}
	if rep.Blocks != int(n.height) || rep.Records != 10 || rep.Keys == 0 || rep.FileBytes == 0 {
		t.Fatalf("scrub report %+v at height %d", rep, n.height)
	}

	// A bit flipped in a block's information, which only receipts read.
	v := n.vals[1]
	path := filepath.Join(v.dir, store.FileName)
	bi, err := v.app.Block(4)
	if err != nil {
		t.Fatal(err)
	}
	offs := occurrences(t, path, bi.AppHash)
	found := false
	for _, off := range offs {
		orig := byteAt(t, path, off)
		writeAt(t, path, off, []byte{orig ^ 1})
		if _, err := v.app.Scrub(ctx); err != nil {
			wantCorrupt(t, "Scrub", err, path)
			found = true
			break
		}
		writeAt(t, path, off, []byte{orig})
	}
	if !found {
		t.Fatal("the scrub did not find the flipped bit")
	}
	_, err = v.app.Status()
	wantCorrupt(t, "Status after the scrub", err, path)
	v.app.Close()
	v.app = nil

	// Another record under sensors/5, with a valid checksum.
	v = n.vals[2]
	path = filepath.Join(v.dir, store.FileName)
	raw, err := v.app.RecordBytes("sensors", 5)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := wire.UnmarshalRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	rec.Digest[0] ^= 1
	b := v.app.store.NewBatch()
	b.Put([]byte(bucketRecords), rec.Key().Bytes(), rec.Marshal())
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	_, err = v.app.Scrub(ctx)
	wantCorrupt(t, "Scrub of a replaced record", err, path)
	if !strings.Contains(err.Error(), "record root") {
		t.Fatalf("the error does not name the record root: %v", err)
	}
	v.app.Close()
	v.app = nil

	// A record lost.
	v = n.vals[3]
	path = filepath.Join(v.dir, store.FileName)
	b = v.app.store.NewBatch()
	b.Delete([]byte(bucketRecords), wire.ChunkKey{Stream: "sensors", Index: 5}.Bytes())
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	_, err = v.app.Scrub(ctx)
	wantCorrupt(t, "Scrub of a lost record", err, path)
	if !strings.Contains(err.Error(), "sensors/5") || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("the error does not name the lost record: %v", err)
	}
	v.app.Close()
	v.app = nil
}

// A state file of the format before checksums (bare values) is refused,
// unchanged, with an error saying what to do.
func TestOlderStoreFormatIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, store.FileName)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte(bucketMeta))
		if err != nil {
			return err
		}
		return b.Put(keyHeight, u64(7))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	_, err = New(Config{Dir: dir, Scheme: fakesig.New()})
	if err == nil || !errors.Is(err, store.ErrFormat) || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), "older version") || !strings.Contains(err.Error(), FormatAdvice) {
		t.Fatalf("opening a format-1 state file: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("refusing the file changed it")
	}
}

// A state file of format 2 (app hashes that do not commit to the whole
// state) is refused, unchanged, with an error saying that its chain
// cannot be extended by this version and what to do instead.
func TestFormatTwoStateIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, store.FileName)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("_store"))
		if err != nil {
			return err
		}
		// The store's sealing: CRC-32C(u8 len ‖ bucket ‖ u32 len ‖ key ‖ value).
		v := []byte(store.FormatBeforeStateDigest)
		sealed := append([]byte{6}, "_store"...)
		sealed = append(binary.BigEndian.AppendUint32(sealed, 6), "format"...)
		sealed = append(sealed, v...)
		sum := crc32.Checksum(sealed, crc32.MakeTable(crc32.Castagnoli))
		return b.Put([]byte("format"), binary.BigEndian.AppendUint32(v, sum))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	_, err = New(Config{Dir: dir, Scheme: fakesig.New()})
	if err == nil || !errors.Is(err, store.ErrFormat) || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), "format 2") || !strings.Contains(err.Error(), NewChainAdvice) {
		t.Fatalf("opening a format-2 state file: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("refusing the file changed it")
	}
}

// The store's checksums are local: the app hash of a fixed history does
// not depend on them. It is pinned so that any change to what the app
// hash commits to is seen (and comes with a store format of its own).
func TestAppHashDoesNotDependOnTheStoreFormat(t *testing.T) {
	n := acceptedNet(t)
	// Computed by store format 3 (the state digest in the changeset
	// hash), for the history of acceptedNet.
	const want = "dc5ab672e31e147b93a690190452c6cffdabbea1a43284f4b529e629338baafc"
	if got := hex.EncodeToString(n.hashes[len(n.hashes)-1]); got != want {
		t.Fatalf("app hash at height %d: %s, want %s", n.height, got, want)
	}
}

// A tally that no longer agrees with its committed record (each with a
// valid checksum) is not served: the digest shown must be the one the
// chain committed to.
func TestTallyDisagreeingWithItsRecordIsNotServed(t *testing.T) {
	n := acceptedNet(t)
	v := n.vals[0]
	k := wire.ChunkKey{Stream: "sensors", Index: 5}
	var raw []byte
	if err := v.app.store.View(func(tx store.Tx) error { raw = tx.Get([]byte(bucketChunks), k.Bytes()); return nil }); err != nil || raw == nil {
		t.Fatalf("reading the tally: %v", err)
	}
	ch, err := tally.UnmarshalChunk(raw)
	if err != nil {
		t.Fatal(err)
	}
	ch.Claim.Digest[31] ^= 1
	b := v.app.store.NewBatch()
	b.Put([]byte(bucketChunks), k.Bytes(), ch.Marshal())
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	r, err := v.app.Record("sensors", 5)
	if err == nil {
		t.Fatalf("served a tally that contradicts its record: %s", r.Digest)
	}
	wantCorrupt(t, "Record", err, filepath.Join(v.dir, store.FileName))
	if !strings.Contains(err.Error(), "sensors/5") || !strings.Contains(err.Error(), "disagree") {
		t.Fatalf("the error does not name the chunk: %v", err)
	}
	v.app.Close()
	v.app = nil
}
