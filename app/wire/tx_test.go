package wire

import (
	"bytes"
	"strings"
	"testing"
)

func sampleTxs() [][]byte {
	pub := &ChunkTx{Stream: "uploads", Origin: [OriginSize]byte{1, 2, 3}, FirstSeq: 7, Offset: 4096,
		Messages: [][]byte{[]byte("one"), {}, []byte("three")}}
	priv := &ChunkTx{Stream: "lab", Index: 3, Private: true, Digest: Digest{9}, Lengths: []uint32{10, 20},
		Producer: bytes.Repeat([]byte{5}, 32), Signature: []byte("sig")}
	reg := &RegisterTx{Spec: []byte(`{"id":"lab","mode":"push"}`), Owner: bytes.Repeat([]byte{6}, 32), Nonce: 1, Signature: []byte("sig")}
	exp := &ExpertTx{Stream: "lab", Index: 3, Digest: Digest{9}, Dispute: true, Note: "out of calibration", Expert: []byte("k"), Signature: []byte("s")}
	fetch := &FetchChunkTx{Stream: "uploads", Origin: [OriginSize]byte{1, 2, 3}, FirstSeq: 7, Offset: 4096,
		Lengths: []uint32{3, 0, 5}, Content: ContentID{7}, Source: "http://127.0.0.1:8080"}
	var out [][]byte
	for _, m := range []interface{ Marshal() ([]byte, error) }{pub, priv, reg, exp, fetch} {
		b, err := m.Marshal()
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

func TestTxRoundTrip(t *testing.T) {
	for i, b := range sampleTxs() {
		tx, err := UnmarshalTx(b)
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		var again []byte
		switch {
		case tx.Chunk != nil:
			again, err = tx.Chunk.Marshal()
		case tx.Fetch != nil:
			again, err = tx.Fetch.Marshal()
		case tx.Register != nil:
			again, err = tx.Register.Marshal()
		case tx.Expert != nil:
			again, err = tx.Expert.Marshal()
		}
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("tx %d does not round-trip: %v", i, err)
		}
		// Every truncation is refused, never a panic.
		for n := range len(b) {
			if _, err := UnmarshalTx(b[:n]); err == nil {
				t.Fatalf("tx %d cut to %d bytes decoded", i, n)
			}
		}
		if _, err := UnmarshalTx(append(bytes.Clone(b), 0)); err == nil {
			t.Fatalf("tx %d with a trailing byte decoded", i)
		}
	}
}

func TestTxLimits(t *testing.T) {
	big := &ChunkTx{Stream: "s", Origin: [OriginSize]byte{1}, Messages: [][]byte{make([]byte, MaxChunkDataBytes+1)}}
	if _, err := big.Marshal(); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("a chunk over the data limit: %v", err)
	}
	for name, c := range map[string]*ChunkTx{
		"no messages":          {Stream: "s"},
		"private, no digest":   {Stream: "s", Private: true, Lengths: []uint32{1}, Signature: []byte{1}, Producer: []byte{1}},
		"private, unsigned":    {Stream: "s", Private: true, Lengths: []uint32{1}, Digest: Digest{1}},
		"public with a digest": {Stream: "s", Messages: [][]byte{{1}}, Digest: Digest{1}},
		"key without a sig":    {Stream: "s", Messages: [][]byte{{1}}, Producer: []byte{1}},
		"bad stream id":        {Stream: "a b", Messages: [][]byte{{1}}},
		"too many messages":    {Stream: "s", Messages: make([][]byte, MaxChunkMessages+1)},
	} {
		if _, err := c.Marshal(); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	if _, err := UnmarshalTx(make([]byte, MaxTxBytes+1)); err == nil {
		t.Error("an oversized transaction decoded")
	}
	if _, err := UnmarshalTx(append(bytes.Clone(TxMagic), 99)); err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("an unknown kind: %v", err)
	}
	if _, err := (&ExpertTx{Stream: "s", Digest: Digest{1}, Note: "\xff", Expert: []byte{1}, Signature: []byte{1}}).Marshal(); err == nil {
		t.Error("a note that is not UTF-8 encoded")
	}
}

