package receipt

import (
	"fmt"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
)

// rawRecord returns a raw record of stream whose digest is that of the
// captured messages under norm, with the messages (heartbeats and a
// connection field included) and the spec JSON its owner registered.
func rawRecord(t *testing.T, stream string, norm digest.Normalize) (*wire.Record, []byte) {
	t.Helper()
	var captured strings.Builder
	var first, close digest.Digest
	for i := range 6 {
		if i%3 == 1 {
			fmt.Fprintf(&captured, "{\"type\":\"heartbeat\",\"conn\":5}\n")
		}
		m := fmt.Sprintf(`{"type":"ticker","conn":5,"px":%d}`, 100+i)
		if i == 0 {
			n, _ := norm.Apply([]byte(m))
			first = digest.Boundary(n)
		}
		captured.WriteString(m + "\n")
	}
	n, _ := norm.Apply([]byte(`{"type":"ticker","conn":5,"px":999}`))
	close = digest.Boundary(n)
	d, err := digest.ComputeRaw(stream, norm, first, close, mustCapture(t, captured.String()))
	if err != nil {
		t.Fatal(err)
	}
	return &wire.Record{Stream: stream, Status: wire.StatusAccepted, Digest: wire.Digest(d),
		Raw: &wire.RawInfo{RawLink: wire.RawLink{ID: wire.Digest(first), Close: wire.Digest(close), Count: 6}, Position: 3}}, []byte(captured.String())
}

func mustCapture(t *testing.T, s string) [][]byte {
	msgs, err := ParseCaptured([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

var feedNorm = digest.Normalize{IgnoreField: "type", IgnoreValues: []string{"heartbeat"}, DropFields: []string{"conn"}}

// A raw record's data is checked with the genesis's normalisation for a
// genesis stream, and with the given spec's for a stream registered by
// transaction; without a spec, or with a wrong one, the answer says what
// to give.
func TestRawDataWithSpec(t *testing.T) {
	rec, data := rawRecord(t, "my-feed", feedNorm)
	inGenesis := &genesisSet{Raw: map[string]digest.Normalize{"my-feed": feedNorm}}
	registered := &genesisSet{}

	if err := checkRawData(inGenesis, rec, data, nil); err != nil {
		t.Fatalf("a genesis raw stream: %v", err)
	}
	err := checkRawData(registered, rec, data, nil)
	if BrokenLink(err) != "data" || !strings.Contains(err.Error(), "--spec") || !strings.Contains(err.Error(), "registered by transaction") {
		t.Fatalf("a registered stream without a spec: %v", err)
	}
	specJSON := `{"id":"my-feed","mode":"raw","source":"wss://feed.example/ws","raw":{"expected_messages":16,"normalize":{"ignore_field":"type","ignore_values":["heartbeat"],"drop_fields":["conn"]}}}`
	spec, err := ParseRawSpec([]byte(specJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkRawData(registered, rec, data, spec); err != nil {
		t.Fatalf("a registered stream with its spec: %v", err)
	}
	// The same spec agrees with the genesis's: fine; another one does not.
	if err := checkRawData(inGenesis, rec, data, spec); err != nil {
		t.Fatalf("a genesis stream with the same spec: %v", err)
	}
	// A wrong spec: it keeps the connection field, so the first message's
	// boundary hash is not the chunk id.
	wrong, err := ParseRawSpec([]byte(strings.Replace(specJSON, `,"drop_fields":["conn"]`, "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	err = checkRawData(registered, rec, data, wrong)
	if BrokenLink(err) != "data" || !strings.Contains(err.Error(), "the given spec (not from the genesis)") || !strings.Contains(err.Error(), "not the one stream my-feed was registered with") {
		t.Fatalf("a wrong spec: %v", err)
	}
	// A wrong spec that keeps the boundaries (heartbeats counted) still fails.
	hb, _ := ParseRawSpec([]byte(`{"id":"my-feed","mode":"raw","raw":{"normalize":{"drop_fields":["conn"]}}}`))
	if err := checkRawData(registered, rec, data, hb); BrokenLink(err) != "data" || !strings.Contains(err.Error(), "digest to") {
		t.Fatalf("a spec counting heartbeats: %v", err)
	}
	if err := checkRawData(inGenesis, rec, data, wrong); BrokenLink(err) != "data" || !strings.Contains(err.Error(), "another normalisation") {
		t.Fatalf("a spec contradicting the genesis: %v", err)
	}
	other, _ := ParseRawSpec([]byte(strings.Replace(specJSON, `"my-feed"`, `"other"`, 1)))
	if err := checkRawData(registered, rec, data, other); BrokenLink(err) != "data" || !strings.Contains(err.Error(), `stream "other"'s`) {
		t.Fatalf("another stream's spec: %v", err)
	}
	// The right spec with data missing a message fails.
	short := data[:strings.LastIndex(strings.TrimSuffix(string(data), "\n"), "\n")+1]
	if err := checkRawData(registered, rec, short, spec); BrokenLink(err) != "data" {
		t.Fatalf("short data with the right spec: %v", err)
	}
}

func TestParseRawSpec(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"mode":"raw","raw":{"normalize":{}}}`, `no "id"`},
		{`{"id":"s","mode":"push"}`, "not a raw stream's"},
		{`{"id":"s","mode":"raw","raw":{}}`, `no "raw"."normalize"`},
		{`{"id":"s","mode":"raw","raw":{"normalize":{"ignore_field":"type"}}}`, "ignore_values"},
		{`[1]`, "not a stream spec"},
		{strings.Repeat(" ", MaxSpecBytes+1), "limit"},
	} {
		if _, err := ParseRawSpec([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%.60q: %v, want an error saying %q", c.in, err, c.want)
		}
	}
	s, err := ParseRawSpec([]byte(`{"id":"s","mode":"raw","raw":{"normalize":{}}}`))
	if err != nil || s.ID != "s" {
		t.Fatalf("%+v %v", s, err)
	}
}

func FuzzParseRawSpec(f *testing.F) {
	f.Add([]byte(`{"id":"s","mode":"raw","raw":{"normalize":{"ignore_field":"type","ignore_values":["hb"],"drop_fields":["conn"]}}}`))
	f.Add([]byte(`{"id":"s","mode":"raw","raw":{"normalize":{}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseRawSpec(b)
		if err != nil {
			return
		}
		if s.ID == "" {
			t.Fatal("a spec without an id accepted")
		}
		if err := s.Normalize.Validate(); err != nil {
			t.Fatalf("an invalid normalisation accepted: %v", err)
		}
	})
}
