package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/gateway/internal/crashpoint"
	"github.com/datadragon/datadragon/gateway/wal"
	"github.com/datadragon/datadragon/ingest/digest"
)

const (
	originFile   = "origin"   // 16 random bytes: this log's identity on chain
	policyFile   = "policy"   // u32 messages per chunk, fixed when the log is created
	sessionsFile = "sessions" // the batch records
	retainedFile = "retained" // the retention policy's cursor in the released file
	logDir       = "log"      // the messages (package wal)
	signedDir    = "signed"   // producer-signed chunk transactions (package wal)
	objectsDir   = "objects"  // accepted chunks' bytes, named by their digest
)

// ChunkState is where a gateway chunk stands.
type ChunkState uint8

// The states, in order.
const (
	StateLogged    ChunkState = iota // durable in the log, not yet in a mempool
	StateSubmitted                   // admitted to the node's mempool
	StateOnChain                     // in a block: it has its index
	StateAccepted                    // its record is accepted
	StateDisputed                    // its record is disputed
	StateRejected                    // the chain refused it (Err says why)
)

func (s ChunkState) String() string {
	return [...]string{"logged", "submitted", "on_chain", "accepted", "disputed", "rejected"}[s]
}

// gwChunk is one closed chunk of the log.
type gwChunk struct {
	FirstSeq        uint64
	Count           int
	StreamOffset    uint64
	Bytes           uint64
	Session         SessionID
	SessionOffset   uint64
	State           ChunkState
	Index           uint64
	TxHash          [32]byte
	SubmittedAt     time.Time
	Err             string
	Stored          bool          // its bytes are in the object store (or were, until the retention policy released them)
	Digest          digest.Digest // the object's name, once Stored
	StoredAt        time.Time     // when it was stored, once Stored
	ObjectGone      bool          // the retention policy had released the object before this run stored it
	RejectedInBlock bool          // the chain refused it in a block (not only the mempool's admission check)
	HasContent      bool          // fetch mode: its content id is in the gateway's content index
}

// releasable says whether the log no longer needs a chunk's messages: the
// chain decided it and, unless it was refused, its bytes are durable in
// the object store.
func (c *gwChunk) releasable() bool {
	switch c.State {
	case StateRejected:
		// Only a refusal in a block is final: one by the mempool's
		// admission check may pass after a restart (a stream registered
		// since, say), and the log keeps the chunk for it.
		return c.RejectedInBlock
	case StateAccepted, StateDisputed:
		return c.Stored
	}
	return false
}

type sessionState struct {
	acked    uint64
	ended    bool
	firstSeq uint64
	has      bool // has logged messages
}

// openChunk is the chunk being filled.
type openChunk struct {
	first, count  uint64
	bytes, offset uint64
	session       SessionID
	sessOffset    uint64
}

// pushStream is one stream's durable log, its chunks and its submitter.
type pushStream struct {
	g      *Gateway
	id     string
	origin [wire.OriginSize]byte
	per    int // messages per chunk
	// maxChunk bounds a chunk's bytes: a transaction's data limit, or a
	// fetched chunk's in fetch mode.
	maxChunk uint64
	log      *wal.Log
	sess     *sessionLog
	signed   *signedChunks

	mu         sync.Mutex
	batches    []batch
	sessions   map[SessionID]*sessionState
	chunks     []*gwChunk
	byTx       map[[32]byte]*gwChunk
	byIndex    map[uint64]*gwChunk
	open       openChunk
	lastAppend time.Time
	broken     error
	wake       chan struct{}

	// The released prefix of the log (released.go): every chunk below
	// relSeq is decided and done with, listed in released.
	rel          *releasedLog
	released     []relChunk
	relBySession map[SessionID][]int // indexes into released
	relSeq       uint64
	relOff       uint64

	// The retention policy's progress (retention.go): the objects of
	// released[:retainPos] are dealt with; keptBytes counts the bytes of
	// this stream's objects still stored.
	retainPos   int
	keptBytes   uint64
	objReleased int // objects of released[:retainPos] that the policy deleted
	nextRetain  time.Time
	lastRelease time.Time // of the log; only the stream's loop uses it
}

