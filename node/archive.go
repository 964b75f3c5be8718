package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	cmttypes "github.com/cometbft/cometbft/types"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

// ArchiveFile is the receipt archive, under the home's data directory.
const ArchiveFile = "receipts.db"

// The receipt archive keeps what receipts need of CometBFT's blocks, so
// that CometBFT may prune them: for every height, the vote extensions its
// injected commit carried (once per height and validator, whichever
// records they attest), and for every height that accepted records, the
// header of the next height and its canonical commit. It is the node's
// own file, not the app's state: what it holds is copied from blocks the
// chain already committed to, it differs between nodes only in how far
// each has got, and keeping it out of app.db keeps the app hash, the
// changeset hash and the app's scrub exactly what they were.
//
// Every value carries a CRC-32C of its bucket, key and value, checked on
// every read, as the app's state does: a damaged archive is an error
// naming the file, never a wrong receipt.
type archive struct {
	path string
	db   *bolt.DB
	sum  *summaryCheck // nil: decided summaries compact nothing (archive_summary.go)
}

var (
	bucketHeaders    = []byte("headers")    // u64 height → u32 len ‖ header proto ‖ commit proto
	bucketExtensions = []byte("extensions") // u64 height ‖ validator address → extension bytes
	bucketArchMeta   = []byte("meta")
	keyArchived      = []byte("archived")    // u64: every height up to it is archived
	keyExtCommits    = []byte("ext_commits") // u64: CometBFT's extended commits below it are deleted
)

// archiveAdvice ends the errors of a damaged archive.
const archiveAdvice = "stop the node and move the file aside (or put back a backup): the node starts a new one from its oldest stored block, and receipts of records decided before that are then served by other validators only"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func archiveSum(bucket, key, val []byte) uint32 {
	h := crc32.New(castagnoli)
	h.Write(bucket)
	h.Write([]byte{0})
	h.Write(key)
	h.Write([]byte{0})
	h.Write(val)
	return h.Sum32()
}

func openArchive(home string) (*archive, error) {
	path := filepath.Join(home, "data", ArchiveFile)
	ar := &archive{path: path}
	var db *bolt.DB
	err := ar.guard(func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
		return err
	})
	switch {
	case errors.Is(err, errArchivePages):
		return nil, err
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("node: the receipt archive %s is locked: %w (is another node running on this home?)", path, err)
	case err != nil:
		return nil, ar.damaged(err.Error())
	}
	ar.db = db
	err = ar.update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketHeaders, bucketExtensions, bucketArchMeta, bucketSummaries, bucketSummariesDue} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		if errors.Is(err, errArchivePages) {
			return nil, err
		}
		return nil, fmt.Errorf("node: the receipt archive %s: %w", path, err)
	}
	if _, err := ar.archived(); err != nil {
		db.Close()
		return nil, err
	}
	return ar, nil
}

func (ar *archive) Close() error { return ar.db.Close() }

// errArchivePages is wrapped by the error of an archive whose page
// structure bbolt could not read.
var errArchivePages = errors.New("damaged pages")

// guard runs fn, which calls into bbolt, turning a panic or a memory
// fault raised inside bbolt into the archive's damage: bbolt trusts its
// pages and panics on a damaged one (a page that names another page, an
// unknown page type, a bad count), or reads outside its mapping. A node
// must report a damaged file, not crash at every start. A panic raised
// in the node's own code is a bug, not damage, and goes on as it was, so
// that a good file is never called damaged.
func (ar *archive) guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if !panickedInBolt() {
			panic(v)
		}
		err = fmt.Errorf("%w: %w", errArchivePages, ar.damaged(fmt.Sprintf("bbolt failed reading its pages: %v", v)))
	}()
	return fn()
}

// panickedInBolt, called by a deferred function while a panic unwinds,
// reports whether the code that panicked (or faulted) is bbolt's: below
// the runtime's panic machinery, the innermost frame that is bbolt's or
// this project's decides (frames of the standard library bbolt calls,
// such as bytes.Compare, are passed over).
func panickedInBolt() bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(0, pcs)])
	inPanic := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic" || f.Function == "runtime.sigpanic":
			inPanic = true
		case inPanic && strings.HasPrefix(f.Function, "go.etcd.io/bbolt"):
			return true
		case inPanic && strings.HasPrefix(f.Function, "github.com/datadragon/"):
			return false
		}
		if !more {
			return false
		}
	}
}

