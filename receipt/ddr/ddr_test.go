package ddr_test

import (
	"bytes"
	"os"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// fixture reads a receipt, its genesis and its data from dir (the
// receipt package's fixtures: real receipts of 4-validator networks).
func fixture(t testing.TB, dir, data string) (*receipt.Receipt, *cmttypes.GenesisDoc, []byte) {
	t.Helper()
	raw, err := os.ReadFile(dir + "/receipt.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cmttypes.GenesisDocFromFile(dir + "/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := os.ReadFile(dir + "/" + data)
	if err != nil {
		t.Fatal(err)
	}
	return r, g, d
}

var half = ddr.Threshold{Numerator: 1, Denominator: 2}

func encode(t testing.TB, r *receipt.Receipt) []byte {
	t.Helper()
	f, err := ddr.From([]*receipt.Receipt{r}, half)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ddr.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func verify(b []byte, g *cmttypes.GenesisDoc, data []byte) (*ddr.Report, error) {
	f, err := ddr.Decode(b)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return ddr.Verify(f, g, nil, 0)
	}
	return ddr.Verify(f, g, bytes.NewReader(data), int64(len(data)))
}

// TestObservedRecord: an observed record's file receipt keeps 3 of the 4
// attestations (more than half of the power), is much smaller than its
// JSON receipt, round-trips, and verifies with and without its data.
func TestObservedRecord(t *testing.T) {
	r, g, data := fixture(t, "../testdata", "data.json")
	b := encode(t, r)
	f, err := ddr.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Records[0].Attestations); n != 3 || len(f.Extensions) != 3 {
		t.Errorf("%d attestations and %d extensions, want 3 of the 4 (more than half the power)", n, len(f.Extensions))
	}
	if len(b) > 80_000 {
		t.Errorf("the receipt of one observed record is %d bytes, over 80 KB", len(b))
	}
	again, err := ddr.Encode(f)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("decode and encode do not round-trip: %v", err)
	}
	rep, err := verify(b, g, data)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Records[0]
	if c.Stream != r.Stream || c.Index != r.Index || !c.Data || c.Pushed || len(c.Attesters) != 3 || c.Verdict.String() != "ok" {
		t.Errorf("report: %+v", c)
	}
	if _, err := verify(b, g, nil); err != nil {
		t.Errorf("without data: %v", err)
	}
	s, _ := ddr.Measure(f)
	t.Logf("observed record: %d bytes (JSON receipt %d): %+v", len(b), jsonSize(t, r), s)
}

func jsonSize(t testing.TB, r *receipt.Receipt) int {
	j, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return len(j)
}

// TestPushedChunk: a producer-signed pushed chunk keeps its producer
// signature and verifies against the file holding it.
func TestPushedChunk(t *testing.T) {
	r, g, data := fixture(t, "../testdata/push", "data.bin")
	b := encode(t, r)
	rep, err := verify(b, g, data)
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Records[0]; !c.Pushed || len(c.Producer) == 0 || !rep.Whole || c.Bytes != uint64(len(data)) {
		t.Errorf("report: %+v whole %v", c, rep.Whole)
	}
	// A longer file is not covered whole by the one chunk.
	longer := append(bytes.Clone(data), 'x')
	if rep, err := verify(b, g, longer); err != nil || rep.Whole {
		t.Errorf("a longer file: whole %v, %v", rep != nil && rep.Whole, err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)/3] ^= 1
	if _, err := verify(b, g, bad); receipt.BrokenLink(err) != "data" {
		t.Errorf("one data byte changed: %v, want a broken data link", err)
	}
}

// TestEveryByteMatters: changing any byte of a file receipt makes it fail
// to decode or to verify, naming a link. Bytes are sampled (each check
// verifies Ziggy signatures), with every byte of the head and of the
// first block.
func TestEveryByteMatters(t *testing.T) {
	r, g, data := fixture(t, "../testdata/push", "data.bin")
	b := encode(t, r)
	step := 1
	for i := 0; i < len(b); i += step {
		if i > 1200 {
			step = 211
		}
		c := bytes.Clone(b)
		c[i] ^= 0x10
		_, err := verify(c, g, data)
		if err == nil {
			t.Errorf("byte %d of %d changed: still verifies", i, len(b))
			continue
		}
		if _, isLink := err.(*receipt.LinkError); !isLink && !bytes.Equal(c[:8], b[:8]) {
			continue // the magic: not a receipt at all
		} else if receipt.BrokenLink(err) == "" {
			t.Errorf("byte %d: %v names no link", i, err)
		}
	}
	// Truncations and trailing bytes.
	for _, c := range [][]byte{b[:len(b)-1], b[:len(b)/2], b[:9], append(bytes.Clone(b), 0)} {
		if _, err := verify(c, g, data); err == nil {
			t.Errorf("%d bytes of %d verify", len(c), len(b))
		}
	}
}

// TestGenesisMismatch: a file receipt checked against another network's
// genesis fails at the chain id.
func TestGenesisMismatch(t *testing.T) {
	r, _, data := fixture(t, "../testdata/push", "data.bin")
	_, other, _ := fixture(t, "../testdata", "data.json")
	if _, err := verify(encode(t, r), other, data); receipt.BrokenLink(err) != "chain_id" {
		t.Errorf("another genesis: %v", err)
	}
}

func TestDecodeRefusesOtherInput(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("{}"), []byte(ddr.Magic), []byte(ddr.Magic + "\x02")} {
		if _, err := ddr.Decode(in); err == nil {
			t.Errorf("%q decoded", in)
		}
	}
}

