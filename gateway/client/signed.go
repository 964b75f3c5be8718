package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// signer is one PushSigned.
type signer struct {
	c       *Client
	ctx     context.Context
	stream  string
	chainID string
	key     *ziggy.PrivateKey
	pub     []byte
	private bool
	o       UploadOptions
	rep     *reporter
	next    uint64 // the index for the next chunk
	chunks  []Chunk
}

// PushSigned pushes r to stream chunked and signed by the producer key
// (see the package documentation): public chunks carry the messages,
// private ones (private true) only the digest and the message lengths.
// The stream must list key's public key among its producers. Unless
// opt.NoWait it waits until every chunk's record is decided. The result's
// chunks carry their indexes and digests; a chunk whose index was taken
// by another producer's chunk in the end has status "conflict" and makes
// the error not nil.
func (c *Client) PushSigned(ctx context.Context, stream string, r io.Reader, key *ziggy.PrivateKey, private bool, opt UploadOptions, progress func(Progress)) (*UploadResult, error) {
	if err := wire.ValidateStreamID(stream); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errors.New("a signed push needs the producer's private key")
	}
	o, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.Upload != "" {
		return nil, errors.New("a signed push is not an upload and cannot be resumed by id: push the remaining data again")
	}
	start := time.Now()
	s := &signer{c: c, ctx: ctx, stream: stream, key: key, pub: key.Public().Bytes(), private: private, o: o, rep: &reporter{fn: progress, start: start}}
	defer s.rep.finish()
	if s.chainID, err = c.chainID(ctx); err != nil {
		return nil, err
	}
	var si *StreamInfo
	if err := c.retry(ctx, func() (err error) { si, err = c.Stream(ctx, stream); return err }); err != nil {
		if IsNotFound(err) {
			return nil, fmt.Errorf("stream %q is not registered on the node at %s (datadragon stream register): %w", stream, c.Base, err)
		}
		return nil, err
	}
	// A push stream's JSON always says "mode": "push"; without it the node
	// may not serve the spec's fields, and the gateway's checks decide.
	switch {
	case si.Mode != "" && si.Mode != "push":
		return nil, fmt.Errorf("stream %q is observed from its source (mode %q); it takes no pushes", stream, si.Mode)
	case si.Mode == "push" && len(si.Producers) == 0:
		return nil, fmt.Errorf("stream %q has no registered producers, so it takes no signed chunks: push without a key (the gateway chunks), or have its owner add your public key to \"producers\"", stream)
	case len(si.Producers) > 0 && !si.HasProducer(s.pub):
		return nil, fmt.Errorf("your key %x is not a producer of stream %q: its owner must add it to the stream's \"producers\" and register the stream again", s.pub, stream)
	}
	s.next = s.freshNext(si)
	res := &UploadResult{Stream: stream}
	res.Bytes, err = s.send(r, si.Messages())
	res.Durable = s.rep.durable(start)
	if err == nil && !o.NoWait {
		err = s.wait()
	}
	res.Elapsed = time.Since(start)
	res.Chunks = s.chunks
	return res, err
}

// freshNext returns the first index no chunk is known to hold: the
// chain's next index, or the gateway's when it has logged signed chunks
// the chain does not have yet.
func (s *signer) freshNext(si *StreamInfo) uint64 {
	var next uint64
	if si != nil && si.NextIndex != nil {
		next = *si.NextIndex
	}
	var gw struct {
		SignedNext *uint64 `json:"signed_next_index"`
	}
	if s.c.getJSON(s.ctx, "/v1/push/"+url.PathEscape(s.stream), nil, maxJSONBytes, &gw) == nil && gw.SignedNext != nil {
		next = max(next, *gw.SignedNext)
	}
	return next
}

