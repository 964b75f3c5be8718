package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/app/merkle"
)

func att(stream string, i uint64, dg byte) Attestation {
	return Attestation{Stream: stream, Index: i, Digest: Digest{dg}, TimeMs: 1_700_000_000_000 + int64(i), Verdict: OK}
}

func sampleExtension() *Extension {
	return &Extension{Height: 42, Attestations: []Attestation{
		att("a", 1, 1), att("a", 2, 2),
		{Stream: "b.x-y_z", Index: 0, TimeMs: 5, Verdict: Gap},
		{Stream: "b.x-y_z", Index: 9, Digest: Digest{9}, TimeMs: 5, Verdict: Violation(7)},
	}, Signature: bytes.Repeat([]byte{0xab}, 100)}
}

func TestExtensionRoundTrip(t *testing.T) {
	e := sampleExtension()
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalExtension(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := back.Marshal()
	if !bytes.Equal(b, b2) {
		t.Fatal("round trip differs")
	}
	if back.Root() != e.Root() {
		t.Fatal("root differs")
	}
	for i := range e.Attestations {
		leaf := merkle.LeafHash(e.Attestations[i].Marshal())
		if err := merkle.Verify(e.Root(), leaf, i, len(e.Attestations), e.Proof(i)); err != nil {
			t.Fatalf("attestation %d proof: %v", i, err)
		}
	}
	for i := 0; i < len(b); i++ {
		if _, err := UnmarshalExtension(b[:i]); err == nil && i > 0 {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
	if _, err := UnmarshalExtension(append(b, 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	if e, err := UnmarshalExtension(nil); e != nil || err != nil {
		t.Fatal("empty extension is not (nil, nil)")
	}
}

func TestExtensionRejects(t *testing.T) {
	mut := func(f func(e *Extension)) error {
		e := sampleExtension()
		f(e)
		_, err := e.Marshal()
		return err
	}
	cases := map[string]func(e *Extension){
		"no attestations":      func(e *Extension) { e.Attestations = nil },
		"height 0":             func(e *Extension) { e.Height = 0 },
		"no signature":         func(e *Extension) { e.Signature = nil },
		"huge signature":       func(e *Extension) { e.Signature = make([]byte, MaxSignatureBytes+1) },
		"unsorted":             func(e *Extension) { e.Attestations[0], e.Attestations[1] = e.Attestations[1], e.Attestations[0] },
		"same chunk twice":     func(e *Extension) { e.Attestations[1] = att("a", 1, 5) },
		"same chunk identical": func(e *Extension) { e.Attestations[1] = e.Attestations[0] },
		"gap with digest":      func(e *Extension) { e.Attestations[2].Digest = Digest{1} },
		"violation code 0":     func(e *Extension) { e.Attestations[3].Verdict = Verdict{Kind: VerdictViolation} },
		"ok with code":         func(e *Extension) { e.Attestations[0].Verdict.Code = 3 },
		"unknown verdict":      func(e *Extension) { e.Attestations[0].Verdict.Kind = 9 },
		"negative time":        func(e *Extension) { e.Attestations[0].TimeMs = -1 },
		"time past 9999":       func(e *Extension) { e.Attestations[0].TimeMs = MaxTimeMs + 1 },
		"empty stream":         func(e *Extension) { e.Attestations[0].Stream = "" },
		"bad stream char":      func(e *Extension) { e.Attestations[0].Stream = "a/b" },
		"stream starts with -": func(e *Extension) { e.Attestations[0].Stream = "-a" },
		"long stream":          func(e *Extension) { e.Attestations[0].Stream = strings.Repeat("a", 65) },
	}
	for name, f := range cases {
		if err := mut(f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestExtensionLimits(t *testing.T) {
	e := &Extension{Height: 1, Signature: make([]byte, MaxSignatureBytes)}
	long := strings.Repeat("s", MaxStreamIDLen)
	for i := 0; i < MaxAttestations; i++ {
		e.Attestations = append(e.Attestations, Attestation{Stream: long, Index: uint64(i), Digest: Digest{1}, Verdict: Violation(1 << 31)})
	}
	b, err := e.Marshal()
	if err != nil {
		t.Fatalf("the largest legal extension is refused: %v", err)
	}
	if len(b) > MaxExtensionBytes {
		t.Fatalf("largest extension %d bytes over the limit %d", len(b), MaxExtensionBytes)
	}
	e.Attestations = append(e.Attestations, Attestation{Stream: long + "x"[:0], Index: 1 << 40, Verdict: OK})
	if _, err := e.Marshal(); !errors.Is(err, ErrExtensionTooLarge) {
		t.Fatalf("257 attestations: %v", err)
	}
	if _, err := UnmarshalExtension(make([]byte, MaxExtensionBytes+1)); !errors.Is(err, ErrExtensionTooLarge) {
		t.Fatalf("oversized input: %v", err)
	}
	// A count field claiming more attestations than the limit.
	forged := []byte{ExtensionVersion, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff}
	if _, err := UnmarshalExtension(forged); err == nil {
		t.Fatal("forged count accepted")
	}
}

func TestSignBytesBindsEverything(t *testing.T) {
	root := merkle.Hash{1}
	base := SignBytes("chain", 5, []byte{1, 2}, root)
	if len(base) != 32 {
		t.Fatal("not 32 bytes")
	}
	for name, other := range map[string][]byte{
		"chain":   SignBytes("chaim", 5, []byte{1, 2}, root),
		"height":  SignBytes("chain", 6, []byte{1, 2}, root),
		"address": SignBytes("chain", 5, []byte{1, 3}, root),
		"root":    SignBytes("chain", 5, []byte{1, 2}, merkle.Hash{2}),
		"shift":   SignBytes("chain\x01", 5, []byte{2}, root),
	} {
		if bytes.Equal(base, other) {
			t.Errorf("%s not bound", name)
		}
	}
}

func sampleCommit() *CommitTx {
	e, _ := sampleExtension().Marshal()
	return &CommitTx{Height: 9, Round: 2, Votes: []CommitVote{
		{Address: bytes.Repeat([]byte{1}, 20), Power: 10, Flag: FlagCommit, Extension: e, ExtensionSignature: make([]byte, 64)},
		{Address: bytes.Repeat([]byte{2}, 20), Power: 10, Flag: FlagAbsent},
		{Address: bytes.Repeat([]byte{3}, 20), Power: 10, Flag: FlagNil},
		{Address: bytes.Repeat([]byte{4}, 20), Power: 10, Flag: FlagCommit, ExtensionSignature: make([]byte, 64)},
	}}
}

func TestCommitTxRoundTrip(t *testing.T) {
	c := sampleCommit()
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !IsCommitTx(b) || IsCommitTx([]byte("DDxc")) {
		t.Fatal("magic")
	}
	back, err := UnmarshalCommitTx(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := back.Marshal()
	if !bytes.Equal(b, b2) {
		t.Fatal("round trip differs")
	}
	for i := 0; i < len(b); i++ {
		if _, err := UnmarshalCommitTx(b[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
	bad := sampleCommit()
	bad.Votes[1].Flag = 0
	if _, err := bad.Marshal(); err == nil {
		t.Fatal("flag 0 accepted")
	}
}

func sampleRecord() *Record {
	return &Record{Stream: "a", Index: 3, Status: StatusAccepted, Digest: Digest{7}, Verdict: OK, TimeMs: 99,
		FirstHeight: 4, DecidedHeight: 5, Power: 30, TotalPower: 40,
		Attestations: []RecordAttestation{
			{Validator: []byte{1}, Power: 10, Digest: Digest{7}, TimeMs: 98, Verdict: OK, Height: 4, Vote: 0, Leaf: 2, Outcome: OutcomeAgreed},
			{Validator: []byte{2}, Power: 10, Digest: Digest{8}, TimeMs: 99, Verdict: OK, Height: 5, Vote: 1, Leaf: 0, Outcome: OutcomeFaulty},
		}}
}

func TestRecordRoundTrip(t *testing.T) {
	r := sampleRecord()
	b := r.Marshal()
	back, err := UnmarshalRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Marshal(), b) {
		t.Fatal("round trip differs")
	}
	for i := 0; i < len(b); i++ {
		if _, err := UnmarshalRecord(b[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
	r2 := sampleRecord()
	r2.Index = 4
	root := RecordRoot([]*Record{r, r2})
	if err := merkle.Verify(root, r2.LeafHash(), 1, 2, merkle.Proof([]merkle.Hash{r.LeafHash(), r2.LeafHash()}, 1)); err != nil {
		t.Fatal(err)
	}
	if RecordRoot(nil) != merkle.EmptyRoot {
		t.Fatal("empty record root")
	}
}

func TestVerdictText(t *testing.T) {
	for _, v := range []Verdict{OK, Gap, Violation(1), Violation(4294967295)} {
		back, err := ParseVerdict(v.String())
		if err != nil || back != v {
			t.Errorf("%v: %v %v", v, back, err)
		}
	}
	for _, s := range []string{"", "bad", "rule-violation:0", "rule-violation:x", "rule-violation:4294967296"} {
		if _, err := ParseVerdict(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestChunkKey(t *testing.T) {
	k := ChunkKey{"abc", 258}
	back, err := ParseChunkKey(k.Bytes())
	if err != nil || back != k {
		t.Fatal(back, err)
	}
	if !bytes.HasPrefix(k.Bytes(), StreamPrefix("abc")) || bytes.HasPrefix(k.Bytes(), StreamPrefix("ab")) {
		t.Fatal("prefix")
	}
	if (ChunkKey{"a", 9}).Compare(ChunkKey{"b", 0}) >= 0 || (ChunkKey{"a", 1}).Compare(ChunkKey{"a", 2}) >= 0 {
		t.Fatal("order")
	}
}

func FuzzUnmarshalExtension(f *testing.F) {
	b, _ := sampleExtension().Marshal()
	f.Add(b)
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalExtension(b)
		if err != nil || e == nil {
			return
		}
		again, err := e.Marshal()
		if err != nil {
			t.Fatalf("decoded extension does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("accepted a non-canonical encoding")
		}
		e.Root()
	})
}

func FuzzUnmarshalCommitTx(f *testing.F) {
	b, _ := sampleCommit().Marshal()
	f.Add(b)
	f.Add(CommitTxMagic)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := UnmarshalCommitTx(b)
		if err != nil {
			return
		}
		again, err := c.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical encoding: %v", err)
		}
	})
}

func FuzzUnmarshalRecord(f *testing.F) {
	f.Add(sampleRecord().Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := UnmarshalRecord(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatal("accepted a non-canonical encoding")
		}
	})
}

func FuzzUnmarshalAttestation(f *testing.F) {
	a := att("s", 1, 1)
	f.Add(a.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := UnmarshalAttestation(b)
		if err != nil {
			return
		}
		if !bytes.Equal(a.Marshal(), b) {
			t.Fatal("accepted a non-canonical encoding")
		}
	})
}
