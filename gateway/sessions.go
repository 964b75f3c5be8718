package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// SessionID names one upload or one WebSocket push session; the producer
// picks it (16 random bytes) and uses it to resume.
type SessionID [16]byte

// batch is one durable append of a session: its messages are seqs
// [FirstSeq, FirstSeq+N) of the stream's log and bytes [Before, After) of
// the session.
type batch struct {
	ID       SessionID
	Before   uint64
	After    uint64
	FirstSeq uint64
	N        uint32
	Ended    bool
}

const batchRecordSize = 16 + 8 + 8 + 8 + 4 + 1 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (b *batch) encode() []byte {
	out := make([]byte, 0, batchRecordSize)
	out = append(out, b.ID[:]...)
	out = binary.BigEndian.AppendUint64(out, b.Before)
	out = binary.BigEndian.AppendUint64(out, b.After)
	out = binary.BigEndian.AppendUint64(out, b.FirstSeq)
	out = binary.BigEndian.AppendUint32(out, b.N)
	e := byte(0)
	if b.Ended {
		e = 1
	}
	out = append(out, e)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

func decodeBatch(r []byte) (batch, bool) {
	var b batch
	if len(r) != batchRecordSize || crc32.Checksum(r[:batchRecordSize-4], castagnoli) != binary.BigEndian.Uint32(r[batchRecordSize-4:]) {
		return b, false
	}
	copy(b.ID[:], r)
	b.Before = binary.BigEndian.Uint64(r[16:])
	b.After = binary.BigEndian.Uint64(r[24:])
	b.FirstSeq = binary.BigEndian.Uint64(r[32:])
	b.N = binary.BigEndian.Uint32(r[40:])
	b.Ended = r[44] == 1
	if b.After < b.Before || r[44] > 1 {
		return b, false
	}
	return b, true
}

// sessionLog is the append-only file of batches. A batch record is written
// and synced BEFORE its messages are appended to the stream's log, and the
// batch is acknowledged only once both are durable. So the file and the log
// agree except at the very end: a crash can leave a torn last record (its
// messages never reached the log), or a whole last record whose messages
// reached the log only in part, or not at all (its Append never returned).
// Either batch was never acknowledged; recovery (planSessions) cuts the torn
// record and shrinks the last batch to the messages the log holds, which
// keeps them and tells the producer, who resumes from there. Anything else
// is damage and is reported, never repaired.
type sessionLog struct {
	path string
	f    *os.File
}

// sessionFile is the sessions file as read, before anything is changed.
type sessionFile struct {
	path    string
	batches []batch
	good    int64  // the length of the whole, valid records
	size    int64  // the file's length
	torn    string // why the bytes after good are a torn write (empty if there are none)
}

// readSessionFile reads every batch record without changing the file. A
// tail shorter than a record, or zeros to the end of the file (from the
// record's start or from a sector boundary inside it), is a torn write; a
// whole record failing its checksum anywhere is damage.
func readSessionFile(path string) (*sessionFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &sessionFile{path: path}, nil
	}
	if err != nil {
		return nil, err
	}
	sf := &sessionFile{path: path, size: int64(len(b))}
	zeros := len(b) // the trailing run of zero bytes starts here
	for zeros > 0 && b[zeros-1] == 0 {
		zeros--
	}
	for pos := 0; pos < len(b); pos += batchRecordSize {
		rest := b[pos:]
		if len(rest) < batchRecordSize {
			sf.torn = fmt.Sprintf("the file ends %d bytes into a batch record: a write a crash cut off", len(rest))
			break
		}
		bt, ok := decodeBatch(rest[:batchRecordSize])
		if ok {
			sf.batches = append(sf.batches, bt)
			sf.good = int64(pos + batchRecordSize)
			continue
		}
		if pos >= zeros || zeroSectorIn(pos, batchRecordSize, zeros) {
			sf.torn = fmt.Sprintf("the batch record at byte %d reads as zeros to the end of the file, as a write a crash cut off leaves it", pos)
			break
		}
		return nil, fmt.Errorf("%s is corrupt at byte %d: the batch record there fails its checksum (it is whole, so no crash wrote it so)", path, pos)
	}
	return sf, nil
}