// send cuts r into chunks of up to m messages, signs and posts each, and
// returns the bytes pushed.
func (s *signer) send(r io.Reader, m int) (uint64, error) {
	m = max(1, min(m, wire.MaxChunkMessages))
	var offset, seq uint64
	piece := make([]byte, s.o.Piece)
	lastPoll := time.Now()
	eof := false
	for !eof {
		var msgs [][]byte
		size := 0
		for len(msgs) < m && size+s.o.Piece <= wire.MaxChunkDataBytes {
			n, err := io.ReadFull(r, piece)
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				eof = true
			} else if err != nil {
				return offset + uint64(size), fmt.Errorf("reading the input: %w", err)
			}
			if n > 0 {
				msgs = append(msgs, bytes.Clone(piece[:n]))
				size += n
			}
			if eof {
				break
			}
		}
		if len(msgs) == 0 {
			break
		}
		ch := Chunk{FirstSeq: seq, Messages: len(msgs), Offset: offset, Bytes: uint64(size)}
		s.rep.update(func(p *Progress) { p.BytesRead = offset + uint64(size); p.ChunksTotal++ })
		if err := s.post(&ch, msgs); err != nil {
			return offset, err
		}
		s.chunks = append(s.chunks, ch)
		seq += uint64(len(msgs))
		offset += uint64(size)
		s.rep.update(func(p *Progress) { p.BytesAcked = offset; p.ChunksLogged++ })
		if !s.o.NoWait && time.Since(lastPoll) >= s.o.Poll {
			lastPoll = time.Now()
			s.poll() // errors are for the wait to report
		}
	}
	s.rep.update(func(p *Progress) { p.InputDone = true })
	return offset, nil
}

// build signs the chunk for index s.next and returns its transaction.
func (s *signer) build(ch *Chunk, msgs [][]byte) ([]byte, error) {
	ch.Index, ch.HasIndex = s.next, true
	h, err := digest.NewHasher(s.stream, ch.Index)
	if err != nil {
		return nil, err
	}
	lengths := make([]uint32, len(msgs))
	for i, msg := range msgs {
		if err := h.Add(ch.FirstSeq+uint64(i), msg); err != nil {
			return nil, err
		}
		lengths[i] = uint32(len(msg))
	}
	d, err := h.Sum()
	if err != nil {
		return nil, err
	}
	ch.Digest = d.String()
	sig, err := ziggy.Sign(s.key, wire.ProducerSignBytes(s.chainID, s.stream, ch.Index, ch.Offset, wire.Digest(d)))
	if err != nil {
		return nil, fmt.Errorf("signing chunk %s/%d: %w", s.stream, ch.Index, err)
	}
	tx := wire.ChunkTx{Stream: s.stream, Index: ch.Index, FirstSeq: ch.FirstSeq, Offset: ch.Offset, Private: s.private,
		Producer: s.pub, Signature: sig}
	if s.private {
		tx.Digest, tx.Lengths = wire.Digest(d), lengths
	} else {
		tx.Messages = msgs
	}
	return tx.Marshal()
}

// post signs and posts one chunk until the gateway has it durably,
// signing it again for a later index when another chunk took its index.
func (s *signer) post(ch *Chunk, msgs [][]byte) error {
	path := "/v1/push/" + url.PathEscape(s.stream) + "/chunk"
	const maxConflicts = 8
	conflicts := 0
	b := s.o.backoff()
	raw, err := s.build(ch, msgs)
	if err != nil {
		return err
	}
	for {
		status, data, err := s.c.request(s.ctx, http.MethodPost, path, nil, raw, false, maxJSONBytes, s.rep.counted(ch.Offset))
		if err == nil && status == http.StatusOK {
			var ans struct {
				Index  *uint64 `json:"index"`
				Status string  `json:"status"`
			}
			if jerr := json.Unmarshal(data, &ans); jerr != nil {
				return fmt.Errorf("POST %s: the answer is not JSON (%v); is the address that of a DataDragon node?", path, jerr)
			}
			if ans.Index != nil && *ans.Index != ch.Index {
				return fmt.Errorf("POST %s: the gateway logged chunk %d as index %d", path, ch.Index, *ans.Index)
			}
			ch.Status = "logged"
			s.next = ch.Index + 1
			return nil
		}
		if err == nil {
			e := errorFrom(http.MethodPost, path, status, data)
			if status == http.StatusConflict {
				conflicts++
				if conflicts > maxConflicts {
					return fmt.Errorf("chunk at offset %d: %d indexes in a row were taken by other producers' chunks; push again later: %w", ch.Offset, conflicts, e)
				}
				s.next = max(ch.Index+1, s.freshNext(s.streamInfo()))
				if raw, err = s.build(ch, msgs); err != nil {
					return err
				}
				continue
			}
			if status == http.StatusForbidden || status == http.StatusBadRequest {
				return fmt.Errorf("chunk %s/%d refused: %w", s.stream, ch.Index, e)
			}
			err = e
		}
		if !retryable(s.ctx, err) {
			return err
		}
		if werr := b.wait(s.ctx, err); werr != nil {
			return werr
		}
	}
}

