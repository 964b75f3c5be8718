package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"

	"github.com/datadragon/datadragon/gateway/internal/crashpoint"
	"github.com/datadragon/datadragon/ingest/digest"
)

// releasedFile lists, one fixed-size record per chunk and in log order, the
// chunks whose messages the stream's log no longer needs: decided on chain
// (accepted, disputed or rejected) and, unless rejected, their bytes
// durable in the object store. It is the log's release marker: a release
// appends and fsyncs the records of the chunks it releases BEFORE it
// deletes any segment file, so recovery knows that every message below
// the end of the last record belongs to a chunk that is done, whatever is
// left of the segments holding them. Recovery starts the chunker there
// (a released chunk always ends at a chunk boundary) and neither
// resubmits nor stores again what the file lists; the upload status keeps
// listing the released chunks with their indexes from the records.
//
// A record, all integers big-endian:
//
//	off  size  field
//	  0     1  version, 1
//	  1     8  first seq
//	  9     4  messages
//	 13     8  stream offset
//	 21     8  bytes
//	 29    16  session
//	 45     8  offset in the session
//	 53     1  state (ChunkState: accepted, disputed or rejected)
//	 54     8  index on chain (0 if rejected)
//	 62    32  chunk digest (zeros if no object was stored)
//	 94     1  1 if the bytes were stored as an object, else 0
//	 95     8  when the object was stored (Unix ns; 0 if none)
//	103     8  when the chunk was released (Unix ns)
//	111     4  CRC-32C of bytes 0..110
//
// Like the sessions file, it is append-only and can only be torn at its
// end: a short last record, or one reading as zeros from its start or a
// sector boundary to the end of the file, is a release a crash interrupted
// before its fsync, so no segment was deleted for it and its chunks are
// still in the log; recovery cuts it (and says so) and rebuilds those
// chunks from the log like any other. Anything else is damage and is
// reported, never repaired.
const releasedFileName = "released"

const releasedRecordSize = 115

// relChunk is a released chunk as its record holds it.
type relChunk struct {
	FirstSeq      uint64
	Count         uint32
	StreamOffset  uint64
	Bytes         uint64
	Session       SessionID
	SessionOffset uint64
	State         ChunkState
	Index         uint64
	Digest        digest.Digest
	Stored        bool
	StoredAt      time.Time
	ReleasedAt    time.Time
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func fromUnixNano(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}

func (r *relChunk) encode(out []byte) []byte {
	start := len(out)
	out = append(out, 1)
	out = binary.BigEndian.AppendUint64(out, r.FirstSeq)
	out = binary.BigEndian.AppendUint32(out, r.Count)
	out = binary.BigEndian.AppendUint64(out, r.StreamOffset)
	out = binary.BigEndian.AppendUint64(out, r.Bytes)
	out = append(out, r.Session[:]...)
	out = binary.BigEndian.AppendUint64(out, r.SessionOffset)
	out = append(out, byte(r.State))
	out = binary.BigEndian.AppendUint64(out, r.Index)
	out = append(out, r.Digest[:]...)
	stored := byte(0)
	if r.Stored {
		stored = 1
	}
	out = append(out, stored)
	out = binary.BigEndian.AppendUint64(out, unixNano(r.StoredAt))
	out = binary.BigEndian.AppendUint64(out, unixNano(r.ReleasedAt))
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out[start:], castagnoli))
}

// decodeRelChunk decodes one record; a record that passes its checksum
// but holds values no release writes is refused with the reason.
func decodeRelChunk(b []byte) (relChunk, bool, string) {
	var r relChunk
	if len(b) != releasedRecordSize || crc32.Checksum(b[:releasedRecordSize-4], castagnoli) != binary.BigEndian.Uint32(b[releasedRecordSize-4:]) {
		return r, false, ""
	}
	if b[0] != 1 {
		return r, false, fmt.Sprintf("record version %d is not one this node knows (1): a newer version wrote it", b[0])
	}
	r.FirstSeq = binary.BigEndian.Uint64(b[1:])
	r.Count = binary.BigEndian.Uint32(b[9:])
	r.StreamOffset = binary.BigEndian.Uint64(b[13:])
	r.Bytes = binary.BigEndian.Uint64(b[21:])
	copy(r.Session[:], b[29:45])
	r.SessionOffset = binary.BigEndian.Uint64(b[45:])
	r.State = ChunkState(b[53])
	r.Index = binary.BigEndian.Uint64(b[54:])
	copy(r.Digest[:], b[62:94])
	r.Stored = b[94] == 1
	r.StoredAt = fromUnixNano(binary.BigEndian.Uint64(b[95:]))
	r.ReleasedAt = fromUnixNano(binary.BigEndian.Uint64(b[103:]))
	switch {
	case r.Count == 0:
		return r, false, "a released chunk of no messages"
	case r.State != StateAccepted && r.State != StateDisputed && r.State != StateRejected:
		return r, false, fmt.Sprintf("a released chunk in state %d, which is not decided", b[53])
	case b[94] > 1:
		return r, false, "a stored flag other than 0 or 1"
	case r.Stored && r.State == StateRejected:
		return r, false, "a rejected chunk with a stored object"
	case !r.Stored && r.State != StateRejected:
		return r, false, "an accepted or disputed chunk released without its object"
	}
	return r, true, ""
}

