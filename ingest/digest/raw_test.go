package digest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"testing"
)

var tickerNorm = Normalize{IgnoreField: "type", IgnoreValues: []string{"heartbeat"}, DropFields: []string{"conn_id"}}

func TestNormalizeHeartbeatsAndConnectionFields(t *testing.T) {
	cases := []struct {
		in, out string
		ignore  bool
	}{
		{`{"type":"heartbeat","conn_id":7}`, "", true},
		{` { "type" : "heartbeat" } `, "", true},
		{`{"type":"heart\u0062eat"}`, "", true}, // compared after unescaping
		{`{"type":"ticker","price":"1.5","conn_id":7}`, `{"type":"ticker","price":"1.5"}`, false},
		{`{"conn_id":7, "type":"ticker" ,"price": 1.5}`, `{"type":"ticker","price": 1.5}`, false},
		{`{"type":"ticker","price":1.5}`, `{"type":"ticker","price":1.5}`, false},         // nothing dropped: byte for byte
		{`{ "type":"ticker",  "price":1.5 }`, `{ "type":"ticker",  "price":1.5 }`, false}, // whitespace kept when nothing is dropped
		{`{"a":{"conn_id":1},"conn_id":2}`, `{"a":{"conn_id":1}}`, false},                 // nested objects untouched
		{`{"conn_id":1}`, `{}`, false},
		{`not json {"type":"heartbeat"}`, `not json {"type":"heartbeat"}`, false},
		{`["type","heartbeat"]`, `["type","heartbeat"]`, false},
		{`{"type":"heartbeat"`, `{"type":"heartbeat"`, false}, // invalid JSON is data
	}
	for _, c := range cases {
		out, ign := tickerNorm.Apply([]byte(c.in))
		if ign != c.ignore || (!ign && string(out) != c.out) {
			t.Errorf("Apply(%s) = %q, %v; want %q, %v", c.in, out, ign, c.out, c.ignore)
		}
	}
}

func TestNormalizedMessagesStayValidJSON(t *testing.T) {
	in := []byte(`{"x":[1,{"y":"}\"{"}],"conn_id":"a\"b","z":null}`)
	out, _ := tickerNorm.Apply(in)
	if !json.Valid(out) || string(out) != `{"x":[1,{"y":"}\"{"}],"z":null}` {
		t.Fatalf("got %s", out)
	}
}

func TestNormalizeValidate(t *testing.T) {
	bad := []Normalize{
		{IgnoreField: "type"},
		{IgnoreValues: []string{"x"}},
		{DropFields: []string{""}},
		{DropFields: make([]string, MaxNormalizeFields+1)},
		{DropFields: []string{string(make([]byte, MaxFieldNameLen+1))}},
	}
	for i, n := range bad {
		if n.Validate() == nil {
			t.Errorf("spec %d accepted", i)
		}
	}
	if err := tickerNorm.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestRawDigestSpec recomputes a digest from the documented encoding with
// nothing but crypto/sha256, as a third party would.
func TestRawDigestSpec(t *testing.T) {
	msgs := [][]byte{[]byte(`{"p":1,"conn_id":3}`), []byte(`{"type":"heartbeat"}`), []byte("binary\x00\xff")}
	norm0 := []byte(`{"p":1}`)
	bh := sha256.Sum256(append([]byte("datadragon/raw/boundary/v1"), norm0...))
	close := sha256.Sum256([]byte("next"))
	content := sha256.New()
	content.Write([]byte("datadragon/raw/content/v1"))
	for _, m := range [][]byte{norm0, msgs[2]} {
		content.Write(binary.BigEndian.AppendUint32(nil, uint32(len(m))))
		content.Write(m)
	}
	h := sha256.New()
	h.Write([]byte("datadragon/raw/v1"))
	h.Write([]byte{0, 5})
	h.Write([]byte("ticks"))
	h.Write(bh[:])
	h.Write(close[:])
	h.Write([]byte{0, 0, 0, 2})
	h.Write(content.Sum(nil))
	want := h.Sum(nil)

	got, err := ComputeRaw("ticks", tickerNorm, bh, close, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:], want) {
		t.Fatalf("ComputeRaw = %s, the documented encoding gives %x", got, want)
	}
	if _, err := ComputeRaw("ticks", tickerNorm, close, close, msgs); err == nil {
		t.Fatal("data starting at another message than the chunk id accepted")
	}
	if _, err := ComputeRaw("ticks", tickerNorm, bh, close, msgs[1:2]); err == nil {
		t.Fatal("a chunk of heartbeats only has a digest")
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{`{"type":"heartbeat"}`, `{"a":1,"conn_id":2}`, `{"conn_id":{"x":[1,"]"]}}`, `{}`, ` {"a" : "b" } `, `[1]`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, ign := tickerNorm.Apply(b)
		if ign {
			return
		}
		if json.Valid(b) && !json.Valid(out) {
			t.Fatalf("%q normalised to invalid JSON %q", b, out)
		}
		again, ign2 := tickerNorm.Apply(out)
		if ign2 || !bytes.Equal(again, out) {
			t.Fatalf("normalisation not idempotent: %q → %q → %q", b, out, again)
		}
		if v := Field(out, "conn_id"); v != nil && bytes.HasPrefix(bytes.TrimSpace(out), []byte("{")) && json.Valid(out) {
			t.Fatalf("conn_id survived: %q", out)
		}
	})
}
