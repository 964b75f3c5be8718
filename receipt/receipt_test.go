package receipt_test

import (
	"os"
	"slices"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/receipttest"
)

// The fixture in testdata was written by the node's network test
// (DD_WRITE_RECEIPT_FIXTURE=DIR go test ./node -run TestReceipt): a real
// receipt of a 4-validator chain, its genesis and the chunk's messages.
func fixture(t testing.TB) ([]byte, *cmttypes.GenesisDoc, []byte) {
	return loadFixture(t, "testdata", "data.json")
}

// loadFixture reads a receipt, its genesis and its data from dir.
func loadFixture(t testing.TB, dir, dataFile string) ([]byte, *cmttypes.GenesisDoc, []byte) {
	t.Helper()
	raw, err := os.ReadFile(dir + "/receipt.json")
	if err != nil {
		t.Fatal(err)
	}
	g, err := cmttypes.GenesisDocFromFile(dir + "/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(dir + "/" + dataFile)
	if err != nil {
		t.Fatal(err)
	}
	return raw, g, data
}

func TestFixtureVerifies(t *testing.T) {
	raw, g, data := fixture(t)
	r, err := receipt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := receipt.Verify(r, g, data); err != nil {
		t.Fatal(err)
	}
	if err := receipt.Verify(r, g, nil); err != nil {
		t.Fatalf("without data: %v", err)
	}
}

func TestFixtureTampering(t *testing.T) {
	raw, g, data := fixture(t)
	receipttest.CheckTampering(t, raw, g, data)
}

func TestParseRejectsGarbage(t *testing.T) {
	for _, b := range []string{"", "{", "[]", `{"version":"x"}`} {
		if _, err := receipt.Parse([]byte(b)); err == nil {
			t.Errorf("%q parsed", b)
		}
	}
	if err := receipt.Verify(&receipt.Receipt{Version: 1}, nil, nil); receipt.BrokenLink(err) != "genesis" {
		t.Errorf("no genesis: %v", err)
	}
}

// BenchmarkVerify measures offline verification of one receipt (4
// validators, 4 Ziggy-signed attestations, the chunk's data), from the
// receipt file's bytes.
func BenchmarkVerify(b *testing.B) {
	raw, g, data := fixture(b)
	b.ReportAllocs()
	for b.Loop() {
		r, err := receipt.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := receipt.Verify(r, g, data); err != nil {
			b.Fatal(err)
		}
	}
}

// The push fixture is a real receipt of a private, producer-signed pushed
// chunk (testdata/push: a devnet's genesis, the receipt as 'datadragon
// stream --key --private --receipts' wrote it, and the chunk's bytes).
func pushFixture(t testing.TB) ([]byte, *cmttypes.GenesisDoc, []byte) {
	return loadFixture(t, "testdata/push", "data.bin")
}

func TestPushFixture(t *testing.T) {
	raw, g, data := pushFixture(t)
	r, err := receipt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ProducerSignature) == 0 {
		t.Fatal("the push fixture carries no producer signature")
	}
	// The chunk's bytes alone, or a file holding them at the record's
	// offset (0 here) followed by more.
	for name, d := range map[string][]byte{"chunk": data, "file": append(slices.Clone(data), "more of the file"...)} {
		if err := receipt.Verify(r, g, d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	bad := func(name, link string, edit func(r *receipt.Receipt, d *[]byte)) {
		t.Helper()
		r, _ := receipt.Parse(raw)
		d := slices.Clone(data)
		edit(r, &d)
		if got := receipt.BrokenLink(receipt.Verify(r, g, d)); got != link {
			t.Errorf("%s: broken link %q, want %q", name, got, link)
		}
	}
	bad("producer signature flipped", "producer_signature", func(r *receipt.Receipt, _ *[]byte) { r.ProducerSignature[100] ^= 1 })
	bad("producer signature dropped", "producer_signature", func(r *receipt.Receipt, _ *[]byte) { r.ProducerSignature = nil })
	bad("one data byte", "data", func(_ *receipt.Receipt, d *[]byte) { (*d)[1000] ^= 1 })
	bad("data cut short", "data", func(_ *receipt.Receipt, d *[]byte) { *d = (*d)[:len(*d)-1] })
	bad("record byte", "record_proof", func(r *receipt.Receipt, _ *[]byte) { r.Record[len(r.Record)-9] ^= 1 })
}

// BenchmarkVerifyPush measures offline verification of a pushed chunk's
// receipt with its producer signature and 256 KiB of data.
func BenchmarkVerifyPush(b *testing.B) {
	raw, g, data := pushFixture(b)
	for b.Loop() {
		r, err := receipt.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := receipt.Verify(r, g, data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseVerify: any bytes as a receipt, and any data, are parsed and
// verified without a panic; nothing but the fixture's own bytes verifies.
func FuzzParseVerify(f *testing.F) {
	raw, g, data := fixture(f)
	praw, pg, pdata := pushFixture(f)
	f.Add(raw, data, false)
	f.Add(praw, pdata, true)
	f.Add([]byte(`{"version":1}`), []byte{}, false)
	f.Fuzz(func(t *testing.T, b, d []byte, push bool) {
		r, err := receipt.Parse(b)
		if err != nil {
			return
		}
		gen := g
		if push {
			gen = pg
		}
		receipt.Verify(r, gen, d)
	})
}
