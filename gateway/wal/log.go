package wal

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/datadragon/datadragon/gateway/internal/crashpoint"
)

// Options configures a Log. The zero value is ready to use.
type Options struct {
	// MaxMessageBytes is the largest message Append accepts; 0 means 1 MiB.
	// At most 1 GiB. Recovery treats a longer record as corrupt, so do not
	// lower it below the size of messages already in the log.
	MaxMessageBytes int
	// SegmentBytes is the size a segment file grows to: a new segment file
	// starts when the next message would take the current one past it (a
	// message larger than that gets a segment of its own). 0 means 64 MiB;
	// at most 2 GiB.
	SegmentBytes int64
	// NoSync skips every fsync. Acknowledged messages are then NOT durable:
	// for tests and benchmarks only.
	NoSync bool
}

// Defaults and limits of Options.
const (
	defaultMaxMessageBytes = 1 << 20
	defaultSegmentBytes    = 64 << 20
	maxSegmentBytes        = 1 << 31
)

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.MaxMessageBytes == 0:
		o.MaxMessageBytes = defaultMaxMessageBytes
	case o.MaxMessageBytes < 0 || o.MaxMessageBytes > maxMessageLimit:
		return o, fmt.Errorf("wal: MaxMessageBytes %d is out of range: use 1 to %d, or 0 for the default %d", o.MaxMessageBytes, maxMessageLimit, defaultMaxMessageBytes)
	}
	switch {
	case o.SegmentBytes == 0:
		o.SegmentBytes = defaultSegmentBytes
	case o.SegmentBytes < 0 || o.SegmentBytes > maxSegmentBytes:
		return o, fmt.Errorf("wal: SegmentBytes %d is out of range: use 1 to %d, or 0 for the default %d", o.SegmentBytes, maxSegmentBytes, defaultSegmentBytes)
	}
	return o, nil
}

// Entry is one message read back from the log.
type Entry struct {
	Seq    uint64 // assigned by the log: 0, 1, 2, … with no holes
	Offset uint64 // byte offset of Data in the stream: the sum of the lengths of all earlier messages
	End    bool   // this message closes a chunk (the producer flushed, e.g. at the end of an uploaded file)
	Data   []byte
}

// Errors a Log returns; others wrap them with details.
var (
	// ErrClosed: the Log was closed.
	ErrClosed = errors.New("wal: log is closed")
	// ErrReleased: a Read asked for messages the caller already released.
	ErrReleased = errors.New("wal: messages already released")
)

// slot is the in-memory index entry of one message: 16 bytes.
type slot struct {
	off uint64 // stream offset
	pos uint32 // position of the record in its segment file
	n   uint32 // data length, with endBit set if the message closes a chunk
}

const endBit = 1 << 31 // in slot.n; lengths are at most maxMessageLimit

func (s slot) len() int           { return int(s.n &^ endBit) }
func (s slot) end() bool          { return s.n&endBit != 0 }
func (s *slot) markEnd()          { s.n |= endBit }
func segName(first uint64) string { return fmt.Sprintf("%020d.wal", first) }

// segment is one segment file.
type segment struct {
	first uint64 // seq of its first message
	path  string
}

// mark is an end marker written to the active segment but not yet durable.
type mark struct {
	seq    uint64 // the message it marks
	ticket uint64 // durable once synced reaches it
}

// Log is the durable, append-only log of one stream's messages, kept in a
// directory of segment files. Its methods are safe for concurrent use.
type Log struct {
	dir  string
	opt  Options
	lock *os.File // holds the directory lock while open

	// ioMu is held by whoever writes or fsyncs the active segment outside a
	// rotation, and by a rotation. It is taken with mu held and may be
	// released without it; nothing takes mu while holding it.
	ioMu sync.Mutex

	mu     sync.Mutex
	cond   *sync.Cond // on mu; broadcast when a sync finishes or fails
	closed bool
	err    error // sticky: after a failed write or fsync the log accepts nothing more

	segs    []segment // oldest first; the last is the active one
	active  *os.File
	size    int64  // logical size of the active segment, pending bytes included
	written int64  // bytes of the active segment handed to the OS; pending goes here
	pending []byte // encoded records not yet written
	spare   []byte // a buffer for pending while a sync writes the other

	slots []slot // slots[i] indexes seq base+i: every message written, durable or not
	base  uint64
	next  uint64 // next seq to assign
	off   uint64 // stream length, counting every message written

	lastEnd       bool   // the last message written closes a chunk
	lastEndTicket uint64 // the record that made it so

	wrote   uint64 // records encoded so far: each one's ticket is wrote after it
	synced  uint64 // records durable so far
	syncing bool   // a sync is writing and fsyncing without mu
	marks   []mark // end markers not yet durable
	dnext   uint64 // next and off as of the last completed sync: what readers see
	doff    uint64

	released uint64 // Read refuses seqs below it

	repairs []Repair // what Open cut off the tail

	fsyncs     atomic.Int64 // fsyncs of segment data (not of new headers or the directory), for tests and benchmarks
	beforeSync func()       // test hook, called by a sync before it fsyncs
}