// openPushStream opens a stream's directory and recovers it. Nothing on
// disk changes until every file has been read and found consistent (the
// logs' own torn tails aside, which wal.Open cuts as it opens them): a
// stream that cannot open leaves its files exactly as they were, for an
// operator to inspect or restore.
func openPushStream(g *Gateway, id, dir string, spec *app.StreamInfo) (_ *pushStream, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ps := &pushStream{g: g, id: id, sessions: map[SessionID]*sessionState{}, byTx: map[[32]byte]*gwChunk{},
		byIndex: map[uint64]*gwChunk{}, wake: make(chan struct{}, 1), relBySession: map[SessionID][]int{}, maxChunk: wire.MaxChunkDataBytes}
	if g.fetchMode() {
		ps.maxChunk = wire.MaxFetchedChunkBytes
	}
	defer func() {
		if err != nil {
			ps.close()
		}
	}()
	if err := ps.identity(dir, spec); err != nil {
		return nil, err
	}
	if ps.log, err = wal.Open(filepath.Join(dir, logDir), wal.Options{MaxMessageBytes: wire.MaxChunkDataBytes, SegmentBytes: g.cfg.LogSegmentBytes, NoSync: g.cfg.NoSync}); err != nil {
		return nil, err
	}
	var notes []string
	for _, r := range ps.log.Repairs() {
		notes = append(notes, r.String())
	}
	relPath := filepath.Join(dir, releasedFileName)
	rr, err := readReleasedFile(relPath)
	if err != nil {
		return nil, err
	}
	if rr.torn != "" {
		notes = append(notes, fmt.Sprintf("cut %s at byte %d (%d bytes): %s; no segment was deleted for it, so its chunks are rebuilt from the log", relPath, rr.good, rr.size-rr.good, rr.torn))
	}
	if err := ps.checkReleased(rr); err != nil {
		return nil, err
	}
	sessPath := filepath.Join(dir, sessionsFile)
	sf, err := readSessionFile(sessPath)
	if err != nil {
		return nil, err
	}
	next, _ := ps.log.Next()
	plan, err := planSessions(sf, next, ps.messageLens)
	if err != nil {
		return nil, err
	}
	notes = append(notes, plan.notes...)
	if ps.signed, err = openSignedChunks(ps, filepath.Join(dir, signedDir)); err != nil {
		return nil, err
	}
	for _, r := range ps.signed.log.Repairs() {
		notes = append(notes, r.String())
	}
	if err := ps.recover(plan.batches); err != nil {
		return nil, err
	}
	retainPos, note, err := readRetained(filepath.Join(dir, retainedFile), len(rr.chunks))
	if err != nil {
		return nil, err
	}
	if note != "" {
		notes = append(notes, note)
	}
	ps.setRetained(retainPos)
	// Everything is consistent: now repair the sessions and released files.
	if ps.sess, err = openSessionLog(sessPath, plan, g.cfg.NoSync); err != nil {
		return nil, err
	}
	if ps.rel, err = openReleasedLog(relPath, rr, g.cfg.NoSync); err != nil {
		return nil, err
	}
	if len(rr.chunks) > 0 {
		// A crash between a release's record and its deletions leaves
		// segments the record already released: delete them now.
		if err := ps.log.Release(ps.relSeq); err != nil {
			return nil, err
		}
	}
	if err := ps.finishEnd(); err != nil {
		return nil, err
	}
	for _, n := range notes {
		g.log.Warn("gateway: recovered from a crash", "stream", id, "repair", n)
	}
	return ps, nil
}

// messageLens returns the lengths of n logged messages from seq from.
func (ps *pushStream) messageLens(from, n uint64) ([]uint64, error) {
	var out []uint64
	for uint64(len(out)) < n {
		ents, err := ps.log.Read(from+uint64(len(out)), int(min(n-uint64(len(out)), 4096)), 64<<20)
		if err != nil {
			return nil, err
		}
		if len(ents) == 0 {
			return nil, fmt.Errorf("the log returned no message at seq %d", from+uint64(len(out)))
		}
		for _, e := range ents {
			out = append(out, uint64(len(e.Data)))
		}
	}
	return out, nil
}

