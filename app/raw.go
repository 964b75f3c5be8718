package app

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/store"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/ingest/rawchunk"
)

// Raw streams: unmodified third-party WebSocket feeds that every
// validator subscribes to itself. Their chunks are cut by content
// (package ingest/rawchunk) and named by their id, so the tally keys them
// by wire.RawIndex(id); the chain gives each accepted one its position in
// the stream, in order, and its record (version 3) carries the attested
// link (id, close, content hash, count).

// ModeRaw is the mode of a raw stream.
const ModeRaw = "raw"

const (
	bucketRawLinks = "rawlinks" // chunk key ‖ digest → the link a pending raw chunk was attested with
	bucketRawNext  = "rawnext"  // stream id → u64 next position ‖ close[32] of the last accepted chunk
	// bucketRawPos orders a raw stream's accepted chunks as the chain
	// placed them: the tally keys them by their id, which is no order.
	bucketRawPos = "rawpos" // chunk key of (stream, position) → u64 tally index
)

// Bounds of a raw spec (the feed client, ingest/raw, enforces the same).
const (
	MaxRawSubscribe      = 16
	MaxRawSubscribeBytes = 8 << 10
	MaxRawHeaders        = 32
	MaxRawHeaderBytes    = 4 << 10
	MaxRawMessageBytes   = 16 << 20
)

// RawSpec is how a raw stream is read, cut and normalised. It is part of
// the stream's spec: every validator reads the same feed the same way.
type RawSpec struct {
	// Header are request headers sent when connecting (an API key, an
	// Origin the feed insists on).
	Header map[string]string `json:"header,omitempty"`
	// Subscribe are text messages sent, in order, after each connect, e.g.
	// {"type":"subscribe","channels":["ticker"]}.
	Subscribe []string `json:"subscribe,omitempty"`

	// Content-defined chunks of about ExpectedMessages messages (at least
	// Min between hash boundaries, at most Max), or, with TimeField set,
	// windows of WindowMs on that top-level JSON field (TimeUnit s, ms, us
	// or ns for integers; strings are RFC 3339).
	ExpectedMessages int    `json:"expected_messages,omitempty"`
	Min              int    `json:"min_messages,omitempty"`
	Max              int    `json:"max_messages,omitempty"`
	TimeField        string `json:"time_field,omitempty"`
	TimeUnit         string `json:"time_unit,omitempty"`
	WindowMs         int64  `json:"window_ms,omitempty"`
	MaxChunkBytes    int64  `json:"max_chunk_bytes,omitempty"`
	MaxMessageBytes  int64  `json:"max_message_bytes,omitempty"`

	// Normalize says which messages to leave out and which fields to drop
	// before hashing (see package ingest/digest).
	Normalize digest.Normalize `json:"normalize"`
}

// Policy returns the chunker policy the spec describes.
func (r *RawSpec) Policy() rawchunk.Policy {
	p := rawchunk.Policy{Mode: rawchunk.ByContent, Expected: r.ExpectedMessages, Min: r.Min, Max: r.Max, MaxBytes: r.MaxChunkBytes}
	if r.TimeField != "" {
		p = rawchunk.Policy{Mode: rawchunk.ByTime, WindowMS: r.WindowMs, TimeField: r.TimeField, TimeUnit: r.TimeUnit, Max: r.Max, MaxBytes: r.MaxChunkBytes}
	}
	return p
}