// Next returns the seq the next message will get and the stream's length in
// bytes so far, counting only messages that are durable: while Appends are in
// flight the seqs they are given may be higher.
func (l *Log) Next() (seq, offset uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dnext, l.doff
}

// Append writes msgs as consecutive messages, the last one closing a chunk if
// end is set, and returns the seq of the first once all of them are durable
// (their segment file fsynced, and the directory too when a segment file was
// created). Appends running at the same time share fsyncs: callers that
// arrive while one runs are all made durable by the next.
//
// No message may be longer than Options.MaxMessageBytes: if one is, nothing is
// written. After a write or fsync fails, this and every later call returns
// the error (the outcome of the failed writes is unknown); Close the Log and
// Open it again to recover.
func (l *Log) Append(msgs [][]byte, end bool) (first uint64, err error) {
	if len(msgs) == 0 {
		return 0, errors.New("wal: Append of no messages (use MarkEnd to close a chunk)")
	}
	for i, m := range msgs {
		if len(m) > l.opt.MaxMessageBytes {
			return 0, fmt.Errorf("wal: message %d of the batch is %d bytes, more than the limit MaxMessageBytes = %d", i, len(m), l.opt.MaxMessageBytes)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	first = l.next
	total := 0
	for _, m := range msgs {
		total += recOverhead + len(m)
	}
	l.pending = slices.Grow(l.pending, total) // one copy of the data, not a doubling series
	for i, m := range msgs {
		rec := int64(recOverhead + len(m))
		if l.size+rec > l.opt.SegmentBytes && l.next > l.segs[len(l.segs)-1].first {
			if err := l.rotate(); err != nil {
				return 0, err
			}
		}
		var flags byte
		n := uint32(len(m))
		if end && i == len(msgs)-1 {
			flags, n = flagEnd, n|endBit
		}
		l.pending = appendRecord(l.pending, recHeader{kind: kindData, flags: flags, seq: l.next, off: l.off}, m)
		l.slots = append(l.slots, slot{off: l.off, pos: uint32(l.size), n: n})
		l.size += rec
		l.next++
		l.off += uint64(len(m))
		l.wrote++
	}
	l.lastEnd = end
	if end {
		l.lastEndTicket = l.wrote
	}
	return first, l.waitDurable(l.wrote)
}

// MarkEnd records, durably, that the chunk in progress closes after the last
// message appended: Read then reports that message with End set. It does
// nothing (but wait until that is durable) if there is no message yet or the
// last one already closes a chunk.
func (l *Log) MarkEnd() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	if l.next == 0 {
		return nil
	}
	if !l.lastEnd {
		l.pending = appendRecord(l.pending, recHeader{kind: kindEnd, seq: l.next - 1, off: l.off}, nil)
		l.size += recOverhead
		l.wrote++
		l.marks = append(l.marks, mark{seq: l.next - 1, ticket: l.wrote})
		l.lastEnd, l.lastEndTicket = true, l.wrote
	}
	return l.waitDurable(l.lastEndTicket)
}

// usable reports why the log takes no more calls, if it does not. mu is held.
func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	return l.err
}

// waitDurable returns once the record with the given ticket is durable, or
// the log failed. mu is held; it is released while waiting. The caller that
// finds no sync running runs one for everyone (group commit).
func (l *Log) waitDurable(ticket uint64) error {
	for l.synced < ticket {
		if l.err != nil {
			return l.err
		}
		if l.syncing {
			l.cond.Wait()
			continue
		}
		l.sync()
	}
	return nil
}

