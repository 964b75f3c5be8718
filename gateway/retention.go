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

// Retention is a stream's object retention policy: which stored chunk
// bytes the gateway may delete. The zero value keeps everything.
//
// Keeping everything is the default because the gateway cannot know
// whether anyone else holds the bytes: a receipt proves a chunk without
// them, but whoever wants to check the data against it needs a copy, and
// the gateway's may be the only one. Deleting it is the operator's
// decision, made per stream.
type Retention struct {
	// MaxAge releases an object this long after it was stored; 0: no
	// limit by age.
	MaxAge time.Duration
	// MaxBytes releases the oldest objects while the stream's stored
	// objects hold more than this many bytes; 0: no limit by size.
	MaxBytes int64
}

// Limits of a Retention as the gateway takes them (node.json's are
// stricter, for people; tests use small values).
const (
	maxRetentionAge = 100 * 365 * 24 * time.Hour
)

// Validate says what is wrong with a policy, if anything.
func (r Retention) Validate() error {
	switch {
	case r.MaxAge < 0:
		return fmt.Errorf("max_age %v is negative: give a positive duration such as \"720h\", or leave it out to keep objects whatever their age", r.MaxAge)
	case r.MaxAge > maxRetentionAge:
		return fmt.Errorf("max_age %v is more than 100 years: leave it out to keep objects whatever their age", r.MaxAge)
	case r.MaxBytes < 0:
		return fmt.Errorf("max_bytes %d is negative: give a size in bytes, or leave it out to keep objects whatever their total size", r.MaxBytes)
	}
	return nil
}

// The retention pass's defaults.
const (
	DefaultRetentionEvery = time.Minute
	DefaultRetentionBatch = 256
	// maxReleaseChunks bounds one log release (its records are written
	// in one write and fsync).
	maxReleaseChunks = 1024
	releaseEvery     = 100 * time.Millisecond
)

// retention returns the policy for a stream: its own entry, else "*".
func (g *Gateway) retention(stream string) Retention {
	if r, ok := g.cfg.Retention[stream]; ok {
		return r
	}
	return g.cfg.Retention["*"]
}

// releaseDue releases the log's decided prefix: the chunks at the head of
// the log that the chain decided and whose bytes, unless refused, are
// durable objects. Their records are made durable in the released file
// first; only then are the segment files wholly below the prefix's end
// deleted. A crash before the records are durable leaves the log as it
// was (recovery cuts the torn records); a crash after leaves segments the
// file already released, which recovery deletes; either way no chunk is
// lost, and none is submitted or stored twice.
func (ps *pushStream) releaseDue() {
	// At most ten releases a second: each costs an fsync, and the loop
	// wakes at every append.
	if time.Since(ps.lastRelease) < releaseEvery {
		return
	}
	ps.mu.Lock()
	if ps.broken != nil {
		ps.mu.Unlock()
		return
	}
	n := 0
	for n < len(ps.chunks) && n < maxReleaseChunks && ps.chunks[n].releasable() {
		n++
	}
	if n == 0 {
		ps.mu.Unlock()
		return
	}
	now := ps.g.cfg.clock()
	rs := make([]relChunk, n)
	for i, c := range ps.chunks[:n] {
		rs[i] = relChunk{FirstSeq: c.FirstSeq, Count: uint32(c.Count), StreamOffset: c.StreamOffset, Bytes: c.Bytes, Session: c.Session,
			SessionOffset: c.SessionOffset, State: c.State, Index: c.Index, Digest: c.Digest, Stored: c.Stored, StoredAt: c.StoredAt, ReleasedAt: now}
		if c.State == StateRejected {
			rs[i].Index, rs[i].Digest, rs[i].Stored, rs[i].StoredAt = 0, digest.Digest{}, false, time.Time{}
		}
	}
	ps.mu.Unlock()
	ps.lastRelease = time.Now()
	// Written without the stream's lock, so pushes do not wait for this
	// fsync: only this goroutine (the stream's loop) removes chunks from
	// the head of ps.chunks, and decided chunks do not change.
	if err := ps.rel.append(rs); err != nil {
		// The file may end in part of a record now: take nothing more
		// until a restart has recovered it.
		ps.mu.Lock()
		ps.broken = fmt.Errorf("gateway log of %s: recording a release in %s: %w; restart the node", ps.id, ps.rel.path, err)
		ps.mu.Unlock()
		return
	}
	crashpoint.Hit(crashpoint.ReleaseSynced)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for i, c := range ps.chunks[:n] {
		ps.relBySession[c.Session] = append(ps.relBySession[c.Session], len(ps.released))
		ps.released = append(ps.released, rs[i])
		if c.State != StateRejected {
			delete(ps.byIndex, c.Index)
		}
		if c.ObjectGone {
			// Stored by an earlier run and released by the policy
			// since: its record is counted like any other until the
			// policy's pass, which finds it done, moves past it.
			ps.keptBytes += c.Bytes
		}
	}
	last := rs[n-1]
	ps.relSeq, ps.relOff = last.FirstSeq+uint64(last.Count), last.StreamOffset+last.Bytes
	ps.chunks = append([]*gwChunk(nil), ps.chunks[n:]...)
	if err := ps.log.Release(ps.relSeq); err != nil {
		// The release is recorded: the next start deletes what is left.
		ps.g.log.Error("gateway: deleting released log segments", "stream", ps.id, "err", err)
		return
	}
	crashpoint.Hit(crashpoint.Released)
}