// Validate checks the spec's bounds.
func (r *RawSpec) Validate() error {
	if r.TimeField == "" && (r.WindowMs != 0 || r.TimeUnit != "") {
		return errors.New("raw: window_ms and time_unit need time_field")
	}
	if r.TimeField != "" && (r.ExpectedMessages != 0 || r.Min != 0) {
		return errors.New("raw: choose expected_messages (content-defined chunks) or time_field with window_ms, not both")
	}
	if err := r.Policy().Validate(); err != nil {
		return fmt.Errorf("raw: %w", err)
	}
	if err := r.Normalize.Validate(); err != nil {
		return fmt.Errorf("raw: %w", err)
	}
	if len(r.Subscribe) > MaxRawSubscribe {
		return fmt.Errorf("raw: %d subscribe messages, the limit is %d", len(r.Subscribe), MaxRawSubscribe)
	}
	for i, s := range r.Subscribe {
		if len(s) == 0 || len(s) > MaxRawSubscribeBytes {
			return fmt.Errorf("raw: subscribe message %d has %d bytes: use 1 to %d", i, len(s), MaxRawSubscribeBytes)
		}
	}
	if len(r.Header) > MaxRawHeaders {
		return fmt.Errorf("raw: %d headers, the limit is %d", len(r.Header), MaxRawHeaders)
	}
	for k, v := range r.Header {
		if k == "" || len(k)+len(v) > MaxRawHeaderBytes || strings.ContainsAny(k+v, "\r\n") {
			return fmt.Errorf("raw: header %.40q is empty, over %d bytes or holds a line break", k, MaxRawHeaderBytes)
		}
	}
	if r.MaxMessageBytes < 0 || r.MaxMessageBytes > MaxRawMessageBytes {
		return fmt.Errorf("raw: max_message_bytes %d: use 1 to %d (0: 1 MiB)", r.MaxMessageBytes, MaxRawMessageBytes)
	}
	return nil
}

// IsRaw reports whether the stream is a raw feed.
func (s *Stream) IsRaw() bool { return s.Mode == ModeRaw }

// validateRaw checks a raw stream's mode-specific fields.
func (s *Stream) validateRaw() error {
	if s.Raw == nil {
		return errors.New("a raw stream needs \"raw\": its chunking (expected_messages, or time_field and window_ms) and normalisation")
	}
	if s.Chunk != (ChunkPolicy{}) {
		return errors.New("a raw stream is chunked by \"raw\" (expected_messages or time_field), not \"chunk\"")
	}
	if len(s.Producers) > 0 || len(s.WriteTokens) > 0 || s.OpenLoopback {
		return errors.New("producers, write_tokens and open_loopback are for push streams (\"mode\": \"push\")")
	}
	return s.Raw.Validate()
}

// sameRaw reports whether a re-registration keeps a raw stream's feed and
// cutting (nodes chunk by them, so they are fixed once registered).
func sameRaw(old, s *Stream) bool {
	if old.IsRaw() != s.IsRaw() {
		return false
	}
	return !old.IsRaw() || reflect.DeepEqual(old.Raw, s.Raw)
}

// rawModes caches, for one block, whether each stream is raw.
type rawModes struct {
	c    *chain
	get  getter
	mode map[string]bool
}

// fits reports whether an attestation's form matches its stream: raw
// attestations only for raw streams, and the other way round. Attestations
// that do not fit are not counted.
func (m *rawModes) fits(at *wire.Attestation) bool { return m.raw(at.Stream) == (at.Raw != nil) }

// raw reports whether the stream is a raw stream.
func (m *rawModes) raw(stream string) bool {
	raw, ok := m.mode[stream]
	if !ok {
		s, _, err := lookupStream(m.c, m.get, stream)
		raw = err == nil && s != nil && s.IsRaw()
		m.mode[stream] = raw
	}
	return raw
}

func rawLinkKey(k wire.ChunkKey, d wire.Digest) []byte { return append(k.Bytes(), d[:]...) }

func marshalRawLink(l *wire.RawLink) []byte {
	w := codec.Writer{}
	w.Raw(l.ID[:])
	w.Raw(l.Close[:])
	w.Raw(l.Content[:])
	w.U32(l.Count)
	return w.B
}

func unmarshalRawLink(b []byte) (wire.RawLink, error) {
	var l wire.RawLink
	r := codec.NewReader(b)
	r.Fixed(l.ID[:])
	r.Fixed(l.Close[:])
	r.Fixed(l.Content[:])
	l.Count = r.U32()
	return l, r.Done()
}