// releasedLog is the opened released file.
type releasedLog struct {
	path   string
	f      *os.File
	noSync bool
}

// releasedRead is the released file as read, before anything is changed.
type releasedRead struct {
	chunks []relChunk
	good   int64  // length of the whole, valid records
	size   int64  // the file's length
	torn   string // why the bytes after good are a torn write ("" if none)
}

// end returns the seq and stream offset where the released prefix ends.
func (rr *releasedRead) end() (seq, offset uint64) {
	if len(rr.chunks) == 0 {
		return 0, 0
	}
	l := rr.chunks[len(rr.chunks)-1]
	return l.FirstSeq + uint64(l.Count), l.StreamOffset + l.Bytes
}

// readReleasedFile reads and checks every record without changing the
// file: the records must describe consecutive chunks from the start of
// the log.
func readReleasedFile(path string) (*releasedRead, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &releasedRead{}, nil
	}
	if err != nil {
		return nil, err
	}
	rr := &releasedRead{size: int64(len(b))}
	zeros := len(b)
	for zeros > 0 && b[zeros-1] == 0 {
		zeros--
	}
	var seq, off uint64
	for pos := 0; pos < len(b); pos += releasedRecordSize {
		rest := b[pos:]
		if len(rest) < releasedRecordSize {
			rr.torn = fmt.Sprintf("the file ends %d bytes into a release record: a write a crash cut off", len(rest))
			break
		}
		r, ok, why := decodeRelChunk(rest[:releasedRecordSize])
		if !ok && why != "" {
			return nil, fmt.Errorf("%s is corrupt at byte %d: %s", path, pos, why)
		}
		if !ok {
			if pos >= zeros || zeroSectorIn(pos, releasedRecordSize, zeros) {
				rr.torn = fmt.Sprintf("the release record at byte %d reads as zeros to the end of the file, as a write a crash cut off leaves it", pos)
				break
			}
			return nil, fmt.Errorf("%s is corrupt at byte %d: the release record there fails its checksum (it is whole, so no crash wrote it so)", path, pos)
		}
		if r.FirstSeq != seq || r.StreamOffset != off {
			return nil, fmt.Errorf("%s is corrupt at byte %d: the record releases a chunk at seq %d, stream offset %d, where the records before it end at seq %d, offset %d",
				path, pos, r.FirstSeq, r.StreamOffset, seq, off)
		}
		seq, off = r.FirstSeq+uint64(r.Count), r.StreamOffset+r.Bytes
		rr.chunks = append(rr.chunks, r)
		rr.good = int64(pos + releasedRecordSize)
	}
	return rr, nil
}

// openReleasedLog cuts a torn tail found by readReleasedFile (called only
// once the whole stream is known to open) and opens the file for
// appending.
func openReleasedLog(path string, rr *releasedRead, noSync bool) (*releasedLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if rr.size != rr.good {
		if err := f.Truncate(rr.good); err != nil {
			f.Close()
			return nil, fmt.Errorf("cutting the torn tail of %s: %w", path, err)
		}
		if !noSync {
			if err := f.Sync(); err != nil {
				f.Close()
				return nil, err
			}
		}
	}
	// The file's directory entry must be durable before the first release
	// deletes a segment: a file that vanished in a power cut would leave
	// the deleted messages unaccounted for.
	if !noSync {
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &releasedLog{path: path, f: f, noSync: noSync}, nil
}

// append writes the records of a release and makes them durable. Only
// after it returns may the log's segments holding these chunks be deleted.
func (rl *releasedLog) append(rs []relChunk) error {
	st, err := rl.f.Stat()
	if err != nil {
		return err
	}
	pos := st.Size()
	buf := make([]byte, 0, len(rs)*releasedRecordSize)
	for i := range rs {
		buf = rs[i].encode(buf)
	}
	if crashpoint.Armed() && len(buf) > 1 {
		// A crash test: write a little over half, which ends inside a
		// record, and maybe die there.
		half := len(buf)/2 + 1
		if _, err := rl.f.WriteAt(buf[:half], pos); err != nil {
			return err
		}
		crashpoint.Hit(crashpoint.ReleaseMidWrite)
		buf, pos = buf[half:], pos+int64(half)
	}
	if _, err := rl.f.WriteAt(buf, pos); err != nil {
		return err
	}
	if rl.noSync {
		return nil
	}
	return rl.f.Sync()
}

func (rl *releasedLog) close() error {
	if rl == nil || rl.f == nil {
		return nil
	}
	return rl.f.Close()
}