// view and update are bbolt's View and Update under guard.
func (ar *archive) view(fn func(*bolt.Tx) error) error {
	return ar.guard(func() error { return ar.db.View(fn) })
}

func (ar *archive) update(fn func(*bolt.Tx) error) error {
	return ar.guard(func() error { return ar.db.Update(fn) })
}

func (ar *archive) damaged(what string) error {
	return fmt.Errorf("node: the receipt archive %s is damaged (%s); %s", ar.path, what, archiveAdvice)
}

// get reads and checks one value; nil if absent.
func (ar *archive) get(tx *bolt.Tx, bucket, key []byte) ([]byte, error) {
	v := tx.Bucket(bucket).Get(key)
	if v == nil {
		return nil, nil
	}
	if len(v) < 4 || binary.BigEndian.Uint32(v) != archiveSum(bucket, key, v[4:]) {
		return nil, ar.damaged(fmt.Sprintf("the checksum of %s/%x does not match", bucket, key))
	}
	return append([]byte(nil), v[4:]...), nil
}

func put(tx *bolt.Tx, bucket, key, val []byte) error {
	v := make([]byte, 4+len(val))
	binary.BigEndian.PutUint32(v, archiveSum(bucket, key, val))
	copy(v[4:], val)
	b := tx.Bucket(bucket)
	// Every key here grows with the height, and bbolt's default leaves a
	// split page half empty for good: fill pages nearly full instead.
	b.FillPercent = 0.95
	return b.Put(key, v)
}

func (ar *archive) meta(key []byte) (int64, error) {
	var h int64
	err := ar.view(func(tx *bolt.Tx) error {
		v, err := ar.get(tx, bucketArchMeta, key)
		if err != nil || v == nil {
			return err
		}
		if len(v) != 8 {
			return ar.damaged(fmt.Sprintf("meta/%s has %d bytes", key, len(v)))
		}
		h = int64(binary.BigEndian.Uint64(v))
		return nil
	})
	return h, err
}

// archived is the height up to which every height is archived (0: none).
func (ar *archive) archived() (int64, error) { return ar.meta(keyArchived) }

func u64key(h int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(h)) }

func extKey(height int64, validator []byte) []byte { return append(u64key(height), validator...) }

// Header returns the archived header of height and its commit; ok is
// false if the height is not archived.
func (ar *archive) Header(height int64) (*cmttypes.Header, *cmttypes.Commit, bool, error) {
	var raw []byte
	err := ar.view(func(tx *bolt.Tx) (err error) {
		raw, err = ar.get(tx, bucketHeaders, u64key(height))
		return err
	})
	if err != nil || raw == nil {
		return nil, nil, false, err
	}
	if len(raw) < 4 || int(binary.BigEndian.Uint32(raw)) > len(raw)-4 {
		return nil, nil, false, ar.damaged(fmt.Sprintf("the header of height %d is truncated", height))
	}
	n := binary.BigEndian.Uint32(raw)
	var ph cmtproto.Header
	var pc cmtproto.Commit
	if err := ph.Unmarshal(raw[4 : 4+n]); err != nil {
		return nil, nil, false, ar.damaged(fmt.Sprintf("the header of height %d: %v", height, err))
	}
	if err := pc.Unmarshal(raw[4+n:]); err != nil {
		return nil, nil, false, ar.damaged(fmt.Sprintf("the commit of height %d: %v", height, err))
	}
	h, err := cmttypes.HeaderFromProto(&ph)
	if err != nil {
		return nil, nil, false, ar.damaged(fmt.Sprintf("the header of height %d: %v", height, err))
	}
	c, err := cmttypes.CommitFromProto(&pc)
	if err != nil {
		return nil, nil, false, ar.damaged(fmt.Sprintf("the commit of height %d: %v", height, err))
	}
	return &h, c, true, nil
}

