package api

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
)

type fakeReceipts struct{}

func (fakeReceipts) Receipt(stream string, index uint64) (*receipt.Receipt, error) {
	if index == 7 {
		return &receipt.Receipt{Version: receipt.Version, ChainID: "dd-test", Stream: stream, Index: index}, nil
	}
	if index == 9 { // the receipt package's fixture, a real receipt
		b, err := os.ReadFile("../receipt/testdata/receipt.json")
		if err != nil {
			return nil, err
		}
		return receipt.Parse(b)
	}
	return nil, fmt.Errorf("record %s/%d: %w", stream, index, app.ErrNotFound)
}

func TestReceiptRoute(t *testing.T) {
	none := newTestAPI(t, nil)
	none.get("/v1/receipts/sensor/7", 501)

	a := newTestAPI(t, func(c *Config) { c.Receipts = fakeReceipts{} })
	m := a.get("/v1/receipts/sensor/7", 200)
	if m["version"] != 1.0 || m["stream"] != "sensor" || m["index"] != 7.0 {
		t.Fatalf("receipt: %v", m)
	}
	// ?format=ddr: the same receipt as a file receipt, which verifies.
	code, body, hd := a.do(http.MethodGet, "/v1/receipts/sensor/9?format=ddr", nil)
	if code != 200 || hd.Get("Content-Type") != "application/octet-stream" || !ddr.IsDDR(body) {
		t.Fatalf("?format=ddr: %d %q", code, hd.Get("Content-Type"))
	}
	f, err := ddr.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cmttypes.GenesisDocFromFile("../receipt/testdata/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ddr.Verify(f, g, nil, 0); err != nil || len(f.Records) != 1 {
		t.Errorf("the file receipt served: %v", err)
	}
	a.get("/v1/receipts/sensor/9?format=xml", 400)
	a.get("/v1/receipts/sensor/8", 404)
	if e := a.get("/v1/receipts/nope/8", 404); e["error"] == "" {
		t.Fatal("no error message")
	}
	a.get("/v1/receipts/sensor/x", 400)
	a.get("/v1/receipts/-x/1", 400)
}