// noteRawLink keeps the link of a counted raw attestation of a pending
// chunk, once per (chunk, digest): the record of the accepted digest takes
// its link from here. The attestation's digest is computed from its link,
// so the first one stored for a digest is the only link it can have.
func noteRawLink(b *store.Batch, pending bool, at *wire.Attestation) error {
	if at.Raw == nil || !pending || at.Verdict.Kind == wire.VerdictGap {
		return nil
	}
	k := rawLinkKey(at.Key(), at.Digest)
	v, err := b.Get([]byte(bucketRawLinks), k)
	if err != nil || v != nil {
		return err
	}
	b.Put([]byte(bucketRawLinks), k, marshalRawLink(at.Raw))
	return nil
}

// forgetRawLinks deletes the kept links of a decided or dropped chunk.
func forgetRawLinks(b *store.Batch, k wire.ChunkKey) error {
	from := k.Bytes()
	to := append(slices.Clone(from), bytes.Repeat([]byte{0xff}, wire.DigestSize+1)...)
	kvs, err := b.Range([]byte(bucketRawLinks), from, to)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		b.Delete([]byte(bucketRawLinks), kv.Key)
	}
	return nil
}

// placeRawRecords gives the raw records a block accepted their positions
// and links, and writes them again. Per stream, a record whose id is the
// last accepted chunk's close goes next, so a stream's positions follow
// its links wherever the chain saw them; the others follow by time.
func placeRawRecords(b *store.Batch, modes *rawModes, recs []*wire.Record, dropped []wire.ChunkKey) error {
	for _, k := range dropped {
		if err := forgetRawLinks(b, k); err != nil {
			return err
		}
	}
	byStream := map[string][]*wire.Record{}
	var streams []string
	for _, r := range recs {
		if r.Push != nil || !modes.raw(r.Stream) {
			continue
		}
		var v []byte
		if r.Status == wire.StatusAccepted && r.Verdict.Kind != wire.VerdictGap {
			var err error
			if v, err = b.Get([]byte(bucketRawLinks), rawLinkKey(r.Key(), r.Digest)); err != nil {
				return err
			}
		}
		if err := forgetRawLinks(b, r.Key()); err != nil {
			return err
		}
		if v == nil {
			continue // cannot happen: every counted raw attestation left its link
		}
		l, err := unmarshalRawLink(v)
		if err != nil {
			return fmt.Errorf("raw link of %s: %w", r.Key(), err)
		}
		r.Raw = &wire.RawInfo{RawLink: l}
		if _, ok := byStream[r.Stream]; !ok {
			streams = append(streams, r.Stream)
		}
		byStream[r.Stream] = append(byStream[r.Stream], r)
	}
	slices.Sort(streams)
	for _, id := range streams {
		rs := byStream[id]
		var next uint64
		var last wire.Digest // close of the stream's last accepted raw chunk
		if v, err := b.Get([]byte(bucketRawNext), []byte(id)); err != nil {
			return err
		} else if len(v) == 8+wire.DigestSize {
			next = binary.BigEndian.Uint64(v)
			copy(last[:], v[8:])
		}

		slices.SortFunc(rs, func(x, y *wire.Record) int {
			if c := cmp.Compare(x.TimeMs, y.TimeMs); c != 0 {
				return c
			}
			return x.Key().Compare(y.Key())
		})
		for len(rs) > 0 {
			i := slices.IndexFunc(rs, func(r *wire.Record) bool { return r.Raw.ID == last })
			if i < 0 {
				i = 0
			}
			r := rs[i]
			rs = slices.Delete(rs, i, i+1)
			r.Raw.Position = next
			next++
			last = r.Raw.Close
			b.Put([]byte(bucketRecords), r.Key().Bytes(), r.Marshal())
			b.Put([]byte(bucketRawPos), wire.ChunkKey{Stream: id, Index: r.Raw.Position}.Bytes(), u64(r.Index))
		}
		b.Put([]byte(bucketRawNext), []byte(id), append(u64(next), last[:]...))
	}
	return nil
}