// FuzzDecode: any bytes decode without a panic, and what decodes
// re-encodes to the same bytes; verifying it does not panic either.
func FuzzDecode(f *testing.F) {
	r, g, data := fixture(f, "../testdata/push", "data.bin")
	b := encode(f, r)
	f.Add(b, data)
	f.Add([]byte(ddr.Magic+"\x01"), []byte{})
	v2, _ := withSummary(f)
	f.Add(v2, data)
	f.Fuzz(func(t *testing.T, in, d []byte) {
		fl, err := ddr.Decode(in)
		if err != nil {
			return
		}
		out, err := ddr.Encode(fl)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("decoded but does not re-encode to the same bytes: %v", err)
		}
		ddr.Verify(fl, g, bytes.NewReader(d), int64(len(d)))
	})
}

// The multi-chunk fixture (testdata/file) is the file receipt of a
// 100,000-byte file pushed in 7 chunks through a real 4-validator network,
// written by node/TestFileReceiptOffline (DD_WRITE_DDR_FIXTURE=DIR).
func multiFixture(t testing.TB) ([]byte, *cmttypes.GenesisDoc, []byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/file/data.bin.ddr")
	if err != nil {
		t.Fatal(err)
	}
	g, err := cmttypes.GenesisDocFromFile("testdata/file/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := os.ReadFile("testdata/file/data.bin")
	if err != nil {
		t.Fatal(err)
	}
	return b, g, d
}

// TestMultiChunkFixture: the 7 chunks share one block and three extension
// signatures; the receipt covers the file whole; a changed byte anywhere
// (sampled), a dropped chunk or another file is refused.
func TestMultiChunkFixture(t *testing.T) {
	b, g, data := multiFixture(t)
	rep, err := verify(b, g, data)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := ddr.Decode(b)
	if len(rep.Records) != 7 || !rep.Whole || len(f.Extensions) != 3 || len(f.Blocks) != 1 {
		t.Fatalf("%d records, whole %v, %d extensions, %d blocks", len(rep.Records), rep.Whole, len(f.Extensions), len(f.Blocks))
	}
	for i := len(ddr.Magic); i < len(b); i += 97 {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		if _, err := verify(c, g, data); err == nil {
			t.Errorf("byte %d changed: still verifies", i)
		} else if receipt.BrokenLink(err) == "" {
			t.Errorf("byte %d: %v names no link", i, err)
		}
	}
	// A chunk left out: each remaining chunk is valid, but the file is
	// not covered whole.
	f.Records = f.Records[1:]
	rep, err = ddr.Verify(f, g, bytes.NewReader(data), int64(len(data)))
	if err != nil || rep.Whole {
		t.Errorf("without its first chunk: whole %v, %v", rep != nil && rep.Whole, err)
	}
	s, _ := ddr.Measure(f)
	t.Logf("%d bytes: %+v", len(b), s)
}

// BenchmarkVerifyFile measures decoding and verifying the 7-chunk file
// receipt against its 100,000-byte file (3 Ziggy signatures, 1 commit).
func BenchmarkVerifyFile(b *testing.B) {
	raw, g, data := multiFixture(b)
	for b.Loop() {
		if _, err := verify(raw, g, data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestJudgementsRideAlong: an expert's signed dispute of a record rides
// in the file receipt, is checked offline, and any change to it breaks
// the judgements link.
func TestJudgementsRideAlong(t *testing.T) {
	b, g, data := multiFixture(t)
	f, err := ddr.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ziggy.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := wire.UnmarshalRecord(f.Records[2].Record)
	if err != nil {
		t.Fatal(err)
	}
	note := "the third chunk's readings are out of calibration"
	sig, err := ziggy.Sign(key, wire.ExpertSignBytes(f.ChainID, rec.Stream, rec.Index, rec.Digest, true, note))
	if err != nil {
		t.Fatal(err)
	}
	f.Judgements = []ddr.Judgement{{Record: 2, Dispute: true, Note: note, Expert: key.Public().Bytes(), Signature: sig}}
	withJ, err := ddr.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify(withJ, g, data)
	if err != nil {
		t.Fatal(err)
	}
	if js := rep.Records[2].Judgements; len(js) != 1 || !js[0].Dispute || js[0].Note != note || js[0].InGenesis {
		t.Errorf("judgements of record 2: %+v", js)
	}
	for name, edit := range map[string]func(j *ddr.Judgement){
		"note":    func(j *ddr.Judgement) { j.Note += "!" },
		"dispute": func(j *ddr.Judgement) { j.Dispute = false },
		"record":  func(j *ddr.Judgement) { j.Record = 3 },
	} {
		f2, _ := ddr.Decode(withJ)
		edit(&f2.Judgements[0])
		c, _ := ddr.Encode(f2)
		if _, err := verify(c, g, data); receipt.BrokenLink(err) != "judgements" {
			t.Errorf("%s changed: %v, want a broken judgements link", name, err)
		}
	}
}

// TestDecodeBoundsCounts: counts above the limits, or more items than
// the bytes left could hold, are refused before anything is allocated.
func TestDecodeBoundsCounts(t *testing.T) {
	head := ddr.Magic + "\x01" + "\x00" + "\x00" + "\x00" // version, chain id, no validators, no history
	for name, in := range map[string]string{
		"blocks above the limit":  head + "\x81\x80\x04",      // 65,537 blocks
		"blocks beyond the bytes": head + "\x10" + "\x00\x00", // 16 blocks in 2 bytes
	} {
		_, err := ddr.Decode([]byte(in))
		if receipt.BrokenLink(err) != "encoding" {
			t.Errorf("%s: %v", name, err)
		}
	}
}
