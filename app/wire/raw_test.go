package wire

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
)

func rawAtt(t testing.TB, v Verdict) Attestation {
	id := Digest(sha256.Sum256([]byte("open")))
	l := &RawLink{ID: id}
	a := Attestation{Stream: "raw-ticks", Index: RawIndex(id), TimeMs: 1700000000000, Verdict: v, Raw: l}
	if v.Kind != VerdictGap {
		l.Close = Digest(sha256.Sum256([]byte("close")))
		l.Content = Digest(sha256.Sum256([]byte("content")))
		l.Count = 17
		d, err := l.RawDigest(a.Stream)
		if err != nil {
			t.Fatal(err)
		}
		a.Digest = d
	}
	return a
}

func TestRawAttestationRoundTrip(t *testing.T) {
	for _, v := range []Verdict{OK, Gap, Violation(3)} {
		a := rawAtt(t, v)
		b := a.Marshal()
		if len(b) > RawAttestationMaxBytes {
			t.Fatalf("%d bytes, the bound is %d", len(b), RawAttestationMaxBytes)
		}
		got, err := UnmarshalAttestation(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != a.Digest || got.Index != a.Index || *got.Raw != *a.Raw || got.Verdict != v {
			t.Fatalf("round trip changed %+v into %+v", a, got)
		}
	}
	// A digest that is not the link's is refused.
	a := rawAtt(t, OK)
	a.Digest[0] ^= 1
	if a.Validate() == nil {
		t.Fatal("a raw attestation whose digest is not its link's was accepted")
	}
	g := rawAtt(t, Gap)
	g.Raw.Count = 1
	if _, err := UnmarshalAttestation(g.Marshal()); err == nil {
		t.Fatal("a raw gap carrying a link was accepted")
	}
	a = rawAtt(t, OK)
	a.Index++
	if a.Validate() == nil {
		t.Fatal("a raw attestation whose index is not its id's was accepted")
	}
}

// An extension full of raw attestations of the longest stream id fits the
// extension bound with the largest signature.
func TestRawAttestationsFitAnExtension(t *testing.T) {
	e := &Extension{Height: 1, Signature: make([]byte, MaxSignatureBytes)}
	for i := range MaxAttestations {
		a := rawAtt(t, OK)
		a.Stream = strings.Repeat("s", MaxStreamIDLen)
		a.Raw = &RawLink{ID: Digest(sha256.Sum256([]byte{byte(i), byte(i >> 8)})), Count: 1}
		a.Index = RawIndex(a.Raw.ID)
		a.Digest, _ = a.Raw.RawDigest(a.Stream)
		e.Attestations = append(e.Attestations, a)
	}
	slicesSort(e.Attestations)
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalExtension(b)
	if err != nil || len(back.Attestations) != MaxAttestations || back.Attestations[5].Raw == nil {
		t.Fatalf("%v", err)
	}
}

func slicesSort(as []Attestation) {
	for i := 1; i < len(as); i++ {
		for j := i; j > 0 && as[j-1].Key().Compare(as[j].Key()) > 0; j-- {
			as[j-1], as[j] = as[j], as[j-1]
		}
	}
}

func rawRecord(t testing.TB) *Record {
	a := rawAtt(t, OK)
	r := sampleRecord()
	r.Push = nil
	r.Stream, r.Index, r.Digest, r.Verdict = a.Stream, a.Index, a.Digest, OK
	r.Raw = &RawInfo{RawLink: *a.Raw, Position: 41}
	for i := range r.Attestations {
		r.Attestations[i].Digest = a.Digest
	}
	return r
}

func TestRawRecordRoundTrip(t *testing.T) {
	r := rawRecord(t)
	b := r.Marshal()
	if b[0] != RecordVersionRaw {
		t.Fatalf("version %d", b[0])
	}
	got, err := UnmarshalRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), b) || got.Raw.Position != 41 || got.Raw.ID != r.Raw.ID {
		t.Fatal("round trip changed the record")
	}
	at := got.AttestationOf(&got.Attestations[0])
	if at.Validate() != nil || at.Digest != r.Digest {
		t.Fatal("the record's entry does not rebuild a valid raw attestation")
	}
	r.Raw.Close[0] ^= 1
	if _, err := UnmarshalRecord(r.Marshal()); err == nil {
		t.Fatal("a raw record whose link does not give its digest was accepted")
	}
	next := &RawInfo{RawLink: RawLink{ID: got.Raw.Close}, Position: 42}
	if !got.Raw.Contiguous(next) || got.Raw.Contiguous(&RawInfo{RawLink: RawLink{ID: got.Raw.ID}, Position: 42}) {
		t.Fatal("Contiguous")
	}
}

func FuzzUnmarshalRaw(f *testing.F) {
	ok, gap := rawAtt(f, OK), rawAtt(f, Gap)
	f.Add(ok.Marshal(), false)
	f.Add(gap.Marshal(), false)
	f.Add(rawRecord(f).Marshal(), true)
	f.Fuzz(func(t *testing.T, b []byte, record bool) {
		if record {
			r, err := UnmarshalRecord(b)
			if err == nil && !bytes.Equal(r.Marshal(), b) {
				t.Fatal("accepted a non-canonical record")
			}
			return
		}
		a, err := UnmarshalAttestation(b)
		if err == nil && !bytes.Equal(a.Marshal(), b) {
			t.Fatal("accepted a non-canonical attestation")
		}
	})
}