// checkReleased checks the released prefix against the log and adopts
// it: the log must hold every message from the prefix's end on (its
// segments below it may be gone, or some left by a crash mid-release),
// and the message there must start where the prefix ends.
func (ps *pushStream) checkReleased(rr *releasedRead) error {
	seq, off := rr.end()
	next, doff := ps.log.Next()
	first := ps.log.First()
	switch {
	case seq > next:
		return fmt.Errorf("%s releases the log's messages below %d, but the log ends at message %d: the log lost messages it had acknowledged. Restore the stream's directory from a copy",
			releasedFileName, seq, next)
	case first > seq:
		return fmt.Errorf("the log's oldest segment starts at message %d, but only messages below %d were released: segment files holding messages not yet on chain are missing. Restore the stream's directory from a copy",
			first, seq)
	case seq == next && off != doff:
		return fmt.Errorf("%s releases the log up to stream offset %d, but the log ends at offset %d. Restore the stream's directory from a copy", releasedFileName, off, doff)
	case seq < next:
		ents, err := ps.log.Read(seq, 1, wire.MaxChunkDataBytes)
		if err != nil {
			return err
		}
		if len(ents) != 1 || ents[0].Offset != off {
			return fmt.Errorf("%s releases the log up to message %d at stream offset %d, but the log has that message elsewhere. Restore the stream's directory from a copy", releasedFileName, seq, off)
		}
	}
	ps.released, ps.relSeq, ps.relOff = rr.chunks, seq, off
	for i, r := range rr.chunks {
		ps.relBySession[r.Session] = append(ps.relBySession[r.Session], i)
	}
	return nil
}

// finishEnd completes an end without messages that a crash interrupted
// between its batch record and the log's end marker: the session has
// ended, so its open chunk closes, durably, as it would have.
func (ps *pushStream) finishEnd() error {
	if len(ps.batches) == 0 || ps.open.count == 0 {
		return nil
	}
	b := ps.batches[len(ps.batches)-1]
	if b.N != 0 || !b.Ended || ps.open.session != b.ID {
		return nil
	}
	if err := ps.log.MarkEnd(); err != nil {
		return err
	}
	ps.closeOpen()
	return nil
}

// identity reads (or, for a new log, writes) the origin and chunk size.
func (ps *pushStream) identity(dir string, spec *app.StreamInfo) error {
	op, pp := filepath.Join(dir, originFile), filepath.Join(dir, policyFile)
	ob, err := os.ReadFile(op)
	if errors.Is(err, os.ErrNotExist) {
		if spec == nil {
			return errors.New("no origin file")
		}
		if _, err := rand.Read(ps.origin[:]); err != nil {
			return err
		}
		per := binary.BigEndian.AppendUint32(nil, uint32(spec.PushMessages()))
		if err := writeSynced(pp, per); err != nil {
			return err
		}
		if err := writeSynced(op, ps.origin[:]); err != nil {
			return err
		}
		ps.per = spec.PushMessages()
		return syncDir(dir)
	}
	if err != nil {
		return err
	}
	pb, err := os.ReadFile(pp)
	if err != nil {
		return err
	}
	if len(ob) != wire.OriginSize || len(pb) != 4 {
		return errors.New("origin or policy file damaged")
	}
	copy(ps.origin[:], ob)
	ps.per = int(binary.BigEndian.Uint32(pb))
	if ps.per < 1 || ps.per > wire.MaxChunkMessages {
		return fmt.Errorf("policy file says %d messages per chunk", ps.per)
	}
	return nil
}

