package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/receipt"
)

// GET /v1/streams/ID shows a raw stream's spec, header values hidden, in
// the shape 'datadragon verify --spec' reads.
func TestRawStreamShowsItsSpec(t *testing.T) {
	a := newTestAPI(t, nil)
	next := uint64(12)
	a.fake.mu.Lock()
	a.fake.streams = append(a.fake.streams, app.StreamInfo{Stream: app.Stream{ID: "btc", Mode: app.ModeRaw, Source: "wss://feed.example/ws",
		Raw: &app.RawSpec{Header: map[string]string{"X-Api-Key": "secret-key"}, ExpectedMessages: 16,
			Normalize: digest.Normalize{IgnoreField: "type", IgnoreValues: []string{"heartbeat"}, DropFields: []string{"conn_id"}}}}, NextIndex: &next})
	a.fake.mu.Unlock()
	code, body, _ := a.do(http.MethodGet, "/v1/streams/btc", nil)
	if code != http.StatusOK || strings.Contains(string(body), "secret-key") || !strings.Contains(string(body), `"X-Api-Key":"(hidden)"`) {
		t.Fatalf("status %d: %s", code, body)
	}
	spec, err := receipt.ParseRawSpec(body)
	if err != nil || spec.ID != "btc" || len(spec.Normalize.DropFields) != 1 || spec.Normalize.DropFields[0] != "conn_id" {
		t.Fatalf("the stream as served is not a spec verify reads: %+v %v", spec, err)
	}
	if m := a.get("/v1/streams/btc", 200); m["next_index"] != 12.0 {
		t.Fatalf("next position %v", m["next_index"])
	}
}

// The feed sends a block's raw records in position order, in the slots
// they held, and leaves the others where they were.
func TestStreamOrder(t *testing.T) {
	raw := func(stream string, index, pos uint64) *wire.Record {
		return &wire.Record{Stream: stream, Index: index, Raw: &wire.RawInfo{Position: pos}}
	}
	framed := &wire.Record{Stream: "sensors", Index: 4}
	in := []*wire.Record{raw("a", 1, 7), framed, raw("a", 5, 6), raw("b", 9, 0), raw("a", 8, 5), nil}
	out := streamOrder(in)
	var got []uint64
	for _, r := range out {
		if r == nil {
			got = append(got, 999)
			continue
		}
		got = append(got, r.Index)
	}
	if want := []uint64{8, 4, 5, 9, 1, 999}; !equalU64(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if in[0].Index != 1 {
		t.Fatal("the block's own list was reordered")
	}
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