// zeroSectorIn says whether a sector boundary inside the record at pos of
// n bytes lies in the file's trailing zero run (which starts at zeros): a
// power cut leaves the sectors a write had not reached as zeros.
func zeroSectorIn(pos, n, zeros int) bool {
	const sector = 512
	for s := (pos/sector + 1) * sector; s < pos+n; s += sector {
		if s >= zeros {
			return true
		}
	}
	return false
}

// sessionPlan is how recovery brings the sessions file into agreement with
// the log: what it keeps, and what it will rewrite once the stream has
// opened (nothing is changed before).
type sessionPlan struct {
	batches []batch // the batches after recovery
	keep    int64   // the file is cut to this length
	shrunk  *batch  // then this record is appended (the last batch, shrunk to what the log holds)
	notes   []string
}

// planSessions checks the batches against the log, which holds messages
// [0, next) (lens gives a message's length), and plans the repair of what
// a crash left. Every inconsistency a crash cannot leave is an error.
func planSessions(sf *sessionFile, next uint64, lens func(from, n uint64) ([]uint64, error)) (*sessionPlan, error) {
	p := &sessionPlan{batches: sf.batches, keep: sf.good}
	if sf.torn != "" {
		p.notes = append(p.notes, fmt.Sprintf("cut %s at byte %d (%d bytes): %s", sf.path, sf.good, sf.size-sf.good, sf.torn))
	}
	var seq uint64
	for i, b := range sf.batches {
		if b.FirstSeq != seq {
			return nil, fmt.Errorf("%s: batch record %d (byte %d) starts at message %d, but the batches before it end at message %d", sf.path, i, i*batchRecordSize, b.FirstSeq, seq)
		}
		seq += uint64(b.N)
	}
	if next > seq {
		return nil, fmt.Errorf("the log holds messages %d to %d, which no batch record of %s covers: the file lost acknowledged batches", seq, next-1, sf.path)
	}
	if next == seq {
		return p, nil
	}
	last := sf.batches[len(sf.batches)-1]
	if next < last.FirstSeq {
		return nil, fmt.Errorf("the log ends at message %d, but %s records acknowledged batches up to message %d: the log lost acknowledged messages", next, sf.path, last.FirstSeq)
	}
	// The last batch's Append was interrupted: keep the messages the log
	// holds, never acknowledged but durable now, and say so.
	held := next - last.FirstSeq
	ls, err := lens(last.FirstSeq, held)
	if err != nil {
		return nil, err
	}
	b := last
	b.N, b.Ended, b.After = uint32(held), false, b.Before
	for _, n := range ls {
		b.After += n
	}
	p.keep = sf.good - batchRecordSize
	p.batches = sf.batches[:len(sf.batches)-1]
	if held > 0 {
		p.shrunk = &b
		p.batches = append(p.batches, b)
	}
	p.notes = append(p.notes, fmt.Sprintf("the last batch of %s (session %x, bytes %d to %d, messages %d to %d) was being logged when the node stopped and was never acknowledged; the log holds %d of its %d messages: kept them, the session resumes at byte %d",
		sf.path, last.ID, last.Before, last.After, last.FirstSeq, last.FirstSeq+uint64(last.N)-1, held, last.N, b.After))
	return p, nil
}

// openSessionLog carries out a plan and opens the file for appending. A
// repair replaces the file in one rename (a copy written and synced
// first), so a crash during it leaves either the old file, which recovery
// plans the same repair for again, or the new one.
func openSessionLog(path string, p *sessionPlan, noSync bool) (*sessionLog, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	case st.Size() != p.keep || p.shrunk != nil:
		old, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if int64(len(old)) < p.keep {
			return nil, fmt.Errorf("%s changed while the stream opened", path)
		}
		data := old[:p.keep:p.keep]
		if p.shrunk != nil {
			data = append(data, p.shrunk.encode()...)
		}
		if err := writeSynced(path, data); err != nil {
			return nil, fmt.Errorf("rewriting %s: %w", path, err)
		}
		if !noSync {
			if err := syncDir(filepath.Dir(path)); err != nil {
				return nil, err
			}
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &sessionLog{path: path, f: f}, nil
}

func (s *sessionLog) write(b batch) error {
	if _, err := s.f.Write(b.encode()); err != nil {
		return err
	}
	return s.f.Sync()
}

func (s *sessionLog) close() error {
	if s == nil {
		return nil
	}
	return s.f.Close()
}