// The sign-bytes functions separate domains and bind every field.
func TestSignBytesBindEveryField(t *testing.T) {
	base := ProducerSignBytes("c", "s", 1, 2, Digest{3})
	for name, other := range map[string][]byte{
		"chain":  ProducerSignBytes("d", "s", 1, 2, Digest{3}),
		"stream": ProducerSignBytes("c", "t", 1, 2, Digest{3}),
		"index":  ProducerSignBytes("c", "s", 9, 2, Digest{3}),
		"offset": ProducerSignBytes("c", "s", 1, 9, Digest{3}),
		"digest": ProducerSignBytes("c", "s", 1, 2, Digest{9}),
	} {
		if bytes.Equal(base, other) {
			t.Errorf("producer sign bytes ignore the %s", name)
		}
	}
	e := ExpertSignBytes("c", "s", 1, Digest{3}, false, "n")
	if bytes.Equal(e, ExpertSignBytes("c", "s", 1, Digest{3}, true, "n")) || bytes.Equal(e, ExpertSignBytes("c", "s", 1, Digest{3}, false, "m")) {
		t.Error("expert sign bytes ignore dispute or note")
	}
	r := RegisterSignBytes("c", []byte("o"), 1, []byte("{}"))
	if bytes.Equal(r, RegisterSignBytes("c", []byte("o"), 2, []byte("{}"))) || bytes.Equal(r, RegisterSignBytes("d", []byte("o"), 1, []byte("{}"))) {
		t.Error("registration sign bytes ignore nonce or chain")
	}
}

func FuzzUnmarshalTx(f *testing.F) {
	for _, b := range sampleTxs() {
		f.Add(b)
	}
	f.Add(TxMagic)
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := UnmarshalTx(b)
		if err != nil {
			return
		}
		var again []byte
		switch {
		case tx.Chunk != nil:
			again, err = tx.Chunk.Marshal()
		case tx.Fetch != nil:
			again, err = tx.Fetch.Marshal()
		case tx.Register != nil:
			again, err = tx.Register.Marshal()
		case tx.Expert != nil:
			again, err = tx.Expert.Marshal()
		case tx.Govern != nil:
			again, err = tx.Govern.Marshal()
		default:
			t.Fatal("decoded to nothing")
		}
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical encoding: %v", err)
		}
	})
}

func TestFetchChunkLimits(t *testing.T) {
	ok := FetchChunkTx{Stream: "s", Origin: [OriginSize]byte{1}, Lengths: []uint32{MaxFetchedChunkBytes}, Content: ContentID{1}, Source: "https://gw.example:443/api"}
	if _, err := ok.Marshal(); err != nil {
		t.Fatalf("a 16 MiB chunk is refused: %v", err)
	}
	for name, mod := range map[string]func(c *FetchChunkTx){
		"oversize":    func(c *FetchChunkTx) { c.Lengths = []uint32{MaxFetchedChunkBytes, 1} },
		"no origin":   func(c *FetchChunkTx) { c.Origin = [OriginSize]byte{} },
		"no content":  func(c *FetchChunkTx) { c.Content = ContentID{} },
		"no messages": func(c *FetchChunkTx) { c.Lengths = nil },
		"bad scheme":  func(c *FetchChunkTx) { c.Source = "file:///etc/passwd" },
		"query":       func(c *FetchChunkTx) { c.Source = "http://h/?x=1" },
		"userinfo":    func(c *FetchChunkTx) { c.Source = "http://u:p@h/" },
		"long source": func(c *FetchChunkTx) { c.Source = "http://h/" + strings.Repeat("a", MaxFetchSourceLen) },
	} {
		c := ok
		mod(&c)
		if _, err := c.Marshal(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The content id binds every field and byte.
	a := NewContentHasher("s", [OriginSize]byte{1}, 0)
	a.Add([]byte("ab"))
	b := NewContentHasher("s", [OriginSize]byte{1}, 0)
	b.Add([]byte("a"))
	b.Add([]byte("b"))
	c := NewContentHasher("s", [OriginSize]byte{1}, 1)
	c.Add([]byte("ab"))
	if a.Sum() == b.Sum() || a.Sum() == c.Sum() {
		t.Error("content id ignores message boundaries or the first seq")
	}
}
