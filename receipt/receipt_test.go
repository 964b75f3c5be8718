package receipt_test

import (
	"os"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/receipttest"
)

// The fixture in testdata was written by the node's network test
// (DD_WRITE_RECEIPT_FIXTURE=DIR go test ./node -run TestReceipt): a real
// receipt of a 4-validator chain, its genesis and the chunk's messages.
func fixture(t testing.TB) ([]byte, *cmttypes.GenesisDoc, []byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/receipt.json")
	if err != nil {
		t.Fatal(err)
	}
	g, err := cmttypes.GenesisDocFromFile("testdata/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/data.json")
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
