package api

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

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

// TestExplorerBrowserRaw: a raw chunk's record page links the chunks at
// the positions either side by their exact 64-bit indexes (beyond what a
// JavaScript number holds), and its receipt link names its own.
func TestExplorerBrowserRaw(t *testing.T) {
	bin := chromiumOrSkip(t)
	a := newTestAPI(t, nil)
	ids := []string{
		"f3a1c2d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff00",
		"9e8d7c6b5a4938271605f4e3d2c1b0a9112233445566778899aabbccddeeff00",
		"c0ffee1234567891aabbccddeeff0011223344556677889900aabbccddeeff00",
	}
	idx := func(id string) uint64 {
		var d wire.Digest
		copy(d[:], mustHex(t, id))
		return wire.RawIndex(d)
	}
	a.fake.mu.Lock()
	a.fake.streams = append(a.fake.streams, app.StreamInfo{Stream: app.Stream{ID: "btc", Mode: app.ModeRaw, Source: "wss://feed.example/ws",
		Raw: &app.RawSpec{ExpectedMessages: 16}}})
	a.fake.records["btc"] = map[uint64]*app.RecordView{}
	for p, id := range ids {
		w := wireRecord("btc", idx(id), false)
		w.DecidedHeight, w.FirstHeight = 10, 9
		rv := viewFromWire(w)
		rv.Raw = &app.RawView{ChunkID: id, Close: id, Content: id, Messages: 16, Position: uint64(40 + p)}
		if p > 0 {
			i := idx(ids[p-1])
			rv.Raw.PrevIndex, rv.Raw.PrevID = &i, ids[p-1]
		}
		if p+1 < len(ids) {
			i := idx(ids[p+1])
			rv.Raw.NextIndex, rv.Raw.NextID = &i, ids[p+1]
			rv.Raw.Close = ids[p+1]
		}
		a.fake.records["btc"][idx(id)] = rv
	}
	a.fake.mu.Unlock()
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	defer a.h.Feed().Close()
	b := newBrowser(t, bin)
	mid := fmt.Sprint(idx(ids[1]))
	b.step("loading a raw record", chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+"/#/records/btc/"+mid)))
	b.waitFor("the position pager", `!!document.getElementById("raw-next-pos") && !!document.getElementById("raw-prev-pos")`)
	href := func(sel string) string {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {getAttribute: () => ""}).getAttribute("href") || ""`, sel)))
		b.step("reading "+sel, err)
		return v
	}
	prev, next, rcpt := href("#raw-prev-pos"), href("#raw-next-pos"), href("#receipt")
	if want := fmt.Sprintf("#/records/btc/%d", idx(ids[0])); prev != want {
		t.Errorf("previous position links %q, want %q", prev, want)
	}
	if want := fmt.Sprintf("#/records/btc/%d", idx(ids[2])); next != want {
		t.Errorf("next position links %q, want %q", next, want)
	}
	if want := "/v1/receipts/btc/" + mid; rcpt != want {
		t.Errorf("receipt link %q, want %q", rcpt, want)
	}
	if s := b.text("#raw-position"); !strings.Contains(s, "41") {
		t.Errorf("position %q", s)
	}
	b.eval("following next", `document.getElementById("raw-next-pos").click()`)
	b.waitFor("the newest position", `(document.getElementById("raw-position") || {}).textContent !== undefined && document.getElementById("raw-position").textContent.startsWith("42") && !document.getElementById("raw-next-pos")`)
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
