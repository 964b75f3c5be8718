package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
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
			if err := f.Truncate(start); err != nil {
				return fmt.Errorf("wal: truncating the torn tail of %s: %w", seg.path, err)
			}
			if !l.opt.NoSync {
				if err := f.Sync(); err != nil {
					return fmt.Errorf("wal: fsync of %s: %w", seg.path, err)
				}
			}
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
