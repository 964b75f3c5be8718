package wire

import (
	"bytes"
	"testing"

	"github.com/datadragon/datadragon/app/merkle"
)

func sampleSummary() *SummaryTx {
	return &SummaryTx{Validator: bytes.Repeat([]byte{7}, 20), First: 257, Last: 512, Leaves: 3,
		Root:      merkle.Root([]merkle.Hash{SummaryLeaf(260, merkle.Hash{1}), SummaryLeaf(300, merkle.Hash{2}), SummaryLeaf(511, merkle.Hash{3})}),
		Signature: bytes.Repeat([]byte{9}, 100)}
}

func TestSummaryTxRoundTripAndLimits(t *testing.T) {
	s := sampleSummary()
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !IsSummaryTx(b) || IsTx(b) || IsCommitTx(b) {
		t.Fatal("a summary transaction is not told apart from the other kinds")
	}
	back, err := UnmarshalSummaryTx(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Validator, s.Validator) || back.First != s.First || back.Last != s.Last || back.Leaves != s.Leaves ||
		back.Root != s.Root || !bytes.Equal(back.Signature, s.Signature) {
		t.Fatalf("round trip changed the summary: %+v", back)
	}
	for name, f := range map[string]func(*SummaryTx){
		"no signature":         func(s *SummaryTx) { s.Signature = nil },
		"more leaves":          func(s *SummaryTx) { s.Leaves = uint32(s.Last - s.First + 2) },
		"no leaves":            func(s *SummaryTx) { s.Leaves = 0 },
		"backwards":            func(s *SummaryTx) { s.Last = s.First - 1 },
		"height 0":             func(s *SummaryTx) { s.First = 0 },
		"span over the limit":  func(s *SummaryTx) { s.Last = s.First + MaxSummarySpan },
		"no validator":         func(s *SummaryTx) { s.Validator = nil },
		"signature over limit": func(s *SummaryTx) { s.Signature = make([]byte, MaxSignatureBytes+1) },
	} {
		bad := sampleSummary()
		f(bad)
		if _, err := bad.Marshal(); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	// Every truncation and a trailing byte are refused.
	for i := range b {
		if _, err := UnmarshalSummaryTx(b[:i]); err == nil {
			t.Fatalf("a summary cut to %d bytes decoded", i)
		}
	}
	if _, err := UnmarshalSummaryTx(append(bytes.Clone(b), 0)); err == nil {
		t.Fatal("a summary with a trailing byte decoded")
	}
}

// The signed message binds every field, and differs from an extension's.
func TestSummarySignBytesBindEveryField(t *testing.T) {
	s := sampleSummary()
	base := s.SignBytes("dd-test")
	seen := map[string]string{string(base): "base"}
	for name, m := range map[string][]byte{
		"chain":     s.SignBytes("dd-other"),
		"validator": SummarySignBytes("dd-test", bytes.Repeat([]byte{8}, 20), s.First, s.Last, s.Leaves, s.Root),
		"first":     SummarySignBytes("dd-test", s.Validator, s.First+1, s.Last, s.Leaves, s.Root),
		"last":      SummarySignBytes("dd-test", s.Validator, s.First, s.Last+1, s.Leaves, s.Root),
		"leaves":    SummarySignBytes("dd-test", s.Validator, s.First, s.Last, s.Leaves+1, s.Root),
		"root":      SummarySignBytes("dd-test", s.Validator, s.First, s.Last, s.Leaves, merkle.Hash{1}),
		"extension": SignBytes("dd-test", s.First, s.Validator, s.Root),
	} {
		if other, ok := seen[string(m)]; ok {
			t.Fatalf("the message for a changed %s equals that of %s", name, other)
		}
		seen[string(m)] = name
	}
	if SummaryLeaf(5, merkle.Hash{1}) == SummaryLeaf(6, merkle.Hash{1}) || SummaryLeaf(5, merkle.Hash{1}) == SummaryLeaf(5, merkle.Hash{2}) {
		t.Fatal("a summary leaf does not bind its height and root")
	}
}

func TestUnsignedExtensionRoundTrip(t *testing.T) {
	e := sampleExtension()
	raw, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	un, err := UnsignedExtension(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(un) >= len(raw)-len(e.Signature) {
		t.Fatalf("the unsigned form of %d bytes keeps the %d-byte signature", len(un), len(e.Signature))
	}
	back, err := UnmarshalUnsignedExtension(un)
	if err != nil {
		t.Fatal(err)
	}
	if back.Root() != e.Root() || back.Height != e.Height || back.Signature != nil {
		t.Fatal("the unsigned extension does not keep the signed payload")
	}
}

func FuzzUnmarshalSummaryTx(f *testing.F) {
	b, _ := sampleSummary().Marshal()
	f.Add(b)
	f.Add(SummaryMagic)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := UnmarshalSummaryTx(b)
		if err != nil {
			return
		}
		again, err := s.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a summary that does not re-encode to its bytes: %v", err)
		}
	})
}

func FuzzUnmarshalUnsignedExtension(f *testing.F) {
	raw, _ := sampleExtension().Marshal()
	un, _ := UnsignedExtension(raw)
	f.Add(un)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalUnsignedExtension(b)
		if err != nil {
			return
		}
		if e.Signature != nil {
			t.Fatal("an unsigned extension decoded with a signature")
		}
		e.Root()
	})
}
