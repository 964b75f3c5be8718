package gateway

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
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
// and synced BEFORE its messages are appended to the stream's log; on
// recovery a record whose messages never made it (the log ends before
// FirstSeq+N) is ignored, so a session's acknowledged progress is exactly
// what is durable in the log: nothing acknowledged is lost, nothing
// resent is logged twice.
type sessionLog struct {
	f *os.File
}

// openSessionLog reads every batch, keeping those the log holds (next is
// the log's next seq), and truncates a torn tail.
func openSessionLog(path string, next uint64) (*sessionLog, []batch, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	var out []batch
	rd := bufio.NewReader(f)
	buf := make([]byte, batchRecordSize)
	var good int64
	for {
		if _, err := io.ReadFull(rd, buf); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			f.Close()
			return nil, nil, err
		}
		b, ok := decodeBatch(buf)
		if !ok {
			break // a torn or zeroed tail: never acknowledged
		}
		if b.FirstSeq+uint64(b.N) > next {
			break // written, but its messages never reached the log
		}
		out = append(out, b)
		good += batchRecordSize
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("truncating %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	return &sessionLog{f: f}, out, nil
}

func (s *sessionLog) write(b batch) error {
	if _, err := s.f.Write(b.encode()); err != nil {
		return err
	}
	return s.f.Sync()
}

func (s *sessionLog) close() error { return s.f.Close() }
