package node

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	cmtcons "github.com/cometbft/cometbft/api/cometbft/consensus/v1"
)

// The consensus WAL (data/cs.wal/wal and its rotated files wal.000, wal.001,
// …) is CometBFT's record of the current height's messages: after a crash
// the consensus state replays what follows the marker "height h ended"
// of the last committed height h. Nothing before that marker is ever read
// again. CometBFT v1.0.1 rotates the file at 10 MiB but keeps 1 GiB of
// rotated files (an in-process node cannot set either limit), about 2 GB
// an hour at the demo load before the cap — all of it vote extensions of
// heights long decided. The node deletes the rotated files older than the
// newest one holding an end-of-height marker, keeping at least
// walKeepBytes of the newest files.
const (
	// walKeepBytes is what the node always keeps of the newest WAL files,
	// head included, beyond the file with the newest marker: the head and
	// at least one rotated file of 10 MiB, far more than a height writes
	// (its proposal's block parts and its votes; at the demo load about
	// 100 KB, so the kept files hold a thousand end-of-height markers).
	// It is a floor the directory never shrinks below, so it is kept small.
	walKeepBytes = 16 << 20
	// walPruneInterval is how often the node looks at the WAL directory: at
	// the demo load the WAL grows about 0.6 MB a second, so a pass every
	// 10 s keeps the directory within a few MB of walKeepBytes plus the head.
	walPruneInterval = 10 * time.Second
	// walMaxRecord is CometBFT's bound on one WAL record.
	walMaxRecord = 1 << 20
)

var walRotated = regexp.MustCompile(`^(.+)\.([0-9]{3,})$`)

// walFile is one file of the WAL group.
type walFile struct {
	path  string
	index int // rotated files: their number; the head: −1 (it sorts last as newest)
	size  int64
}

// walFiles lists the head and its rotated files, newest first.
func walFiles(head string) ([]walFile, error) {
	dir, base := filepath.Split(head)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []walFile
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		idx := -1
		if name != base {
			m := walRotated.FindStringSubmatch(name)
			if m == nil || m[1] != base {
				continue
			}
			if idx, err = strconv.Atoi(m[2]); err != nil {
				continue
			}
		}
		info, err := e.Info()
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // rotated or removed while listed
			}
			return nil, err
		}
		out = append(out, walFile{path: filepath.Join(dir, name), index: idx, size: info.Size()})
	}
	// The head is newest; rotated files are newer the higher their number.
	slices.SortFunc(out, func(a, b walFile) int {
		switch {
		case a.index == -1:
			return -1
		case b.index == -1:
			return 1
		}
		return b.index - a.index
	})
	return out, nil
}

var walCRC = crc32.MakeTable(crc32.Castagnoli)

// walHasEndHeight reports whether the file holds a valid end-of-height
// marker before its first record that does not check out.
func walHasEndHeight(path string) (bool, error) {
	found := false
	err := walRecords(path, func(_ int64, endHeight bool) bool {
		found = endHeight
		return !endHeight // the first marker is enough
	})
	return found, err
}

// walRecords calls fn with the end offset of each record of a WAL file and
// whether it is an end-of-height marker, until fn returns false or a record
// does not check out (a torn header or body, a bad checksum, a length over
// CometBFT's bound, bytes that are no WAL message: the head's tail may be
// half written). It never reads more than the file holds.
func walRecords(path string, fn func(end int64, endHeight bool) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [8]byte
	buf := make([]byte, 0, 64<<10)
	var off int64
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil
		}
		crc, n := binary.BigEndian.Uint32(hdr[:4]), binary.BigEndian.Uint32(hdr[4:])
		if n > walMaxRecord {
			return nil
		}
		buf = slices.Grow(buf[:0], int(n))[:n]
		if _, err := io.ReadFull(r, buf); err != nil || crc32.Checksum(buf, walCRC) != crc {
			return nil
		}
		var m cmtcons.TimedWALMessage
		if err := m.Unmarshal(buf); err != nil {
			return nil
		}
		off += int64(len(hdr)) + int64(n)
		if !fn(off, m.Msg != nil && m.Msg.GetEndHeight() != nil) {
			return nil
		}
	}
}

// pruneWAL deletes the rotated WAL files no restart can need: those older
// than the newest file holding an end-of-height marker, beyond the newest
// keep bytes. It returns the files it removed and their bytes.
func pruneWAL(head string, keep int64) (removed []string, freed int64, err error) {
	files, err := walFiles(head)
	if err != nil {
		return nil, 0, err
	}
	anchor := -1 // position in files of the newest file with a marker
	for i, f := range files {
		ok, err := walHasEndHeight(f.path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, 0, err
		}
		if ok {
			anchor = i
			break
		}
	}
	if anchor < 0 {
		return nil, 0, nil // no marker anywhere: keep everything
	}
	var kept int64
	for i, f := range files {
		if i <= anchor || kept < keep {
			kept += f.size
			continue
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, freed, err
		}
		removed = append(removed, filepath.Base(f.path))
		freed += f.size
	}
	return removed, freed, nil
}

// pruneWALLoop prunes the consensus WAL every walPruneInterval until ctx
// ends. A failure is logged once until it changes; the WAL then grows to
// CometBFT's own cap, which loses nothing.
func (n *Node) pruneWALLoop(ctx context.Context, head string) {
	t := time.NewTicker(walPruneInterval)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		removed, freed, err := pruneWAL(head, walKeepBytes)
		if err != nil {
			if msg := err.Error(); msg != lastErr {
				lastErr = msg
				n.log.Warn("pruning the consensus WAL failed; it grows to CometBFT's 1 GiB cap", "dir", filepath.Dir(head), "err", err)
			}
			continue
		}
		lastErr = ""
		if len(removed) > 0 {
			n.log.Debug("pruned the consensus WAL", "files", len(removed), "bytes", freed)
		}
	}
}