func writeSynced(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// recover rebuilds sessions and chunks from the batches and the log, and
// asks the chain which chunks it already holds.
func (ps *pushStream) recover(batches []batch) error {
	ps.batches = batches
	for _, b := range batches {
		ps.noteBatch(b)
	}
	next, _ := ps.log.Next()
	bi := 0
	var batchStart uint64 // stream offset of batch bi's first message
	for seq := ps.relSeq; seq < next; {
		ents, err := ps.log.Read(seq, 4096, 64<<20)
		if err != nil {
			return err
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			for bi < len(ps.batches) && ps.batches[bi].FirstSeq+uint64(ps.batches[bi].N) <= e.Seq {
				bi++
			}
			if bi == len(ps.batches) || ps.batches[bi].FirstSeq > e.Seq {
				return fmt.Errorf("message %d of the log belongs to no session batch", e.Seq)
			}
			b := ps.batches[bi]
			if e.Seq == b.FirstSeq {
				batchStart = e.Offset
			} else if e.Seq == ps.relSeq {
				// The batch began in the released prefix: its first
				// messages are gone, but the last released chunk ends
				// inside it, in the same session, where this one starts.
				last := ps.released[len(ps.released)-1]
				at := last.SessionOffset + last.Bytes
				if last.Session != b.ID || at < b.Before || at > b.After {
					return fmt.Errorf("message %d, the first after the released prefix, lies inside a batch of session %x at bytes %d to %d, but the last released chunk ends at byte %d of session %x",
						e.Seq, b.ID, b.Before, b.After, at, last.Session)
				}
				batchStart = e.Offset - (at - b.Before)
			}
			ps.chunkMessage(e.Seq, e.Offset, uint64(len(e.Data)), e.End, b.ID, b.Before+(e.Offset-batchStart))
			seq = e.Seq + 1
		}
	}
	for _, c := range ps.chunks {
		ps.resolve(c)
	}
	return nil
}

func (ps *pushStream) noteBatch(b batch) {
	s := ps.sessions[b.ID]
	if s == nil {
		s = &sessionState{}
		ps.sessions[b.ID] = s
	}
	if b.N > 0 && !s.has {
		s.firstSeq, s.has = b.FirstSeq, true
	}
	s.acked = b.After
	s.ended = s.ended || b.Ended
}

// chunkMessage feeds one logged message to the chunker. The rule, the
// same live and on recovery: a chunk closes before a message that would
// make it exceed the policy's message count or the transaction data limit
// or that comes from another session, and after a message marked End.
func (ps *pushStream) chunkMessage(seq, offset, n uint64, end bool, sess SessionID, sessOffset uint64) {
	o := &ps.open
	if o.count > 0 && (o.count == uint64(ps.per) || o.bytes+n > ps.maxChunk || o.session != sess) {
		ps.closeOpen()
	}
	if o.count == 0 {
		*o = openChunk{first: seq, offset: offset, session: sess, sessOffset: sessOffset}
	}
	o.count++
	o.bytes += n
	if end {
		ps.closeOpen()
	}
}

func (ps *pushStream) closeOpen() {
	o := ps.open
	if o.count == 0 {
		return
	}
	c := &gwChunk{FirstSeq: o.first, Count: int(o.count), StreamOffset: o.offset, Bytes: o.bytes,
		Session: o.session, SessionOffset: o.sessOffset}
	ps.chunks = append(ps.chunks, c)
	ps.open = openChunk{}
}

// resolve asks the chain about a chunk (at recovery, or when a submission
// went unanswered).
func (ps *pushStream) resolve(c *gwChunk) {
	k, ok := ps.g.cfg.Chain.PushedKey(ps.id, ps.origin, c.FirstSeq)
	if !ok {
		return
	}
	c.State, c.Index = StateOnChain, k.Index
	ps.byIndex[k.Index] = c
	switch ps.g.cfg.Chain.RecordStatus(k) {
	case "accepted":
		c.State = StateAccepted
	case "disputed":
		c.State = StateDisputed
	}
}

// appendSession durably logs msgs of a session whose acknowledged bytes
// are before, and returns the session's state after. end closes the
// session (and its last chunk).
func (ps *pushStream) appendSession(id SessionID, before uint64, msgs [][]byte, end bool) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.broken != nil {
		return ps.broken
	}
	s := ps.sessions[id]
	if s != nil && s.acked != before {
		return fmt.Errorf("session is at %d bytes, not %d", s.acked, before)
	}
	if s != nil && s.ended {
		return errors.New("the upload has ended")
	}
	if len(msgs) == 0 && !end {
		return nil
	}
	for i, m := range msgs {
		// Checked before anything is written: a message the log would
		// refuse must not leave a batch record behind.
		if len(m) > wire.MaxChunkDataBytes {
			return errBad("message %d is %d bytes; a message is at most %d bytes", i, len(m), wire.MaxChunkDataBytes)
		}
	}
	next, streamOff := ps.log.Next()
	var n uint64
	for _, m := range msgs {
		n += uint64(len(m))
	}
	b := batch{ID: id, Before: before, After: before + n, FirstSeq: next, N: uint32(len(msgs)), Ended: end}
	if err := ps.sess.write(b); err != nil {
		ps.broken = fmt.Errorf("gateway log of %s: %w; restart the node", ps.id, err)
		return ps.broken
	}
	crashpoint.Hit(crashpoint.BatchSynced)
	if len(msgs) > 0 {
		if _, err := ps.log.Append(msgs, end); err != nil {
			ps.broken = fmt.Errorf("gateway log of %s: %w; restart the node", ps.id, err)
			return ps.broken
		}
	} else if end && ps.open.count > 0 && ps.open.session == id {
		if err := ps.log.MarkEnd(); err != nil {
			ps.broken = fmt.Errorf("gateway log of %s: %w; restart the node", ps.id, err)
			return ps.broken
		}
	}
	crashpoint.Hit(crashpoint.LogSynced)
	ps.batches = append(ps.batches, b)
	ps.noteBatch(b)
	off, sOff := streamOff, before
	for i, m := range msgs {
		ps.chunkMessage(next+uint64(i), off, uint64(len(m)), end && i == len(msgs)-1, id, sOff)
		off += uint64(len(m))
		sOff += uint64(len(m))
	}
	if len(msgs) == 0 && end && ps.open.session == id {
		ps.closeOpen()
	}
	ps.lastAppend = time.Now()
	ps.poke()
	return nil
}