// rawRecords lists a raw stream's accepted chunks with position ≥ from,
// in position order, and the position to ask for next (nil at the end).
// Chunks the chain did not accept (disputed, or a gap for all) have no
// position and are not listed; they are read by their index.
func (a *App) rawRecords(c *chain, tx store.Tx, stream string, from uint64, limit int) ([]*RecordView, *uint64, error) {
	prefix := wire.StreamPrefix(stream)
	var keys []wire.ChunkKey
	var next *uint64
	var bad error
	tx.Scan([]byte(bucketRawPos), wire.ChunkKey{Stream: stream, Index: from}.Bytes(), nil, func(k, v []byte) bool {
		if !bytes.HasPrefix(k, prefix) {
			return false
		}
		pk, err := wire.ParseChunkKey(k)
		if err != nil || len(v) != 8 {
			bad = a.store.MarkCorrupt("raw position index", fmt.Sprintf("entry %x → %x is not a position and an index", k, v))
			return false
		}
		if len(keys) == limit {
			n := pk.Index
			next = &n
			return false
		}
		keys = append(keys, wire.ChunkKey{Stream: stream, Index: binary.BigEndian.Uint64(v)})
		return true
	})
	if bad != nil {
		return nil, nil, bad
	}
	if err := tx.Err(); err != nil {
		return nil, nil, err
	}
	out := make([]*RecordView, 0, len(keys))
	for _, k := range keys {
		rv, err := a.recordView(c, tx, k)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, rv)
	}
	return out, next, nil
}

// RawView is a raw chunk's section of a record as the API shows it.
type RawView struct {
	ChunkID  string `json:"chunk_id"` // boundary hash of its first message
	Close    string `json:"close"`    // the next chunk's id
	Content  string `json:"content"`  // content hash of the normalised messages
	Messages uint32 `json:"messages"`
	Position uint64 `json:"position"` // the chain's index of the chunk in the stream
	// The records at Position-1 and Position+1 (read API only, once the
	// chain placed them): their indexes, and their chunk ids for readers
	// whose numbers cannot hold 64 bits. The previous one's close is this
	// chunk's id when the chain saw the feed without a break.
	PrevIndex *uint64 `json:"prev_index,omitempty"`
	PrevID    string  `json:"prev_chunk_id,omitempty"`
	NextIndex *uint64 `json:"next_index,omitempty"`
	NextID    string  `json:"next_chunk_id,omitempty"`
}

// linkRawView fills in a record's neighbours in stream order.
func linkRawView(tx store.Tx, stream string, v *RawView) error {
	if v == nil {
		return nil
	}
	at := func(pos uint64) (*uint64, string, error) {
		b := tx.Get([]byte(bucketRawPos), wire.ChunkKey{Stream: stream, Index: pos}.Bytes())
		if b == nil {
			return nil, "", tx.Err()
		}
		if len(b) != 8 {
			return nil, "", fmt.Errorf("raw position %s/%d: an entry of %d bytes", stream, pos, len(b))
		}
		i := binary.BigEndian.Uint64(b)
		rb := tx.Get([]byte(bucketRecords), wire.ChunkKey{Stream: stream, Index: i}.Bytes())
		rec, err := wire.UnmarshalRecord(rb)
		if err != nil || rec.Raw == nil {
			return nil, "", fmt.Errorf("raw position %s/%d names index %d, which has no raw record", stream, pos, i)
		}
		return &i, rec.Raw.ID.String(), nil
	}
	var err error
	if v.Position > 0 {
		if v.PrevIndex, v.PrevID, err = at(v.Position - 1); err != nil {
			return err
		}
	}
	if v.Position < ^uint64(0) {
		v.NextIndex, v.NextID, err = at(v.Position + 1)
	}
	return err
}

// RawViewOf returns a raw record section as the API shows it (nil for nil).
func RawViewOf(r *wire.RawInfo) *RawView {
	if r == nil {
		return nil
	}
	return &RawView{ChunkID: r.ID.String(), Close: r.Close.String(), Content: r.Content.String(), Messages: r.Count, Position: r.Position}
}
