package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	msgs := []Message{
		{Kind: KindData, Frame: Frame{Seq: 0, Time: 0, Payload: []byte{}}},
		{Kind: KindData, Frame: Frame{Seq: 1, Time: -5, Payload: []byte("hello")}},
		{Kind: KindData, Frame: Frame{Seq: math.MaxUint64, Time: math.MinInt64, Payload: bytes.Repeat([]byte{0xab}, MaxPayload)}},
		{Kind: KindGap, From: 3, To: 3},
		{Kind: KindGap, From: 0, To: math.MaxUint64},
		{Kind: KindEnd, Next: 0},
		{Kind: KindEnd, Next: 12345},
		{Kind: KindBehind, Next: 0},
		{Kind: KindBehind, Next: math.MaxUint64},
	}
	for _, m := range msgs {
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("encode %v: %v", m.Kind, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %v: %v", m.Kind, err)
		}
		if got.Kind != m.Kind || got.From != m.From || got.To != m.To || got.Next != m.Next ||
			got.Frame.Seq != m.Frame.Seq || got.Frame.Time != m.Frame.Time || !bytes.Equal(got.Frame.Payload, m.Frame.Payload) {
			t.Fatalf("round trip of %v changed it", m.Kind)
		}
		again, _ := Encode(got)
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding of %v differs", m.Kind)
		}
	}
}

// TestLayout pins the byte layout documented in doc.go.
func TestLayout(t *testing.T) {
	b, err := EncodeData(Frame{Seq: 0x0102030405060708, Time: 0x1112131415161718, Payload: []byte("xy")})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0, 0, 0, 2, 'x', 'y'}
	if !bytes.Equal(b, want) {
		t.Fatalf("data layout\n got %x\nwant %x", b, want)
	}
	if g := EncodeGap(7, 9); !bytes.Equal(g, []byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9}) {
		t.Fatalf("gap layout %x", g)
	}
	if e := EncodeEnd(258); !bytes.Equal(e, []byte{1, 3, 0, 0, 0, 0, 0, 0, 1, 2}) {
		t.Fatalf("end layout %x", e)
	}
	if e := EncodeBehind(258); !bytes.Equal(e, []byte{1, 4, 0, 0, 0, 0, 0, 0, 1, 2}) {
		t.Fatalf("behind layout %x", e)
	}
}

func TestRejects(t *testing.T) {
	good, _ := EncodeData(Frame{Seq: 1, Time: 2, Payload: []byte("abc")})
	oversized := make([]byte, DataHeaderSize, DataHeaderSize+MaxPayload+1)
	copy(oversized, good)
	binary.BigEndian.PutUint32(oversized[18:22], MaxPayload+1)
	oversized = append(oversized, make([]byte, MaxPayload+1)...)

	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"one byte", []byte{1}, ErrMalformed},
		{"version 0", append([]byte{0}, good[1:]...), ErrBadVersion},
		{"version 2", append([]byte{2}, good[1:]...), ErrBadVersion},
		{"unknown kind", []byte{1, 9, 0, 0}, ErrMalformed},
		{"short header", good[:DataHeaderSize-1], ErrMalformed},
		{"truncated payload", good[:len(good)-1], ErrMalformed},
		{"trailing byte", append(append([]byte{}, good...), 0), ErrMalformed},
		{"oversized payload", oversized, ErrTooLarge},
		{"gap too short", EncodeGap(1, 2)[:GapSize-1], ErrMalformed},
		{"behind too short", EncodeBehind(5)[:BehindSize-1], ErrMalformed},
		{"behind too long", append(EncodeBehind(5), 0), ErrMalformed},
		{"gap too long", append(EncodeGap(1, 2), 0), ErrMalformed},
		{"empty gap", []byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 8}, ErrMalformed},
		{"end too long", append(EncodeEnd(1), 0), ErrMalformed},
	}
	for _, c := range cases {
		if _, err := Decode(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := EncodeData(Frame{Payload: make([]byte, MaxPayload+1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("encoding an oversized payload: %v", err)
	}
	if _, err := Encode(Message{Kind: 7}); err == nil {
		t.Error("encoding an unknown kind succeeded")
	}
}

// FuzzDecodeFrame checks that Decode never panics, and that whatever it
// accepts re-encodes to exactly the same bytes (one encoding per message).
func FuzzDecodeFrame(f *testing.F) {
	d, _ := EncodeData(Frame{Seq: 42, Time: 1700000000000000000, Payload: []byte(`{"t":21.5}`)})
	e, _ := EncodeData(Frame{})
	for _, seed := range [][]byte{d, e, EncodeGap(0, 10), EncodeEnd(99), {}, {1}, {1, 1}, {2, 1}, d[:DataHeaderSize]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(m)
		if err != nil {
			t.Fatalf("decoded message does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("non-canonical decode:\n in  %x\n out %x", b, again)
		}
	})
}

func BenchmarkEncodeData(b *testing.B) {
	f := Frame{Seq: 1, Time: 2, Payload: make([]byte, 1024)}
	buf := make([]byte, 0, MaxMessageSize)
	b.SetBytes(int64(len(f.Payload)))
	for b.Loop() {
		buf, _ = AppendData(buf[:0], f)
	}
}

func BenchmarkDecode(b *testing.B) {
	msg, _ := EncodeData(Frame{Seq: 1, Time: 2, Payload: make([]byte, 1024)})
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}