// flushSession closes the open chunk now if it holds the session's
// messages (a producer's explicit flush).
func (ps *pushStream) flushSession(id SessionID) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.open.count == 0 || ps.open.session != id || ps.broken != nil {
		return
	}
	if err := ps.log.MarkEnd(); err != nil {
		ps.broken = fmt.Errorf("gateway log of %s: %w; restart the node", ps.id, err)
		return
	}
	ps.closeOpen()
	ps.poke()
}

func (ps *pushStream) poke() {
	select {
	case ps.wake <- struct{}{}:
	default:
	}
}

// session returns a copy of a session's state.
func (ps *pushStream) session(id SessionID) (sessionState, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	s, ok := ps.sessions[id]
	if !ok {
		return sessionState{}, false
	}
	return *s, true
}

// run closes idle chunks and submits chunks until stop.
func (ps *pushStream) run(stop <-chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ps.wake:
		case <-t.C:
		}
		ps.flushIdle()
		ps.submitDue()
		ps.signed.submitDue()
		ps.indexContent()
		ps.storeObjects()
		ps.releaseDue()
		ps.retainDue(ps.g.cfg.clock())
	}
}

func (ps *pushStream) flushIdle() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.open.count == 0 || ps.broken != nil || time.Since(ps.lastAppend) < ps.g.cfg.FlushAfter {
		return
	}
	if err := ps.log.MarkEnd(); err != nil {
		ps.broken = fmt.Errorf("gateway log of %s: %w; restart the node", ps.id, err)
		return
	}
	ps.closeOpen()
}