// sync writes the pending records and fsyncs the active segment, releasing mu
// meanwhile so that more records can be encoded for the next sync. mu is held
// and no sync is running.
func (l *Log) sync() {
	l.syncing = true
	buf, pos, f := l.pending, l.written, l.active
	l.pending, l.spare = l.spare[:0], nil
	l.written += int64(len(buf))
	ticket, next, off := l.wrote, l.next, l.off
	l.ioMu.Lock() // before releasing mu: a rotation must wait for this sync's writes
	l.mu.Unlock()

	var err error
	if len(buf) > 0 && crashpoint.Armed() {
		// A crash test: write a little over half, which ends inside a
		// record's data whether the records are one or many, and maybe
		// die there.
		half := min(len(buf)/2+recHeaderSize+100, len(buf)-1)
		if _, err = f.WriteAt(buf[:half], pos); err == nil {
			crashpoint.Hit(crashpoint.LogMidWrite)
			buf, pos = buf[half:], pos+int64(half)
		}
	}
	if len(buf) > 0 && err == nil {
		if _, err = f.WriteAt(buf, pos); err != nil {
			err = fmt.Errorf("wal: writing %s: %w", f.Name(), err)
		}
	}
	if err == nil && !l.opt.NoSync {
		if l.beforeSync != nil {
			l.beforeSync()
		}
		if err = f.Sync(); err != nil {
			err = fmt.Errorf("wal: fsync of %s: %w", f.Name(), err)
		}
		l.fsyncs.Add(1)
	}
	l.ioMu.Unlock()

	l.mu.Lock()
	l.syncing = false
	if cap(buf) <= 32<<20 {
		l.spare = buf[:0]
	}
	if err != nil {
		l.fail(err)
		return
	}
	l.publish(ticket, next, off)
}

// publish records that every record up to ticket is durable, and that
// readers may see messages before next. mu is held.
func (l *Log) publish(ticket, next, off uint64) {
	if ticket > l.synced {
		l.synced = ticket
	}
	if next > l.dnext {
		l.dnext, l.doff = next, off
	}
	keep := l.marks[:0]
	for _, m := range l.marks {
		switch {
		case m.ticket > l.synced:
			keep = append(keep, m)
		case m.seq >= l.base && m.seq-l.base < uint64(len(l.slots)):
			l.slots[m.seq-l.base].markEnd()
		}
	}
	l.marks = keep
	l.cond.Broadcast()
}

// fail makes err sticky and wakes the waiters. mu is held.
func (l *Log) fail(err error) {
	if l.err == nil {
		l.err = fmt.Errorf("%w (the log accepts nothing more: close and reopen it)", err)
	}
	l.cond.Broadcast()
}

// rotate completes the active segment and starts the next one at seq
// l.next. Everything written so far is durable when it returns, and the new
// file and its directory entry too: no segment other than the last is ever
// incomplete on disk. mu is held throughout.
func (l *Log) rotate() error {
	l.ioMu.Lock() // waits for a running sync's writes
	defer l.ioMu.Unlock()
	old := l.active
	if len(l.pending) > 0 {
		if _, err := old.WriteAt(l.pending, l.written); err != nil {
			l.fail(fmt.Errorf("wal: writing %s: %w", old.Name(), err))
			return l.err
		}
		l.written += int64(len(l.pending))
		l.pending = l.pending[:0]
		if cap(l.pending) > 4<<20 {
			l.pending = nil
		}
	}
	if !l.opt.NoSync {
		if err := old.Sync(); err != nil {
			l.fail(fmt.Errorf("wal: fsync of %s: %w", old.Name(), err))
			return l.err
		}
		l.fsyncs.Add(1)
	}
	seg, f, err := createSegment(l.dir, segHeader{first: l.next, offset: l.off}, !l.opt.NoSync)
	if err != nil {
		l.fail(err)
		return l.err
	}
	old.Close() // a running sync is done with it: it released ioMu
	l.segs = append(l.segs, seg)
	l.active, l.size, l.written = f, segHeaderSize, segHeaderSize
	l.publish(l.wrote, l.next, l.off)
	return nil
}

// createSegment creates the segment file for h, writes its header and, if
// sync is set, makes file and directory entry durable.
func createSegment(dir string, h segHeader, sync bool) (segment, *os.File, error) {
	seg := segment{first: h.first, path: filepath.Join(dir, segName(h.first))}
	f, err := os.OpenFile(seg.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return seg, nil, fmt.Errorf("wal: creating segment: %w", err)
	}
	_, err = f.WriteAt(appendSegHeader(nil, h), 0)
	if err == nil && sync {
		err = f.Sync()
	}
	if err == nil && sync {
		err = syncDir(dir)
	}
	if err != nil {
		f.Close()
		os.Remove(seg.path)
		return seg, nil, fmt.Errorf("wal: creating segment %s: %w", seg.path, err)
	}
	return seg, f, nil
}

