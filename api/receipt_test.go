package api

import (
	"fmt"
	"testing"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/receipt"
)

type fakeReceipts struct{}

func (fakeReceipts) Receipt(stream string, index uint64) (*receipt.Receipt, error) {
	if index == 7 {
		return &receipt.Receipt{Version: receipt.Version, ChainID: "dd-test", Stream: stream, Index: index}, nil
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
	a.get("/v1/receipts/sensor/8", 404)
	if e := a.get("/v1/receipts/nope/8", 404); e["error"] == "" {
		t.Fatal("no error message")
	}
	a.get("/v1/receipts/sensor/x", 400)
	a.get("/v1/receipts/-x/1", 400)
}