// submitDue submits logged chunks in order, within the in-flight bound,
// and takes back submissions that went unanswered.
func (ps *pushStream) submitDue() {
	ps.mu.Lock()
	var due []*gwChunk
	inflight := 0
	now := time.Now()
	for _, c := range ps.chunks {
		if c.State == StateSubmitted {
			if now.Sub(c.SubmittedAt) > ps.g.cfg.ResubmitAfter {
				ps.resolve(c)
				if c.State == StateSubmitted {
					c.State = StateLogged
				}
			} else {
				inflight++
			}
		}
	}
	for _, c := range ps.chunks {
		if inflight+len(due) >= ps.g.cfg.MaxInflight {
			break
		}
		if c.State == StateLogged {
			due = append(due, c)
		}
	}
	ps.mu.Unlock()
	for _, c := range due {
		tx, err := ps.chunkTx(c)
		if err != nil {
			ps.g.log.Error("gateway: reading a logged chunk", "stream", ps.id, "first_seq", c.FirstSeq, "err", err)
			return
		}
		// Known by its hash before it reaches the mempool: the block that
		// carries it may be committed before Submit returns.
		h := sha256.Sum256(tx)
		ps.mu.Lock()
		c.State, c.TxHash, c.SubmittedAt = StateSubmitted, h, time.Now()
		ps.byTx[h] = c
		ps.mu.Unlock()
		code, lg, err := ps.g.cfg.Chain.Submit(tx)
		ps.mu.Lock()
		switch {
		case err != nil:
			// The mempool is full or the node is busy: try again later.
			if c.State == StateSubmitted {
				c.State = StateLogged
			}
			delete(ps.byTx, h)
			ps.mu.Unlock()
			return
		case code == app.CodeOK || code == app.CodeDuplicate:
			if code == app.CodeDuplicate && c.State == StateSubmitted {
				ps.resolve(c)
			}
		default:
			delete(ps.byTx, h)
			c.State, c.Err = StateRejected, lg
			ps.g.log.Warn("gateway: the chain refused a chunk", "stream", ps.id, "first_seq", c.FirstSeq, "code", code, "log", lg)
		}
		ps.mu.Unlock()
	}
}

// chunkTx reads a chunk's messages from the log into its transaction.
func (ps *pushStream) chunkTx(c *gwChunk) ([]byte, error) {
	if ps.g.fetchMode() {
		return ps.fetchTx(c)
	}
	ents, err := ps.log.Read(c.FirstSeq, c.Count, int(c.Bytes)+1)
	if err != nil {
		return nil, err
	}
	if len(ents) != c.Count {
		return nil, fmt.Errorf("log returned %d of %d messages", len(ents), c.Count)
	}
	msgs := make([][]byte, len(ents))
	for i, e := range ents {
		msgs[i] = e.Data
	}
	t := &wire.ChunkTx{Stream: ps.id, Origin: ps.origin, FirstSeq: c.FirstSeq, Offset: c.SessionOffset, Messages: msgs}
	return t.Marshal()
}

// storeObjects writes the bytes of chunks that are on chain into the
// object store, named by the chunk digest a record carries: anyone holding
// a receipt can fetch the chunk's bytes by digest and check them. A chunk
// this node's validator fetched and stored already (KeepFetched) is not
// written again.
func (ps *pushStream) storeObjects() {
	ps.mu.Lock()
	var todo []*gwChunk
	for _, c := range ps.chunks {
		if c.State >= StateOnChain && c.State != StateRejected && !c.Stored {
			todo = append(todo, c)
		}
	}
	ps.mu.Unlock()
	for _, c := range todo {
		ps.mu.Lock()
		stored, index := c.Stored, c.Index
		ps.mu.Unlock()
		if stored {
			continue
		}
		d, at, gone, err := ps.storeObject(c, index)
		if err != nil {
			ps.g.log.Error("gateway: storing a chunk's bytes", "stream", ps.id, "index", index, "err", err)
			return
		}
		ps.markStored(c, d, at, gone)
	}
}