// Read returns the durable messages from seq from on, in order: at most
// maxMessages of them, with at most maxBytes of data in all, but at least one
// if there is any, whatever the limits. It returns nothing if from ≥ Next,
// and an error wrapping ErrReleased if from is below the point released by
// Release (after a reopen: below the oldest segment kept). Each Entry's Data
// is the caller's.
func (l *Log) Read(from uint64, maxMessages int, maxBytes int) ([]Entry, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	if from < l.released {
		l.mu.Unlock()
		return nil, fmt.Errorf("%w: seq %d is below %d", ErrReleased, from, l.released)
	}
	if from >= l.dnext {
		l.mu.Unlock()
		return nil, nil
	}
	i := from - l.base
	var count, bytes int64
	for avail := int64(l.dnext - from); count < avail; count++ {
		n := int64(l.slots[i+uint64(count)].len())
		if count > 0 && (count >= int64(maxMessages) || bytes+n > int64(maxBytes)) {
			break
		}
		bytes += n
	}
	slots := append([]slot(nil), l.slots[i:i+uint64(count)]...)
	lastSeq := from + uint64(count) - 1
	k := sort.Search(len(l.segs), func(k int) bool { return l.segs[k].first > from }) - 1
	e := sort.Search(len(l.segs), func(k int) bool { return l.segs[k].first > lastSeq })
	segs := append([]segment(nil), l.segs[k:e]...)
	l.mu.Unlock()

	out := make([]Entry, 0, len(slots))
	for len(slots) > 0 {
		seq := from + uint64(len(out))
		for len(segs) > 1 && segs[1].first <= seq {
			segs = segs[1:]
		}
		n := len(slots)
		if len(segs) > 1 && segs[1].first-seq < uint64(n) {
			n = int(segs[1].first - seq)
		}
		var err error
		if out, err = l.readSegment(out, segs[0].path, seq, slots[:n]); err != nil {
			return nil, err
		}
		slots = slots[n:]
	}
	return out, nil
}

// readSegment appends to out the messages from seq on indexed by slots, all
// in the segment file at path.
func (l *Log) readSegment(out []Entry, path string, seq uint64, slots []slot) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			l.mu.Lock()
			rel := l.released
			l.mu.Unlock()
			if seq < rel {
				return nil, fmt.Errorf("%w: seq %d is below %d", ErrReleased, seq, rel)
			}
		}
		return nil, fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	start := int64(slots[0].pos)
	last := slots[len(slots)-1]
	buf := make([]byte, int64(last.pos)+recOverhead+int64(last.len())-start)
	if _, err := f.ReadAt(buf, start); err != nil {
		return nil, fmt.Errorf("wal: reading %s: %w", path, err)
	}
	for i, s := range slots {
		rec, _, err := decodeRecord(buf[int64(s.pos)-start:], l.opt.MaxMessageBytes)
		if err == nil && (rec.kind != kindData || rec.seq != seq+uint64(i) || rec.off != s.off || int(rec.n) != s.len()) {
			err = fmt.Errorf("holds seq %d offset %d, want seq %d offset %d", rec.seq, rec.off, seq+uint64(i), s.off)
		}
		if err != nil {
			return nil, fmt.Errorf("wal: %s changed on disk since it was recovered: record at byte %d: %v", path, s.pos, err)
		}
		out = append(out, Entry{Seq: rec.seq, Offset: rec.off, End: s.end(), Data: rec.data})
	}
	return out, nil
}

// Release tells the log that messages below seq before are no longer needed:
// it deletes the segment files all of whose messages are below it (never the
// active one), and Read refuses them from then on. before may not exceed
// Next. Releasing less than already released does nothing.
func (l *Log) Release(before uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if before > l.dnext {
		return fmt.Errorf("wal: cannot release up to seq %d: the log holds seqs below %d only", before, l.dnext)
	}
	if before <= l.released {
		return nil
	}
	l.released = before
	for len(l.segs) > 1 && l.segs[1].first <= before {
		if err := os.Remove(l.segs[0].path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("wal: releasing: %w", err)
		}
		l.slots = l.slots[l.segs[1].first-l.base:]
		l.base = l.segs[1].first
		l.segs = l.segs[1:]
		if len(l.segs) > 1 && l.segs[1].first <= before {
			crashpoint.Hit(crashpoint.ReleaseMidDelete)
		}
	}
	return nil
}

// First returns the lowest seq Read still serves: the first message of
// the oldest segment kept, or the point given to Release if higher.
func (l *Log) First() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.released
}

// Segments returns the paths of the log's segment files, oldest first.
func (l *Log) Segments() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.segs))
	for i, s := range l.segs {
		out[i] = s.path
	}
	return out
}

// Close waits for Appends in flight, then closes the log's files and unlocks
// its directory. Every other method returns ErrClosed afterwards.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	for l.syncing || (l.err == nil && l.synced < l.wrote) {
		if l.syncing {
			l.cond.Wait()
		} else {
			l.sync()
		}
	}
	return errors.Join(l.active.Close(), l.lock.Close())
}

// positionLimit bounds the position of an indexed record (slot.pos).
const positionLimit = math.MaxUint32