// Extension returns the vote extension validator's vote carried in the
// injected commit of block height; ok is false if it is not archived.
func (ar *archive) Extension(height int64, validator []byte) ([]byte, bool, error) {
	var raw []byte
	err := ar.view(func(tx *bolt.Tx) (err error) {
		raw, err = ar.get(tx, bucketExtensions, extKey(height, validator))
		return err
	})
	return raw, raw != nil, err
}

// blockReader is what the archive reads of CometBFT's block store.
type blockReader interface {
	LoadBlock(height int64) (*cmttypes.Block, *cmttypes.BlockMeta)
	LoadBlockMeta(height int64) *cmttypes.BlockMeta
	LoadBlockCommit(height int64) *cmttypes.Commit
}

// blockInfos is what the archive reads of the app.
type blockInfos interface {
	Block(height int64) (*app.BlockInfo, error)
}

// errArchiveLost says the block store no longer holds a height the
// archive still needs; it cannot happen while the node only prunes below
// the archived height, so it means the block store was pruned by other
// means.
var errArchiveLost = errors.New("block not stored")

// step archives the heights after the archived one, in order, up to the
// last whose next block's canonical commit exists — tip−2, since the
// commit for tip−1 is the last commit of block tip — and at most max of
// them. All of it is one bbolt transaction, written and synced before step
// returns: the archived height it returns is durable, so pruning below it
// never loses what a receipt needs, whenever the node stops.
func (ar *archive) step(bs blockReader, infos blockInfos, tip int64, max int) (int64, error) {
	from, err := ar.archived()
	if err != nil {
		return 0, err
	}
	last := min(tip-2, from+int64(max))
	if last <= from {
		return from, nil
	}
	done := from
	err = ar.update(func(tx *bolt.Tx) error {
		for h := from + 1; h <= last; h++ {
			blk, _ := bs.LoadBlock(h)
			if blk == nil {
				return fmt.Errorf("node: archiving height %d for receipts: %w (the block store was pruned below the archive; %s)", h, errArchiveLost, archiveAdvice)
			}
			for _, raw := range blk.Txs {
				if !wire.IsCommitTx(raw) {
					continue
				}
				ct, err := wire.UnmarshalCommitTx(raw)
				if err != nil {
					return fmt.Errorf("node: block %d's injected commit: %w", h, err)
				}
				for _, v := range ct.Votes {
					if len(v.Extension) == 0 {
						continue
					}
					if err := put(tx, bucketExtensions, extKey(h, v.Address), v.Extension); err != nil {
						return err
					}
				}
				break // one injected commit per block, the first transaction
			}
			if err := ar.applySummaries(tx, h, blk.Txs); err != nil {
				return err
			}
			bi, err := infos.Block(h)
			if err != nil {
				return fmt.Errorf("node: archiving height %d for receipts: %w", h, err)
			}
			if len(bi.Accepted) > 0 || setChangedAt(infos, h) {
				meta := bs.LoadBlockMeta(h + 1)
				c := bs.LoadBlockCommit(h + 1)
				if meta == nil || c == nil {
					return fmt.Errorf("node: archiving height %d for receipts: the header or commit of %d: %w", h, h+1, errArchiveLost)
				}
				ph := meta.Header.ToProto()
				hb, err := ph.Marshal()
				if err != nil {
					return err
				}
				cb, err := c.ToProto().Marshal()
				if err != nil {
					return err
				}
				v := binary.BigEndian.AppendUint32(nil, uint32(len(hb)))
				v = append(append(v, hb...), cb...)
				if err := put(tx, bucketHeaders, u64key(h+1), v); err != nil {
					return err
				}
			}
			done = h
		}
		return put(tx, bucketArchMeta, keyArchived, u64key(done))
	})
	if err != nil {
		return from, err
	}
	return done, nil
}

func (ar *archive) setMeta(key []byte, h int64) error {
	return ar.update(func(tx *bolt.Tx) error { return put(tx, bucketArchMeta, key, u64key(h)) })
}

type boltTx = bolt.Tx
