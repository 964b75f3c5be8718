package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/ingest/digest"
)

// Raw streams (third-party feeds cut into content-defined chunks, package
// ingest/rawchunk) have no index a validator could know: a chunk is named
// by its id, the boundary hash of its first message. Their attestations
// therefore carry the chunk's link — its id, its closing boundary (the
// next chunk's id), its message count and content hash — from which the
// attested digest is computed, so the chain learns the link from the
// attestation itself and a copied digest cannot come with a forged link.
// The tally keys a raw chunk by (stream, RawIndex(id)); the chain gives
// each accepted raw chunk its position in the stream (RawInfo.Position).

// RecordVersionRaw is the version byte of a raw chunk's record.
const RecordVersionRaw = 3

// rawFlag marks a raw attestation in the high bit of its stream-length
// byte (stream ids are at most 64 bytes, so the bit is free).
const rawFlag = 0x80

// RawAttestationMaxBytes is the longest encoded raw attestation.
const RawAttestationMaxBytes = 1 + MaxStreamIDLen + 3*DigestSize + 4 + 8 + 1 + 4

// RawLink is what a raw attestation says about its chunk besides the
// verdict. A gap attestation carries only ID.
type RawLink struct {
	ID      Digest // boundary hash of the chunk's first message
	Close   Digest // the next chunk's id
	Content Digest // content hash of the normalised messages
	Count   uint32 // messages
}

// RawIndex is the tally key of a raw chunk: its id's first 8 bytes.
func RawIndex(id Digest) uint64 { return binary.BigEndian.Uint64(id[:8]) }

// RawDigest returns the digest a complete raw chunk's attestation claims.
func (l *RawLink) RawDigest(stream string) (Digest, error) {
	d, err := digest.RawDigest(stream, digest.Digest(l.ID), digest.Digest(l.Close), l.Count, digest.Digest(l.Content))
	return Digest(d), err
}

// validateRaw checks a raw attestation's link against its key and digest.
func (a *Attestation) validateRaw() error {
	l := a.Raw
	if a.Index != RawIndex(l.ID) {
		return fmt.Errorf("raw attestation index %d is not its chunk id's %d", a.Index, RawIndex(l.ID))
	}
	if a.Verdict.Kind == VerdictGap {
		if !l.Close.IsZero() || !l.Content.IsZero() || l.Count != 0 {
			return errors.New("a raw gap attestation carries only the chunk id")
		}
		return nil
	}
	d, err := l.RawDigest(a.Stream)
	if err != nil {
		return err
	}
	if d != a.Digest {
		return fmt.Errorf("raw attestation digest %s is not the digest of its link, %s", a.Digest, d)
	}
	return nil
}

// appendRaw encodes a raw attestation:
//
//	u8 (0x80 | len) ‖ stream ‖ id[32] ‖ close[32] ‖ content[32] ‖ u32 count ‖
//	i64 time_ms ‖ u8 kind ‖ u32 code
//
// Index and digest are not sent: they follow from the link.
func (a *Attestation) appendRaw(b []byte) []byte {
	w := codec.Writer{B: b}
	w.U8(rawFlag | uint8(len(a.Stream)))
	w.Raw([]byte(a.Stream))
	w.Raw(a.Raw.ID[:])
	w.Raw(a.Raw.Close[:])
	w.Raw(a.Raw.Content[:])
	w.U32(a.Raw.Count)
	w.I64(a.TimeMs)
	w.U8(uint8(a.Verdict.Kind))
	w.U32(a.Verdict.Code)
	return w.B
}

func readRawAttestation(r *codec.Reader, n int) Attestation {
	var a Attestation
	if n < 1 || n > MaxStreamIDLen {
		r.Failf("raw attestation: stream id of %d bytes", n)
		return a
	}
	s := make([]byte, n)
	r.Fixed(s)
	a.Stream = string(s)
	l := &RawLink{}
	r.Fixed(l.ID[:])
	r.Fixed(l.Close[:])
	r.Fixed(l.Content[:])
	l.Count = r.U32()
	a.Raw = l
	a.TimeMs = r.I64()
	a.Verdict.Kind = VerdictKind(r.U8())
	a.Verdict.Code = r.U32()
	if r.Err() != nil {
		return a
	}
	a.Index = RawIndex(l.ID)
	if a.Verdict.Kind != VerdictGap {
		d, err := l.RawDigest(a.Stream)
		if err != nil {
			r.Fail(err)
			return a
		}
		a.Digest = d
	}
	if err := a.Validate(); err != nil {
		r.Fail(err)
	}
	return a
}

// RawInfo is what a raw chunk's record adds: the link the majority
// attested and the position the chain gave the chunk. Records of one raw
// stream link: the record at position p+1 normally has ID equal to the
// Close of the record at p; where it does not, the chain accepted no
// record for the chunks between (nobody saw them in full).
type RawInfo struct {
	RawLink
	Position uint64 // 0, 1, 2… in the order the chain accepted the stream's raw chunks
}

// Contiguous reports whether next follows r without a missing chunk.
func (r *RawInfo) Contiguous(next *RawInfo) bool {
	return next.Position == r.Position+1 && next.ID == r.Close
}

func (r *RawInfo) append(w *codec.Writer) {
	w.Raw(r.ID[:])
	w.Raw(r.Close[:])
	w.Raw(r.Content[:])
	w.U32(r.Count)
	w.U64(r.Position)
}

func readRawInfo(rd *codec.Reader) *RawInfo {
	r := &RawInfo{}
	rd.Fixed(r.ID[:])
	rd.Fixed(r.Close[:])
	rd.Fixed(r.Content[:])
	r.Count = rd.U32()
	r.Position = rd.U64()
	return r
}

// checkRaw checks a decoded raw record against itself.
func (r *Record) checkRaw() error {
	if r.Push != nil {
		return errors.New("a record is raw or pushed, not both")
	}
	if r.Index != RawIndex(r.Raw.ID) {
		return fmt.Errorf("raw record index %d is not its chunk id's %d", r.Index, RawIndex(r.Raw.ID))
	}
	if r.Status == StatusAccepted && r.Verdict.Kind != VerdictGap {
		d, err := r.Raw.RawDigest(r.Stream)
		if err != nil {
			return err
		}
		if d != r.Digest {
			return fmt.Errorf("raw record digest %s is not the digest of its link, %s", r.Digest, d)
		}
	}
	return nil
}

// AttestationOf rebuilds the attestation a record's entry stands for, as
// the validator signed it (a receipt checks it against the extension
// root). Raw records' entries that agree with the record carry its link.
func (r *Record) AttestationOf(ra *RecordAttestation) Attestation {
	a := Attestation{Stream: r.Stream, Index: r.Index, Digest: ra.Digest, TimeMs: ra.TimeMs, Verdict: ra.Verdict}
	if r.Raw != nil {
		l := r.Raw.RawLink
		if ra.Verdict.Kind == VerdictGap {
			l = RawLink{ID: l.ID}
		}
		a.Raw = &l
	}
	return a
}
