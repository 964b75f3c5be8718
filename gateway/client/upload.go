package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datadragon/datadragon/app/wire"
)

// UploadOptions tune a push. The zero value is the defaults.
type UploadOptions struct {
	// Upload resumes the upload with this id (32 hex digits): the bytes
	// the gateway already holds are skipped in the input, which must be
	// the same input. Empty starts a new upload with a random id.
	// PushUpload only.
	Upload string
	// Piece is the message size in bytes, 1 to MaxPiece (default
	// DefaultPiece). The last message of the input may be shorter.
	Piece int
	// Part is the bytes per upload request (default DefaultPart, at most
	// MaxPart, at least Piece): also what is held in memory.
	Part int
	// Retries is how many consecutive failures of one request are retried
	// (default 10); the waits double from Backoff (default 250 ms) to
	// MaxBackoff (default 5 s).
	Retries    int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Poll is the interval of status polls (default 500 ms).
	Poll time.Duration
	// Stall gives up waiting for the chain when no chunk changed state for
	// this long (default 2 minutes; negative: never).
	Stall time.Duration
	// NoWait returns once every byte (every chunk) is durable on the
	// gateway, without waiting for the chain to decide.
	NoWait bool
}

func (o UploadOptions) withDefaults() (UploadOptions, error) {
	if o.Piece == 0 {
		o.Piece = DefaultPiece
	}
	if o.Piece < 1 || o.Piece > MaxPiece {
		return o, fmt.Errorf("piece of %d bytes: use 1 to %d", o.Piece, MaxPiece)
	}
	if o.Part == 0 {
		o.Part = DefaultPart
	}
	if o.Part < 1 || o.Part > MaxPart {
		return o, fmt.Errorf("part of %d bytes: use 1 to %d", o.Part, MaxPart)
	}
	o.Part = max(o.Part, o.Piece)
	if o.Retries == 0 {
		o.Retries = 10
	}
	if o.Backoff <= 0 {
		o.Backoff = 250 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.Backoff)
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Stall == 0 {
		o.Stall = 2 * time.Minute
	}
	if o.Upload != "" {
		id, err := ParseUploadID(o.Upload)
		if err != nil {
			return o, err
		}
		o.Upload = id
	}
	return o, nil
}

func (o UploadOptions) backoff() backoff {
	return backoff{first: o.Backoff, max: o.MaxBackoff, limit: o.Retries}
}

// NewUploadID returns a random upload id: 16 bytes as 32 hex digits.
func NewUploadID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ParseUploadID checks an upload id and returns it in lowercase.
func ParseUploadID(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return "", fmt.Errorf("upload id %q: want 32 hex digits (16 bytes)", s)
	}
	return hex.EncodeToString(b), nil
}

// Progress is a push's state, reported as it changes.
type Progress struct {
	Upload         string // the upload id (PushUpload)
	BytesRead      uint64 // bytes taken from the input
	BytesSent      uint64 // bytes handed to the network (highest offset sent)
	BytesAcked     uint64 // bytes durable on the gateway
	BytesResumed   uint64 // of BytesAcked, those durable before this call (a resumed upload)
	ChunksLogged   int    // chunks durable on the gateway (closed)
	ChunksAccepted int
	ChunksDisputed int
	ChunksRejected int
	ChunksTotal    int  // chunks known so far; final once InputDone
	InputDone      bool // the whole input is durable on the gateway
	Done           bool // every chunk is decided
	// Elapsed is the time from the push's start to this report; Durable,
	// once InputDone, the time from the start until the whole input was
	// durable, the same figure UploadResult.Durable gives, so a progress
	// line's rate and the summary's agree.
	Elapsed, Durable time.Duration
}

// Chunk is one chunk of a push and what became of it.
type Chunk struct {
	// Index is the chunk's index on chain, valid when HasIndex.
	Index    uint64
	HasIndex bool
	FirstSeq uint64 // the first message's seq (upload: in the gateway's log; signed: within the push)
	Messages int
	Offset   uint64 // byte offset of the chunk in the upload or push
	Bytes    uint64
	// Status is logged, submitted, on_chain, accepted, disputed or
	// rejected (signed pushes: conflict when the index holds another
	// producer's chunk).
	Status string
	Error  string
	Digest string // hex, signed pushes only
}

