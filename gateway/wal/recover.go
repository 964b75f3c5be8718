package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// lockName is the lock file in a log's directory.
const lockName = "LOCK"

// Open opens the log in dir, creating the directory (mode 0700) and an empty
// log if needed, and recovers it: every segment is read and checked, and the
// in-memory index rebuilt. A torn or corrupt tail of the last segment, left
// by a crash during a write that was never acknowledged, is cut off. Damage
// anywhere else is an error naming the file and byte, since acknowledged
// messages would be lost. Only one Log may have a directory open at a time.
func Open(dir string, opt Options) (*Log, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("wal: %w", err)
		}
		if !opt.NoSync {
			if err := syncDir(filepath.Dir(dir)); err != nil {
				return nil, fmt.Errorf("wal: %w", err)
			}
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, opt: opt, lock: lock}
	l.cond = sync.NewCond(&l.mu)
	if err := l.recover(); err != nil {
		if l.active != nil {
			l.active.Close()
		}
		lock.Close()
		return nil, err
	}
	return l, nil
}

// listSegments returns the segment files in dir, by first seq. Other files
// are ignored.
func listSegments(dir string) ([]segment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	var segs []segment
	for _, de := range des {
		name := de.Name()
		digits, ok := strings.CutSuffix(name, ".wal")
		if !ok || len(digits) != 20 || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		first, err := strconv.ParseUint(digits, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("wal: segment file name %s: %w", filepath.Join(dir, name), err)
		}
		segs = append(segs, segment{first: first, path: filepath.Join(dir, name)})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	return segs, nil
}

// corrupt is the error for damage recovery must not repair on its own.
func corrupt(path string, pos int64, reason string) error {
	return fmt.Errorf("wal: %s is corrupt at byte %d: %s. Messages after that point may have been acknowledged, so the log will not drop them by itself: "+
		"restore the directory from a copy, or, accepting the loss of every message from there on, truncate the file to %d bytes and delete the segment files after it",
		path, pos, reason, pos)
}

// recover rebuilds the log's state from its segment files, leaving the last
// one open as the active segment.
func (l *Log) recover() error {
	segs, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	if len(segs) > 0 {
		if segs, err = l.dropTornSegment(segs); err != nil {
			return err
		}
	}
	if len(segs) == 0 {
		seg, f, err := createSegment(l.dir, segHeader{}, !l.opt.NoSync)
		if err != nil {
			return err
		}
		l.segs, l.active, l.size, l.written = []segment{seg}, f, segHeaderSize, segHeaderSize
		return nil
	}
	for i, seg := range segs {
		if err := l.recoverSegment(seg, i == 0, i == len(segs)-1); err != nil {
			return err
		}
	}
	l.segs = segs
	l.dnext, l.doff = l.next, l.off
	l.released = l.base
	return nil
}

// dropTornSegment deletes the last segment if a crash interrupted its
// creation: its header is incomplete or, at exactly header size, fails its
// checksum. A rotation writes no record to a segment before its header is
// durable, so such a file holds nothing acknowledged. It returns the
// segments left.
func (l *Log) dropTornSegment(segs []segment) ([]segment, error) {
	last := segs[len(segs)-1]
	st, err := os.Stat(last.path)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	if st.Size() > segHeaderSize {
		return segs, nil
	}
	b, err := os.ReadFile(last.path)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	if len(b) == segHeaderSize && crc32.Checksum(b[:segHeaderSize-4], castagnoli) == binary.LittleEndian.Uint32(b[segHeaderSize-4:]) {
		return segs, nil // whole: parseSegHeader judges it
	}
	if len(segs) == 1 && last.first != 0 {
		return nil, fmt.Errorf("wal: %s, the only segment, has a torn header (%d bytes): its first message's stream offset is lost. Restore the directory from a copy", last.path, len(b))
	}
	if err := os.Remove(last.path); err != nil {
		return nil, fmt.Errorf("wal: removing torn segment: %w", err)
	}
	l.repairs = append(l.repairs, Repair{File: last.path, Offset: 0, Bytes: int64(len(b)), Removed: true,
		Reason: fmt.Sprintf("the segment's %d-byte header is incomplete: its creation never finished, so it held nothing", len(b))})
	if !l.opt.NoSync {
		if err := syncDir(l.dir); err != nil {
			return nil, fmt.Errorf("wal: %w", err)
		}
	}
	return segs[:len(segs)-1], nil
}

// recoverSegment checks one segment file and indexes its messages. The last
// segment's torn tail is truncated away, and the file stays open as the
// active segment.
func (l *Log) recoverSegment(seg segment, first, last bool) error {
	flag := os.O_RDONLY
	if last {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(seg.path, flag, 0)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	var hb [segHeaderSize]byte
	if _, err := f.ReadAt(hb[:], 0); err != nil && err != io.EOF {
		return fmt.Errorf("wal: reading %s: %w", seg.path, err)
	}
	h, err := parseSegHeader(hb[:])
	if err != nil {
		return corrupt(seg.path, 0, err.Error())
	}
	if h.first != seg.first {
		return corrupt(seg.path, 0, fmt.Sprintf("the header says the first seq is %d but the file name says %d", h.first, seg.first))
	}
	if first {
		l.base, l.next, l.off = h.first, h.first, h.offset
	} else if h.first != l.next || h.offset != l.off {
		return corrupt(seg.path, 0, fmt.Sprintf("segments are not contiguous: it starts at seq %d, stream offset %d, but the previous segment ends at seq %d, offset %d",
			h.first, h.offset, l.next, l.off))
	}

	sc := newScanner(io.NewSectionReader(f, segHeaderSize, 1<<62), segHeaderSize, l.opt.MaxMessageBytes, 64<<10)
	for {
		start := sc.pos
		rh, err := sc.next()
		if err == io.EOF {
			break
		}
		var bad *badRecord
		if errors.As(err, &bad) {
			if bad.intact {
				return fmt.Errorf("wal: %s holds at byte %d a message of %d bytes, more than MaxMessageBytes = %d: open the log with a limit of at least %d",
					seg.path, start, rh.n, l.opt.MaxMessageBytes, rh.n)
			}
			if !last {
				return corrupt(seg.path, start, bad.reason)
			}
			size, why, err := l.tornTail(f, start, bad)
			if err != nil {
				return fmt.Errorf("wal: reading %s: %w", seg.path, err)
			}
			if why == "" {
				return corrupt(seg.path, start, bad.reason)
			}
			if err := f.Truncate(start); err != nil {
				return fmt.Errorf("wal: truncating the torn tail of %s: %w", seg.path, err)
			}
			if !l.opt.NoSync {
				if err := f.Sync(); err != nil {
					return fmt.Errorf("wal: fsync of %s: %w", seg.path, err)
				}
			}
			l.repairs = append(l.repairs, Repair{File: seg.path, Offset: start, Bytes: size - start, Reason: why})
			break
		}
		if err != nil {
			return fmt.Errorf("wal: reading %s: %w", seg.path, err)
		}
		switch rh.kind {
		case kindData:
			if rh.seq != l.next || rh.off != l.off {
				return corrupt(seg.path, start, fmt.Sprintf("the record holds seq %d at stream offset %d where seq %d at offset %d belongs", rh.seq, rh.off, l.next, l.off))
			}
			if start > positionLimit {
				return corrupt(seg.path, start, "the segment is too large to index")
			}
			n := rh.n
			l.lastEnd = rh.flags&flagEnd != 0
			if l.lastEnd {
				n |= endBit
			}
			l.slots = append(l.slots, slot{off: rh.off, pos: uint32(start), n: n})
			l.next++
			l.off += uint64(rh.n)
		case kindEnd:
			if l.next == 0 {
				return corrupt(seg.path, start, "an end marker before any message")
			}
			if rh.seq != l.next-1 || rh.off != l.off {
				return corrupt(seg.path, start, fmt.Sprintf("an end marker for seq %d at stream offset %d where only seq %d at offset %d may be marked", rh.seq, rh.off, l.next-1, l.off))
			}
			if rh.seq >= l.base {
				l.slots[rh.seq-l.base].markEnd()
			}
			l.lastEnd = true
		}
	}
	if last {
		keep = true
		l.active, l.size, l.written = f, sc.pos, sc.pos
	}
	return nil
}

// Repair is a torn tail that Open cut off: bytes of a write that never
// completed, so nothing Append had acknowledged.
type Repair struct {
	File    string // the segment file
	Offset  int64  // where the cut starts: the file now ends here
	Bytes   int64  // how many bytes were cut
	Removed bool   // the whole file was removed (a segment whose creation was interrupted)
	Reason  string // why these bytes are a torn write and not damage
}

func (r Repair) String() string {
	if r.Removed {
		return fmt.Sprintf("removed %s: %s", r.File, r.Reason)
	}
	return fmt.Sprintf("cut %s at byte %d (%d bytes): %s", r.File, r.Offset, r.Bytes, r.Reason)
}

// Repairs lists what Open cut off the log's tail, for the caller to
// report; empty when the log was closed cleanly or crashed between writes.
func (l *Log) Repairs() []Repair { return slices.Clone(l.repairs) }

// tornSector is the unit a disk writes atomically. A power cut during a
// write can leave the sectors it had not reached yet reading as zeros.
const tornSector = 512

// tornTail decides whether the bad record at start, the first the scanner
// refused in the last segment, begins a torn tail: the prefix of a write
// cut short by a crash. It returns the file's size and, if so, why; an
// empty reason means the bytes are damaged, not torn.
//
// A crash (even SIGKILL mid-write) leaves a prefix of what was written; a
// power cut may also leave the unwritten sectors of the last write as
// zeros. So the tail is torn when it ends inside a record whose header is
// a valid one or a prefix of one, or when from start, or from a sector
// boundary inside the record, every byte to the end of the file is zero.
// Anything else — a complete record failing its checksum, a header no
// write produces, a record whose length field lost one bit — cannot come
// from an interrupted write and may be an acknowledged message: it is
// reported, never cut.
func (l *Log) tornTail(f *os.File, start int64, bad *badRecord) (int64, string, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, "", err
	}
	size := st.Size()
	// The tail's length comes from the file system, not from a field the
	// damage could have changed, and is at most one segment.
	tail := make([]byte, size-start)
	if _, err := f.ReadAt(tail, start); err != nil && err != io.EOF {
		return 0, "", err
	}
	zeros := len(tail) // the trailing run of zero bytes starts here
	for zeros > 0 && tail[zeros-1] == 0 {
		zeros--
	}
	if zeros == 0 {
		return size, fmt.Sprintf("the last %d bytes are zeros, as a write a crash cut off leaves them", len(tail)), nil
	}
	if len(tail) < recHeaderSize {
		var hb [recHeaderSize]byte
		copy(hb[:], tail)
		if _, err := parseRecHeader(hb[:], l.opt.MaxMessageBytes); err != nil {
			return size, "", nil
		}
		return size, fmt.Sprintf("the file ends %d bytes into a record header: a write a crash cut off", len(tail)), nil
	}
	h, err := parseRecHeader(tail, l.opt.MaxMessageBytes)
	if err != nil {
		return size, "", nil // no write produces this header
	}
	if recEnd := h.size(); recEnd <= int64(len(tail)) {
		// A whole record failing its checksum: damage, unless a power
		// cut zeroed its end.
		for s := (start/tornSector + 1) * tornSector; s-start < recEnd; s += tornSector {
			if s-start >= int64(zeros) {
				return size, fmt.Sprintf("the %d-byte record there fails its checksum and reads as zeros from byte %d to the end of the file, as the sectors of a write a power cut interrupted do", recEnd, s), nil
			}
		}
		return size, "", nil
	}
	// The record runs past the end of the file. A torn write looks like
	// that, and so does a whole record whose length field lost a bit:
	// try each single-bit change of the length.
	for b := range 32 {
		n := h.n ^ 1<<b
		end := int64(recHeaderSize) + int64(n)
		if int64(n) > int64(l.opt.MaxMessageBytes) || end+4 > int64(len(tail)) {
			continue
		}
		var hb [recHeaderSize]byte
		copy(hb[:], tail)
		binary.LittleEndian.PutUint32(hb[4:], n)
		crc := crc32.Update(crc32.Checksum(hb[:], castagnoli), castagnoli, tail[recHeaderSize:end])
		if crc == binary.LittleEndian.Uint32(tail[end:]) {
			bad.reason = fmt.Sprintf("a whole record of %d bytes whose length field says %d (bit %d flipped)", n, h.n, b)
			return size, "", nil
		}
	}
	return size, fmt.Sprintf("the file ends %d bytes into a record of %d bytes: a write a crash cut off", len(tail), h.size()), nil
}