// storeObject streams a chunk from the log into a temporary file while
// hashing its digest under its chain index, then makes the file the
// object of that digest.
func (ps *pushStream) storeObject(c *gwChunk, index uint64) (digest.Digest, time.Time, bool, error) {
	h, err := digest.NewHasher(ps.id, index)
	if err != nil {
		return digest.Digest{}, time.Time{}, false, err
	}
	f, err := ps.g.objects.temp()
	if err != nil {
		return digest.Digest{}, time.Time{}, false, err
	}
	err = ps.eachMessage(c, func(seq uint64, b []byte) error {
		if err := h.Add(seq, b); err != nil {
			return err
		}
		_, err := f.Write(b)
		return err
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var d digest.Digest
	if err == nil {
		d, err = h.Sum()
	}
	if err != nil {
		os.Remove(f.Name())
		return digest.Digest{}, time.Time{}, false, err
	}
	at, gone, err := ps.g.objects.adopt(d, f.Name(), ps.g.cfg.clock())
	return d, at, gone, err
}

// markStored records that a chunk's bytes are object d (or were, until
// the retention policy released them), unless that is known already.
func (ps *pushStream) markStored(c *gwChunk, d digest.Digest, at time.Time, gone bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if c.Stored {
		return
	}
	c.Stored, c.Digest, c.StoredAt, c.ObjectGone = true, d, at, gone
	if !gone {
		ps.keptBytes += c.Bytes
	}
}

// committed applies a block's outcomes to this stream's chunks.
func (ps *pushStream) committed(s app.CommitSummary) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, o := range s.Txs {
		c, ok := ps.byTx[o.TxHash]
		if !ok {
			continue
		}
		delete(ps.byTx, o.TxHash)
		switch o.Code {
		case app.CodeOK, app.CodeDuplicate:
			if c.State < StateOnChain {
				c.State, c.Index = StateOnChain, o.Key.Index
				ps.byIndex[c.Index] = c
			}
		default:
			c.State, c.Err, c.RejectedInBlock = StateRejected, o.Log, true
		}
	}
	for _, r := range s.Records {
		if r.Stream != ps.id {
			continue
		}
		if c, ok := ps.byIndex[r.Index]; ok {
			if r.Status == wire.StatusAccepted {
				c.State = StateAccepted
			} else {
				c.State = StateDisputed
			}
		}
	}
	ps.signed.committed(s)
	ps.poke()
}

// ChunkView is a gateway chunk as the push API shows it.
type ChunkView struct {
	FirstSeq uint64  `json:"first_seq"`
	Messages int     `json:"messages"`
	Offset   uint64  `json:"offset"` // in the upload or push session
	Bytes    uint64  `json:"bytes"`
	Status   string  `json:"status"`
	Index    *uint64 `json:"index,omitempty"`
	Error    string  `json:"error,omitempty"`
	// Released: the node's log no longer holds the chunk's messages (it is
	// decided, and its bytes are in the object store unless refused).
	Released bool `json:"released,omitempty"`
}

// sessionChunks lists a session's chunks in order, the open one last.
func (ps *pushStream) sessionChunks(id SessionID) []ChunkView {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := []ChunkView{}
	for _, i := range ps.relBySession[id] {
		r := &ps.released[i]
		v := ChunkView{FirstSeq: r.FirstSeq, Messages: int(r.Count), Offset: r.SessionOffset, Bytes: r.Bytes, Status: r.State.String(), Released: true}
		if r.State != StateRejected {
			idx := r.Index
			v.Index = &idx
		}
		out = append(out, v)
	}
	for _, c := range ps.chunks {
		if c.Session != id {
			continue
		}
		v := ChunkView{FirstSeq: c.FirstSeq, Messages: c.Count, Offset: c.SessionOffset, Bytes: c.Bytes, Status: c.State.String(), Error: c.Err}
		if c.State >= StateOnChain && c.State != StateRejected {
			idx := c.Index
			v.Index = &idx
		}
		out = append(out, v)
	}
	if o := ps.open; o.count > 0 && o.session == id {
		out = append(out, ChunkView{FirstSeq: o.first, Messages: int(o.count), Offset: o.sessOffset, Bytes: o.bytes, Status: "open"})
	}
	return out
}

// stats returns counts for the status endpoint.
func (ps *pushStream) stats() map[string]any {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	by := map[string]int{}
	for _, c := range ps.chunks {
		by[c.State.String()]++
	}
	next, off := ps.log.Next()
	return map[string]any{"stream": ps.id, "next_seq": next, "bytes": off, "chunks": by,
		"open_messages": ps.open.count, "sessions": len(ps.sessions), "messages_per_chunk": ps.per,
		"released_chunks": len(ps.released), "released_seq": ps.relSeq, "log_segments": len(ps.log.Segments()),
		"objects_kept_bytes": ps.keptBytes, "objects_released": ps.objReleased}
}

func (ps *pushStream) close() error {
	var e1, e2, e3 error
	if ps.signed != nil {
		e1 = ps.signed.close()
	}
	e2 = ps.sess.close()
	if ps.log != nil {
		e3 = ps.log.Close()
	}
	return errors.Join(e1, e2, e3, ps.rel.close())
}