// streamInfo fetches the stream once, nil on failure.
func (s *signer) streamInfo() *StreamInfo {
	si, err := s.c.Stream(s.ctx, s.stream)
	if err != nil {
		return nil
	}
	return si
}

// poll looks at the records of undecided chunks in order, stopping at the
// first that is still pending, and reports. It returns the number of
// undecided chunks.
func (s *signer) poll() (int, error) {
	undecided := 0
	var firstErr error
	stop := false
	for i := range s.chunks {
		ch := &s.chunks[i]
		if ch.Decided() {
			continue
		}
		if stop {
			undecided++
			continue
		}
		rec, err := s.c.Record(s.ctx, s.stream, ch.Index)
		switch {
		case IsNotFound(err):
			stop = true
		case err != nil:
			firstErr, stop = err, true
		case rec.Status == "accepted":
			if !strings.EqualFold(rec.Digest, ch.Digest) {
				ch.Status = "conflict"
				ch.Error = fmt.Sprintf("index %d was accepted with digest %s, another producer's chunk, not this push's %s", ch.Index, rec.Digest, ch.Digest)
			} else {
				ch.Status = "accepted"
			}
		case rec.Status == "disputed":
			ch.Status = "disputed"
		default:
			if ch.Status == "logged" {
				ch.Status = "on_chain"
			}
			stop = true
		}
		if !ch.Decided() {
			undecided++
		}
	}
	s.rep.update(func(p *Progress) {
		p.ChunksAccepted, p.ChunksDisputed, p.ChunksRejected = 0, 0, 0
		for _, ch := range s.chunks {
			switch ch.Status {
			case "accepted":
				p.ChunksAccepted++
			case "disputed":
				p.ChunksDisputed++
			case "conflict":
				p.ChunksRejected++
			}
		}
	})
	return undecided, firstErr
}

// wait polls until every chunk is decided.
func (s *signer) wait() error {
	b := s.o.backoff()
	var lastKey string
	lastChange := time.Now()
	for {
		undecided, err := s.poll()
		if err != nil {
			if !retryable(s.ctx, err) {
				return err
			}
			if werr := b.wait(s.ctx, err); werr != nil {
				return werr
			}
			continue
		}
		b.reset()
		if undecided == 0 {
			s.rep.update(func(p *Progress) { p.Done = true })
			var bad []string
			for _, ch := range s.chunks {
				if ch.Status == "conflict" {
					bad = append(bad, ch.Error)
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("%d chunks lost their index to another producer (%s): push their data again", len(bad), bad[0])
			}
			return nil
		}
		var key strings.Builder
		for _, ch := range s.chunks {
			key.WriteString(ch.Status)
		}
		if k := key.String(); k != lastKey {
			lastKey, lastChange = k, time.Now()
		} else if s.o.Stall > 0 && time.Since(lastChange) > s.o.Stall {
			return fmt.Errorf("no record of stream %q changed for %v (%d of %d chunks undecided): the chain may be stalled or the node behind; the chunks are durable on the gateway, check GET /v1/records/%s/INDEX later", s.stream, s.o.Stall.Round(time.Second), undecided, len(s.chunks), s.stream)
		}
		if err := sleep(s.ctx, s.o.Poll); err != nil {
			return err
		}
	}
}