// setRetained adopts the retention cursor read at start (pos records of
// the released file dealt with) and counts the bytes still stored.
func (ps *pushStream) setRetained(pos int) {
	ps.retainPos = pos
	for i, r := range ps.released {
		switch {
		case !r.Stored:
		case i < pos:
			ps.objReleased++
		default:
			ps.keptBytes += r.Bytes
		}
	}
}

// retainDue runs one bounded pass of the stream's retention policy, at
// most every RetentionEvery: it releases the oldest objects of released
// chunks, at most RetentionBatch of them, while they are older than
// MaxAge or the stream's objects hold more than MaxBytes. Only objects of
// chunks the log has released are candidates (so the log never needs an
// object back); they are in the order they were decided, oldest first.
//
// Each pass writes the objects' tombstones durably first (so a digest
// never turns from 200 into 404), then deletes the objects, then moves
// the durable cursor past them; a crash anywhere in between makes the
// next pass do the same again, which finds the work done.
func (ps *pushStream) retainDue(now time.Time) {
	pol := ps.g.retention(ps.id)
	if pol.MaxAge == 0 && pol.MaxBytes == 0 {
		return
	}
	if now.Before(ps.nextRetain) {
		return
	}
	ps.nextRetain = now.Add(ps.g.cfg.RetentionEvery)
	ps.mu.Lock()
	if ps.broken != nil {
		ps.mu.Unlock()
		return
	}
	kept := ps.keptBytes
	pos := ps.retainPos
	var ds []digest.Digest
	var freed uint64
	// Bounded work: at most RetentionBatch objects, and at most four
	// times as many records looked at (refused chunks have no object).
	for scanned := 0; pos < len(ps.released) && len(ds) < ps.g.cfg.RetentionBatch && scanned < 4*ps.g.cfg.RetentionBatch; scanned++ {
		r := ps.released[pos]
		if !r.Stored {
			pos++
			continue
		}
		old := pol.MaxAge > 0 && now.Sub(r.StoredAt) >= pol.MaxAge
		big := pol.MaxBytes > 0 && kept-freed > uint64(pol.MaxBytes)
		if !old && !big {
			break
		}
		ds = append(ds, r.Digest)
		freed += r.Bytes
		pos++
	}
	ps.mu.Unlock()
	if pos == ps.retainPos {
		return
	}
	fail := func(err error) {
		ps.g.log.Error("gateway: applying the retention policy; objects are kept until it succeeds", "stream", ps.id, "err", err)
	}
	if err := ps.g.objects.markReleased(ds, now); err != nil {
		fail(err)
		return
	}
	crashpoint.Hit(crashpoint.RetainTombstoned)
	if err := ps.g.objects.remove(ds); err != nil {
		fail(err)
		return
	}
	crashpoint.Hit(crashpoint.RetainDeleted)
	if err := writeRetained(filepath.Join(ps.g.cfg.Dir, ps.id, retainedFile), pos, ps.g.cfg.NoSync); err != nil {
		fail(err)
		return
	}
	ps.mu.Lock()
	ps.retainPos = pos
	ps.keptBytes -= freed
	ps.objReleased += len(ds)
	ps.mu.Unlock()
	if len(ds) > 0 {
		ps.g.log.Info("gateway: released objects by the stream's retention policy", "stream", ps.id, "objects", len(ds), "bytes", freed)
	}
}

// The retained file: the number of records of the released file whose
// objects the retention policy has dealt with, u64 big-endian, and its
// CRC-32C. It is replaced whole (a copy synced, then renamed), so a crash
// leaves the old value or the new one.
const retainedSize = 12

func writeRetained(path string, pos int, noSync bool) error {
	b := binary.BigEndian.AppendUint64(nil, uint64(pos))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if err := writeSynced(path, b); err != nil {
		return err
	}
	if noSync {
		return nil
	}
	return syncDir(filepath.Dir(path))
}

// readRetained reads the retention cursor. The cursor only saves work:
// a pass run again from an earlier position finds its tombstones and
// deletions done. So a damaged cursor is not a reason to refuse the
// stream: retention starts again from the first record, and note says so.
func readRetained(path string, records int) (pos int, note string, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	if len(b) != retainedSize || crc32.Checksum(b[:8], castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return 0, fmt.Sprintf("%s is damaged (%d bytes, checksum wrong): the retention policy starts again from the first released chunk, redoing nothing but checks", path, len(b)), nil
	}
	v := binary.BigEndian.Uint64(b)
	if v > uint64(records) {
		return 0, fmt.Sprintf("%s says %d released chunks were dealt with, but only %d are released: the retention policy starts again from the first", path, v, records), nil
	}
	return int(v), "", nil
}