// Decided reports whether the chunk's fate is final.
func (c *Chunk) Decided() bool { return decided(c.Status) }

func decided(status string) bool {
	switch status {
	case "accepted", "disputed", "rejected", "conflict":
		return true
	}
	return false
}

// UploadResult is a finished push.
type UploadResult struct {
	Stream string
	Upload string // PushUpload's upload id
	Bytes  uint64 // bytes of this push
	// Resumed is how many of Bytes the gateway already held when this
	// call began (a resumed upload); the rest were sent by this call.
	Resumed uint64
	Chunks  []Chunk
	// Durable is the time from the start until every byte was durable on
	// the gateway; Elapsed until every chunk was decided.
	Durable time.Duration
	Elapsed time.Duration
}

// Count returns the number of chunks with the given status.
func (r *UploadResult) Count(status string) int {
	n := 0
	for _, c := range r.Chunks {
		if c.Status == status {
			n++
		}
	}
	return n
}

// UploadStatus is an upload's state on the gateway.
type UploadStatus struct {
	Upload   string `json:"upload"`
	Acked    uint64 `json:"acked"`
	Ended    bool   `json:"ended"`
	FirstSeq uint64 `json:"first_seq"`
	NextSeq  uint64 `json:"next_seq"`
}

// UploadStatus returns an upload's state; an upload the gateway does not
// know is an *Error with Status 404 (start it at offset 0).
func (c *Client) UploadStatus(ctx context.Context, stream, upload string) (*UploadStatus, error) {
	path := "/v1/push/" + url.PathEscape(stream) + "/uploads/" + url.PathEscape(upload)
	var st UploadStatus
	if err := c.getJSON(ctx, path, nil, maxJSONBytes, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// ChunkView is one chunk of GET /v1/push/{stream}/chunks.
type ChunkView struct {
	FirstSeq uint64  `json:"first_seq"`
	Messages int     `json:"messages"`
	Offset   uint64  `json:"offset"`
	Bytes    uint64  `json:"bytes"`
	Status   string  `json:"status"` // open (not closed yet), logged, submitted, on_chain, accepted, disputed, rejected
	Index    *uint64 `json:"index"`
	Error    string  `json:"error"`
}

// UploadChunks is an upload's chunks.
type UploadChunks struct {
	Chunks []ChunkView `json:"chunks"`
	Ended  bool        `json:"ended"`
}

// UploadChunks returns the chunks of an upload in order.
func (c *Client) UploadChunks(ctx context.Context, stream, upload string) (*UploadChunks, error) {
	path := "/v1/push/" + url.PathEscape(stream) + "/chunks"
	var uc UploadChunks
	if err := c.getJSON(ctx, path, url.Values{"upload": {upload}}, maxChunkListBytes, &uc); err != nil {
		return nil, err
	}
	return &uc, nil
}

// reporter serialises progress reports.
type reporter struct {
	mu    sync.Mutex
	start time.Time // of the push: Progress.Elapsed counts from it
	p     Progress
	fn    func(Progress)
	sent  atomic.Uint64 // bytes of the request in flight read by the transport, as an offset
	last  time.Time
	done  bool // the push returned: report no more
}

// finish stops the reports (the transport may still read a request
// body after the push returned).
func (r *reporter) finish() {
	r.mu.Lock()
	r.done = true
	r.mu.Unlock()
}

// durable returns the time from start until the input was reported
// durable (the figure the progress reports carry), or until now.
func (r *reporter) durable(start time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p.Durable > 0 {
		return r.p.Durable
	}
	return time.Since(start)
}

// snapshot returns the current progress.
func (r *reporter) snapshot() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p
}

func (r *reporter) update(f func(p *Progress)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	f(&r.p)
	r.p.BytesSent = max(r.p.BytesSent, r.sent.Load())
	r.last = time.Now()
	r.p.Elapsed = r.last.Sub(r.start)
	if r.p.InputDone && r.p.Durable == 0 {
		r.p.Durable = max(r.p.Elapsed, 1)
	}
	if r.fn != nil {
		r.fn(r.p)
	}
}

// counted counts the bytes the transport reads of a request body that
// starts at upload offset off, reporting at most every 100 ms.
func (r *reporter) counted(off uint64) func(io.Reader) io.Reader {
	return func(rd io.Reader) io.Reader {
		return &countingReader{r: rd, off: off, rep: r}
	}
}

type countingReader struct {
	r   io.Reader
	off uint64
	rep *reporter
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.off += uint64(n)
	if old := c.rep.sent.Load(); c.off > old {
		c.rep.sent.CompareAndSwap(old, c.off)
	}
	c.rep.mu.Lock()
	due := time.Since(c.rep.last) >= 100*time.Millisecond
	c.rep.mu.Unlock()
	if due {
		c.rep.update(func(*Progress) {})
	}
	return n, err
}

// uploader is one PushUpload.
type uploader struct {
	c      *Client
	ctx    context.Context
	stream string
	id     string
	o      UploadOptions
	rep    *reporter
	start  time.Time
	chunks []ChunkView
	ended  bool // the gateway reported the upload ended
}

// PushUpload pushes r to stream as one upload (gateway chunking; see the
// package documentation) and, unless opt.NoWait, waits until every chunk
// is decided. progress, if not nil, is called as the push advances (from
// one goroutine at a time). The result lists the upload's chunks with
// their indexes and statuses; rejected or disputed chunks are not an
// error. When err is not nil and the result is not nil, the result's
// Upload names the upload to resume with opt.Upload.
func (c *Client) PushUpload(ctx context.Context, stream string, r io.Reader, opt UploadOptions, progress func(Progress)) (*UploadResult, error) {
	if err := wire.ValidateStreamID(stream); err != nil {
		return nil, err
	}
	o, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	u := &uploader{c: c, ctx: ctx, stream: stream, id: o.Upload, o: o, rep: &reporter{fn: progress, start: start}, start: start}
	defer u.rep.finish()
	res := &UploadResult{Stream: stream, Upload: u.id}
	var acked uint64
	if u.id == "" {
		u.id = NewUploadID()
		res.Upload = u.id
	} else {
		st, err := u.status()
		if err != nil {
			return res, err
		}
		acked, u.ended = st.Acked, st.Ended
		if !u.ended { // an ended upload only waits: its input is not read
			if err := skipInput(r, acked, u.id); err != nil {
				return res, err
			}
		}
	}
	u.rep.update(func(p *Progress) {
		p.Upload, p.BytesRead, p.BytesSent, p.BytesAcked, p.BytesResumed = u.id, acked, acked, acked, acked
	})
	res.Resumed = acked
	total, err := u.send(r, acked)
	res.Bytes = total
	if err != nil {
		return res, err
	}
	res.Durable = u.rep.durable(u.start)
	err = u.wait()
	res.Elapsed = time.Since(u.start)
	for _, cv := range u.chunks {
		if cv.Status == "open" {
			continue
		}
		ch := Chunk{FirstSeq: cv.FirstSeq, Messages: cv.Messages, Offset: cv.Offset, Bytes: cv.Bytes, Status: cv.Status, Error: cv.Error}
		if cv.Index != nil {
			ch.Index, ch.HasIndex = *cv.Index, true
		}
		res.Chunks = append(res.Chunks, ch)
	}
	return res, err
}

// status asks the gateway how much of the upload it holds (zero for an
// upload it does not know), retrying.
func (u *uploader) status() (UploadStatus, error) {
	var st *UploadStatus
	b := u.o.backoff()
	for {
		var err error
		st, err = u.c.UploadStatus(u.ctx, u.stream, u.id)
		if IsNotFound(err) {
			return UploadStatus{Upload: u.id}, nil
		}
		if err == nil {
			return *st, nil
		}
		if !retryable(u.ctx, err) {
			return UploadStatus{}, err
		}
		if werr := b.wait(u.ctx, err); werr != nil {
			return UploadStatus{}, werr
		}
	}
}

// skipInput drops the first n bytes of r, which the gateway already holds.
func skipInput(r io.Reader, n uint64, id string) error {
	if n == 0 {
		return nil
	}
	short := func(have uint64) error {
		return fmt.Errorf("the input has %d bytes but the gateway already holds %d bytes of upload %s: resume with the same input, or start a new upload", have, n, id)
	}
	if s, ok := r.(io.Seeker); ok {
		cur, err1 := s.Seek(0, io.SeekCurrent)
		end, err2 := s.Seek(0, io.SeekEnd)
		if err1 == nil && err2 == nil {
			if uint64(end-cur) < n {
				return short(uint64(end - cur))
			}
			if _, err := s.Seek(cur+int64(n), io.SeekStart); err != nil {
				return fmt.Errorf("skipping the %d bytes already uploaded: %w", n, err)
			}
			return nil
		}
	}
	got, err := io.CopyN(io.Discard, r, int64(n))
	if err == io.EOF {
		return short(uint64(got))
	}
	if err != nil {
		return fmt.Errorf("skipping the %d bytes already uploaded: %w", n, err)
	}
	return nil
}

// send uploads r from offset acked to the end and returns the upload's
// total size.
func (u *uploader) send(r io.Reader, acked uint64) (uint64, error) {
	if u.ended {
		// Resumed after the last part was durable: nothing to send.
		u.rep.update(func(p *Progress) { p.InputDone = true })
		return acked, nil
	}
	buf := make([]byte, 0, u.o.Part+u.o.Piece)
	base, read := acked, acked
	eof := false
	lastPoll := time.Now()
	for {
		if !eof && len(buf) < u.o.Part {
			n, err := io.ReadFull(r, buf[len(buf):u.o.Part])
			buf = buf[:len(buf)+n]
			read += uint64(n)
			switch {
			case err == io.EOF || err == io.ErrUnexpectedEOF:
				eof = true
			case err != nil:
				return read, fmt.Errorf("reading the input: %w", err)
			}
			u.rep.update(func(p *Progress) { p.BytesRead = read })
		}
		st, err := u.postPart(base, buf, eof)
		if err != nil {
			return read, err
		}
		if st.Acked < base || st.Acked > base+uint64(len(buf)) {
			return read, fmt.Errorf("the gateway acknowledged %d bytes of upload %s after a part of bytes %d to %d: it must not; is --node a DataDragon node?", st.Acked, u.id, base, base+uint64(len(buf)))
		}
		buf = buf[:copy(buf, buf[st.Acked-base:])]
		base = st.Acked
		u.rep.update(func(p *Progress) { p.BytesAcked = base })
		if st.Ended {
			if !eof || len(buf) > 0 {
				return read, fmt.Errorf("upload %s already ended at %d bytes, but the input goes on: start a new upload", u.id, st.Acked)
			}
			u.ended = true
			u.rep.update(func(p *Progress) { p.InputDone = true })
			return read, nil
		}
		if time.Since(lastPoll) >= u.o.Poll {
			lastPoll = time.Now()
			if cs, err := u.c.UploadChunks(u.ctx, u.stream, u.id); err == nil {
				u.setChunks(cs)
			}
		}
	}
}

// postPart sends part, the upload's bytes from offset base (end: the
// last part), until the gateway answers, retrying failures from the
// offset it then holds. It returns the gateway's answer; the caller keeps
// what it did not acknowledge (less than a piece, unless end).
func (u *uploader) postPart(base uint64, part []byte, end bool) (UploadStatus, error) {
	path := "/v1/push/" + url.PathEscape(u.stream)
	q := url.Values{"upload": {u.id}, "piece": {strconv.Itoa(u.o.Piece)}, "end": {"0"}}
	if end {
		q.Set("end", "1")
	}
	b := u.o.backoff()
	off, body := base, part
	for {
		q.Set("offset", strconv.FormatUint(off, 10))
		var st UploadStatus
		status, data, err := u.c.request(u.ctx, http.MethodPost, path, q, body, true, maxJSONBytes, u.rep.counted(off))
		if err == nil && status == http.StatusOK {
			if err := json.Unmarshal(data, &st); err != nil {
				return st, fmt.Errorf("POST %s: the answer is not an upload status (%v); is the address that of a DataDragon node?", path, err)
			}
			if st.Acked <= off && !st.Ended && (end || len(body) >= u.o.Piece) {
				return st, fmt.Errorf("POST %s: the gateway acknowledged no byte of a %d-byte part at offset %d of upload %s (end=%v)", path, len(body), off, u.id, end)
			}
			return st, nil
		}
		if err == nil {
			e := errorFrom(http.MethodPost, path, status, data)
			if status == http.StatusConflict && e.Upload != nil {
				return st, fmt.Errorf("the gateway holds only %d bytes of upload %s, fewer than the %d it acknowledged before (was the node's data reset, or is --node a different node than before?): push again as a new upload", e.Upload.Acked, u.id, off)
			}
			err = e
		}
		if !retryable(u.ctx, err) {
			return st, err
		}
		if werr := b.wait(u.ctx, err); werr != nil {
			return st, werr
		}
		// Resume from what the gateway holds; if it cannot tell, resend
		// from the same offset (the gateway skips what it holds).
		cur, serr := u.c.UploadStatus(u.ctx, u.stream, u.id)
		if IsNotFound(serr) {
			cur, serr = &UploadStatus{Upload: u.id}, nil
		}
		if serr != nil {
			continue
		}
		switch {
		case cur.Ended || cur.Acked > base+uint64(len(part)):
			return *cur, nil
		case cur.Acked < base:
			return *cur, fmt.Errorf("the gateway holds only %d bytes of upload %s, fewer than the %d it acknowledged before (was the node's data reset, or is --node a different node than before?): push again as a new upload", cur.Acked, u.id, base)
		}
		rest := part[cur.Acked-base:]
		if !end && len(rest) < u.o.Piece {
			return *cur, nil // the rest goes at the head of the next part
		}
		off, body = cur.Acked, rest
		u.rep.update(func(p *Progress) { p.BytesAcked = cur.Acked })
	}
}

// setChunks records a chunk list and reports it.
func (u *uploader) setChunks(cs *UploadChunks) {
	u.chunks = cs.Chunks
	u.rep.update(func(p *Progress) {
		p.ChunksLogged, p.ChunksAccepted, p.ChunksDisputed, p.ChunksRejected, p.ChunksTotal = 0, 0, 0, 0, 0
		for _, c := range cs.Chunks {
			p.ChunksTotal++
			switch c.Status {
			case "open":
				continue
			case "accepted":
				p.ChunksAccepted++
			case "disputed":
				p.ChunksDisputed++
			case "rejected":
				p.ChunksRejected++
			}
			p.ChunksLogged++
		}
	})
}

// wait polls the upload's chunks until every one is decided (or, with
// NoWait, until every one is closed and durable).
func (u *uploader) wait() error {
	b := u.o.backoff()
	var lastKey string
	lastChange := time.Now()
	for {
		cs, err := u.c.UploadChunks(u.ctx, u.stream, u.id)
		if err != nil {
			if !retryable(u.ctx, err) {
				return err
			}
			if werr := b.wait(u.ctx, err); werr != nil {
				return werr
			}
			continue
		}
		b.reset()
		u.setChunks(cs)
		open, undecided := 0, 0
		var key strings.Builder
		for _, c := range cs.Chunks {
			key.WriteString(c.Status)
			key.WriteByte(',')
			if c.Status == "open" {
				open++
			} else if !decided(c.Status) {
				undecided++
			}
		}
		if cs.Ended && open == 0 && (undecided == 0 || u.o.NoWait) {
			u.rep.update(func(p *Progress) { p.Done = undecided == 0 })
			return nil
		}
		if k := key.String(); k != lastKey {
			lastKey, lastChange = k, time.Now()
		} else if u.o.Stall > 0 && time.Since(lastChange) > u.o.Stall {
			p := u.rep.snapshot()
			return fmt.Errorf("no chunk of upload %s changed state for %v (%d of %d accepted, %d still open): the chain may be stalled or the node behind; its data is durable, so wait for it later by resuming upload %s", u.id, u.o.Stall.Round(time.Second), p.ChunksAccepted, p.ChunksTotal, open, u.id)
		}
		if err := sleep(u.ctx, u.o.Poll); err != nil {
			return err
		}
	}
}
