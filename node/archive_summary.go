package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	bolt "go.etcd.io/bbolt"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/merkle"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/app/ziggysig"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// Epoch summaries in the receipt archive.
//
// Without them the archive keeps, for every height, each validator's vote
// extension with its ~20 KB Ziggy signature: a receipt needs the
// majority's signed attestations, and the signature was the only thing
// that signed them. Every summary_interval heights each validator signs
// once, over the Merkle root of its own extension roots of the epoch
// (wire.SummaryTx), and puts that on chain. An archive that sees a
// decided summary recomputes its root from the extensions it archived for
// that validator and epoch; only if it matches does it keep the summary
// once and replace each of those extensions by its signed payload without
// the signature (the attestations, from which a receipt rebuilds the
// attestation's path). A summary that does not match — a lying or buggy
// validator, or an archive that started within the epoch — drops nothing.
// Each is one bbolt transaction with the archiving of its block, so a
// node stopped at any moment has either everything of an epoch's
// extensions or the summary and every stripped payload.

// DefaultSummaryInterval is how many heights one summary covers unless
// node.json says otherwise. At ~6 heights/s an epoch is ~45 s: the
// archive keeps full signatures that long, then one signature per
// validator and epoch — about 80 bytes a height per validator, below the
// unsigned payloads themselves, so longer epochs would save little more
// while making every receipt's path longer and the window in which a node
// stopped loses compaction wider. 256 leaves give 8-hash paths.
const DefaultSummaryInterval = 256

var (
	// addr ‖ u64 first → u32 n ‖ n × leaf hash ‖ summary transaction
	bucketSummaries = []byte("summaries")
	// keySummaryNext: u64, the first extension height of the next epoch
	// this validator has to summarize.
	keySummaryNext = []byte("summary_next")
	// u64 deciding block ‖ u32 transaction index → summary transaction:
	// decided summaries not applied yet (applySummaries).
	bucketSummariesDue = []byte("summaries_due")
)

// strippedMark starts an extension value whose signature a summary
// stands for: mark ‖ u64 summary first height ‖ u32 leaf ‖ unsigned
// extension. A signed extension starts with wire.ExtensionVersion.
const strippedMark = 0xff

func summaryKey(validator []byte, first int64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), validator...), uint64(first))
}

// summaryCheck is what the archive needs to check decided summaries.
type summaryCheck struct {
	chainID string
	self    []byte // this validator's address, or nil
	// key returns the Ziggy public key registered for a validator
	// address: the genesis validators' and those governance added since.
	key    func(addr []byte) ([]byte, bool)
	verify func(pub, msg, sig []byte) error
	log    *slog.Logger
	// compact is false on a node with summary_interval 0: it neither
	// signs summaries nor drops signatures for them (it still checks
	// summaries a snapshot brings).
	compact bool
	// snapshots, if set, is the app's SnapshotHeights: summaries that
	// would change a kept snapshot wait (applySummaries).
	snapshots func() []int64
}

// epochLeaves reads the archived extensions of validator filed in blocks
// first+1 … last+1 (extension heights first … last): their summary
// leaves and their stored values. stripped reports whether any of them is
// already summarized.
func (ar *archive) epochLeaves(tx *bolt.Tx, validator []byte, first, last int64) (leaves []merkle.Hash, heights []int64, raws [][]byte, stripped bool, err error) {
	return ar.epochLeavesOf(tx, validator, first, last, archiveOverlay{})
}

func (ar *archive) epochLeavesOf(tx *bolt.Tx, validator []byte, first, last int64, view archiveOverlay) (leaves []merkle.Hash, heights []int64, raws [][]byte, stripped bool, err error) {
	for b := first + 1; b <= last+1; b++ {
		v, err := view.extension(ar, tx, extKey(b, validator))
		if err != nil {
			return nil, nil, nil, false, err
		}
		if v == nil {
			continue
		}
		if v[0] == strippedMark {
			return nil, nil, nil, true, nil
		}
		ext, err := wire.UnmarshalExtension(v)
		if err != nil || ext == nil {
			return nil, nil, nil, false, ar.damaged(fmt.Sprintf("the extension of %X in block %d does not decode: %v", validator, b, err))
		}
		leaves = append(leaves, wire.SummaryLeaf(ext.Height, ext.Root()))
		heights = append(heights, b)
		raws = append(raws, v)
	}
	return leaves, heights, raws, false, nil
}

// applySummaries compacts what the summaries among a decided block's
// transactions cover (inside archive.step's transaction for block h), or
// files them as due while a state sync snapshot the app keeps or writes
// must still give some of the extensions they strip signed (mustWait).
func (ar *archive) applySummaries(tx *bolt.Tx, h int64, txs cmttypes.Txs) error {
	if ar.sum == nil || !ar.sum.compact {
		return nil
	}
	var snaps []int64
	var waiting []*wire.SummaryTx
	loaded := false
	for i, raw := range txs {
		if !wire.IsSummaryTx(raw) {
			continue
		}
		s, err := wire.UnmarshalSummaryTx(raw)
		if err != nil {
			// Applying it logs and ignores it.
			if err := ar.applySummary(tx, h, raw); err != nil {
				return err
			}
			continue
		}
		if !loaded {
			snaps = ar.sum.snapshotHeights()
			if waiting, err = ar.dueSummaries(tx); err != nil {
				return err
			}
			loaded = true
		}
		if mustWait(s, h, snaps, waiting) {
			if err := ar.deferSummary(tx, h, i, s, raw); err != nil {
				return err
			}
			waiting = append(waiting, s)
			continue
		}
		if err := ar.applySummary(tx, h, raw); err != nil {
			return err
		}
	}
	return nil
}

// mustWait says whether summary s, decided in block h, must wait. It
// changes what a snapshot of a height x below h holds only if it strips
// an extension filed at or below x, so it waits while a snapshot of a
// height from its first block to h − 1 is kept (an epoch decided after a
// snapshot that holds some of it), or while a summary still waiting, of
// the same validator, overlaps its heights: summaries of one validator
// over overlapping heights take effect in the order they were decided,
// and those over disjoint heights touch disjoint entries, so every node's
// archive ends the same whatever its snapshots.
func mustWait(s *wire.SummaryTx, h int64, snaps []int64, waiting []*wire.SummaryTx) bool {
	for _, x := range snaps {
		if s.First+1 <= x && x < h {
			return true
		}
	}
	for _, w := range waiting {
		if bytes.Equal(w.Validator, s.Validator) && w.First <= s.Last && s.First <= w.Last {
			return true
		}
	}
	return false
}

// dueSummaries decodes the summaries waiting in the archive, in the order
// they were decided; one that does not decode (applying it ignores it)
// is left out.
func (ar *archive) dueSummaries(tx *bolt.Tx) ([]*wire.SummaryTx, error) {
	var out []*wire.SummaryTx
	c := tx.Bucket(bucketSummariesDue).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		raw, err := ar.get(tx, bucketSummariesDue, k)
		if err != nil {
			return nil, err
		}
		if s, err := wire.UnmarshalSummaryTx(raw); err == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// snapshotHeights are the heights of the snapshots the app keeps or
// writes (none on a node that takes none).
func (sc *summaryCheck) snapshotHeights() []int64 {
	if sc.snapshots == nil {
		return nil
	}
	return sc.snapshots()
}

func dueKey(h int64, i int) []byte { return binary.BigEndian.AppendUint32(u64key(h), uint32(i)) }

// deferSummary files a decided summary to be applied once no snapshot
// needs what it strips. This validator's own summary moves its
// summarizer on at once, so it is not submitted again meanwhile.
func (ar *archive) deferSummary(tx *bolt.Tx, h int64, i int, s *wire.SummaryTx, raw []byte) error {
	if err := put(tx, bucketSummariesDue, dueKey(h, i), raw); err != nil {
		return err
	}
	if ar.sum.self == nil || !bytes.Equal(s.Validator, ar.sum.self) {
		return nil
	}
	next, err := ar.get(tx, bucketArchMeta, keySummaryNext)
	if err != nil {
		return err
	}
	if len(next) != 8 || int64(binary.BigEndian.Uint64(next)) < s.Last+1 {
		return put(tx, bucketArchMeta, keySummaryNext, u64key(s.Last+1))
	}
	return nil
}

// applyDueSummaries applies, in the order they were decided, the due
// summaries that need not wait any more (mustWait): their snapshots are
// removed.
func (ar *archive) applyDueSummaries() error {
	if ar.sum == nil || !ar.sum.compact {
		return nil
	}
	var ready [][]byte
	if err := ar.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSummariesDue).Cursor()
		k, _ := c.First()
		if k == nil {
			return nil
		}
		snaps := ar.sum.snapshotHeights()
		var waiting []*wire.SummaryTx
		for ; k != nil; k, _ = c.Next() {
			raw, err := ar.get(tx, bucketSummariesDue, k)
			if err != nil {
				return err
			}
			s, err := wire.UnmarshalSummaryTx(raw)
			if err != nil || len(k) != 12 || !mustWait(s, int64(binary.BigEndian.Uint64(k)), snaps, waiting) {
				ready = append(ready, bytes.Clone(k))
				continue
			}
			waiting = append(waiting, s)
		}
		return nil
	}); err != nil || len(ready) == 0 {
		return err
	}
	// Only the commit path writes the due summaries, and this runs on it:
	// what the view found ready is still there.
	return ar.update(func(tx *bolt.Tx) error {
		for _, k := range ready {
			raw, err := ar.get(tx, bucketSummariesDue, k)
			if err != nil {
				return err
			}
			if raw != nil && len(k) == 12 {
				if err := ar.applySummary(tx, int64(binary.BigEndian.Uint64(k)), raw); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bucketSummariesDue).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// summaryEffect is what a decided summary changes in the archive: its
// entry, and the stripped value of each extension it stands for.
type summaryEffect struct {
	key, value []byte
	validator  []byte
	blocks     []int64
	stripped   [][]byte
	last       int64
}

// evalSummary checks a summary decided in block h against the archive
// as read through view (which holds earlier effects not yet written) and
// returns its effect, or nil if it changes nothing (logged to log).
func (ar *archive) evalSummary(tx *bolt.Tx, h int64, raw []byte, view archiveOverlay, log *slog.Logger) (*summaryEffect, error) {
	sc := ar.sum
	s, err := wire.UnmarshalSummaryTx(raw)
	if err != nil {
		log.Warn("a decided summary does not decode; ignored", "block", h, "err", err)
		return nil, nil
	}
	who := fmt.Sprintf("%X", s.Validator)
	pub, ok := sc.key(s.Validator)
	if !ok {
		log.Warn("a decided summary of an unknown validator; ignored", "block", h, "validator", who)
		return nil, nil
	}
	if err := sc.verify(pub, s.SignBytes(sc.chainID), s.Signature); err != nil {
		log.Warn("a decided summary's signature does not verify; ignored", "block", h, "validator", who, "err", err)
		return nil, nil
	}
	if s.Last+1 >= h {
		log.Warn("a decided summary covers heights not decided before it; ignored", "block", h, "validator", who, "last", s.Last)
		return nil, nil
	}
	key := summaryKey(s.Validator, s.First)
	if old, err := view.summary(ar, tx, key); err != nil || old != nil {
		return nil, err // already kept (a summary decided twice)
	}
	leaves, heights, raws, stripped, err := ar.epochLeavesOf(tx, s.Validator, s.First, s.Last, view)
	if err != nil {
		return nil, err
	}
	if stripped {
		log.Warn("a decided summary overlaps an epoch already summarized; ignored", "block", h, "validator", who, "first", s.First, "last", s.Last)
		return nil, nil
	}
	if len(leaves) == 0 || uint32(len(leaves)) != s.Leaves || merkle.Root(leaves) != s.Root {
		log.Warn("a validator's summary does not match its extensions on chain; its extension signatures are kept",
			"block", h, "validator", who, "first", s.First, "last", s.Last, "leaves", s.Leaves, "archived_extensions", len(leaves))
		return nil, nil
	}
	e := &summaryEffect{key: key, validator: s.Validator, blocks: heights, last: s.Last}
	e.value = binary.BigEndian.AppendUint32(nil, uint32(len(leaves)))
	for _, l := range leaves {
		e.value = append(e.value, l[:]...)
	}
	e.value = append(e.value, raw...)
	for i := range heights {
		un, err := wire.UnsignedExtension(raws[i])
		if err != nil {
			return nil, ar.damaged(err.Error())
		}
		sv := []byte{strippedMark}
		sv = binary.BigEndian.AppendUint64(sv, uint64(s.First))
		sv = binary.BigEndian.AppendUint32(sv, uint32(i))
		e.stripped = append(e.stripped, append(sv, un...))
	}
	return e, nil
}

// archiveOverlay is the archive with effects not yet written on top (the
// snapshot export's view as of its height); the zero value is the
// archive itself.
type archiveOverlay struct {
	exts map[string][]byte // extKey → stripped value
	sums map[string][]byte // summaryKey → value
}

func (o archiveOverlay) extension(ar *archive, tx *bolt.Tx, key []byte) ([]byte, error) {
	if v, ok := o.exts[string(key)]; ok {
		return v, nil
	}
	return ar.get(tx, bucketExtensions, key)
}

func (o archiveOverlay) summary(ar *archive, tx *bolt.Tx, key []byte) ([]byte, error) {
	if v, ok := o.sums[string(key)]; ok {
		return v, nil
	}
	return ar.get(tx, bucketSummaries, key)
}

func (o archiveOverlay) add(e *summaryEffect) {
	o.sums[string(e.key)] = e.value
	for i, b := range e.blocks {
		o.exts[string(extKey(b, e.validator))] = e.stripped[i]
	}
}

// asOf is the archive as of height h for a snapshot of h: with the
// effects of the due summaries decided up to h, in their order. A
// summary decided after h that strips an extension filed at or below h is
// not applied while a snapshot of h is kept (applySummaries), and one
// applied strips only blocks after h, which the snapshot does not hold:
// so this is the same whenever it is read.
func (ar *archive) asOf(h int64) (archiveOverlay, error) {
	o := archiveOverlay{exts: map[string][]byte{}, sums: map[string][]byte{}}
	quiet := slog.New(slog.DiscardHandler) // applying them logs what they are
	err := ar.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSummariesDue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != 12 {
				continue
			}
			hs := int64(binary.BigEndian.Uint64(k))
			if hs > h {
				break
			}
			raw, err := ar.get(tx, bucketSummariesDue, k)
			if err != nil {
				return err
			}
			e, err := ar.evalSummary(tx, hs, raw, o, quiet)
			if err != nil {
				return err
			}
			if e != nil {
				o.add(e)
			}
		}
		return nil
	})
	return o, err
}

func (ar *archive) applySummary(tx *bolt.Tx, h int64, raw []byte) error {
	e, err := ar.evalSummary(tx, h, raw, archiveOverlay{}, ar.sum.log)
	if err != nil || e == nil {
		return err
	}
	if err := put(tx, bucketSummaries, e.key, e.value); err != nil {
		return err
	}
	for i, b := range e.blocks {
		// Deleted first: bbolt merges a page that fell below a quarter
		// full only after a delete, never after a put that shrank a value.
		// A signed extension (~20 KB) sat on a page of its own with one
		// other key, so without the delete every page of a compacted epoch
		// stayed allocated for ~300 bytes — the archive used twice what
		// it held.
		if err := tx.Bucket(bucketExtensions).Delete(extKey(b, e.validator)); err != nil {
			return err
		}
		if err := put(tx, bucketExtensions, extKey(b, e.validator), e.stripped[i]); err != nil {
			return err
		}
	}
	if sc := ar.sum; sc.self != nil && bytes.Equal(e.validator, sc.self) {
		next, err := ar.get(tx, bucketArchMeta, keySummaryNext)
		if err != nil {
			return err
		}
		if len(next) != 8 || int64(binary.BigEndian.Uint64(next)) < e.last+1 {
			return put(tx, bucketArchMeta, keySummaryNext, u64key(e.last+1))
		}
	}
	return nil
}

// SummaryProof is what a receipt needs of a summarized extension.
type SummaryProof struct {
	Extension *wire.Extension // without signature
	Summary   *wire.SummaryTx
	Leaf      int
	Leaves    []merkle.Hash
}

// Summarized returns the summary standing for the signature of
// validator's extension filed in block height; ok is false if that
// extension is archived signed, or not at all.
func (ar *archive) Summarized(height int64, validator []byte) (*SummaryProof, bool, error) {
	var p *SummaryProof
	err := ar.view(func(tx *bolt.Tx) error {
		v, err := ar.get(tx, bucketExtensions, extKey(height, validator))
		if err != nil || v == nil || v[0] != strippedMark {
			return err
		}
		if len(v) < 13 {
			return ar.damaged(fmt.Sprintf("the summarized extension of %X in block %d is truncated", validator, height))
		}
		first := int64(binary.BigEndian.Uint64(v[1:]))
		leaf := int(binary.BigEndian.Uint32(v[9:]))
		ext, err := wire.UnmarshalUnsignedExtension(v[13:])
		if err != nil {
			return ar.damaged(fmt.Sprintf("the summarized extension of %X in block %d: %v", validator, height, err))
		}
		sv, err := ar.get(tx, bucketSummaries, summaryKey(validator, first))
		if err != nil {
			return err
		}
		if sv == nil || len(sv) < 4 {
			return ar.damaged(fmt.Sprintf("the summary of %X from height %d, which block %d's extension points to, is missing", validator, first, height))
		}
		n := int(binary.BigEndian.Uint32(sv))
		if n > wire.MaxSummarySpan || len(sv) < 4+32*n || leaf >= n {
			return ar.damaged(fmt.Sprintf("the summary of %X from height %d is truncated", validator, first))
		}
		leaves := make([]merkle.Hash, n)
		for i := range leaves {
			copy(leaves[i][:], sv[4+32*i:])
		}
		s, err := wire.UnmarshalSummaryTx(sv[4+32*n:])
		if err != nil {
			return ar.damaged(fmt.Sprintf("the summary of %X from height %d: %v", validator, first, err))
		}
		p = &SummaryProof{Extension: ext, Summary: s, Leaf: leaf, Leaves: leaves}
		return nil
	})
	return p, p != nil, err
}

// summarizer makes this validator's summaries: once the archive holds an
// epoch's last extension, it reads its own extensions of the epoch back
// from the archive (what the chain decided, not what it sent), signs
// their root in the background — ExtendVote and Commit never wait for
// it — and submits the transaction. An epoch is done when the archive
// compacted it (keySummaryNext); a submission not decided within
// summaryResubmit heights is sent again.
type summarizer struct {
	interval int64
	ar       *archive
	self     []byte
	chainID  string
	sign     func([]byte) ([]byte, error)
	submit   func([]byte) error
	log      *slog.Logger

	mu      sync.Mutex
	busy    bool
	sentFor int64 // first height of the epoch last submitted
	sentAt  int64 // archived height when it was
	tries   int   // submissions of sentFor
	// tamper changes a summary before it is signed: fault injection for
	// tests (a validator that signs a wrong root), nil in production.
	tamper func(*wire.SummaryTx)
}

const summaryResubmit = 64

// epochOf returns the epoch of extension height x.
func (s *summarizer) epochOf(x int64) (first, last int64) {
	first = (x-1)/s.interval*s.interval + 1
	return first, first + s.interval - 1
}

// step runs after the archive reached archived.
func (s *summarizer) step(archived int64) {
	if s == nil || s.interval <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy {
		return
	}
	next, err := s.ar.meta(keySummaryNext)
	if err != nil {
		return
	}
	first, last := s.epochOf(max(next, 1))
	if last+1 > archived-1 {
		return // its last extension, or the block after it for the summary, not archived yet
	}
	if s.sentFor == first && archived-s.sentAt < summaryResubmit {
		return
	}
	var leaves []merkle.Hash
	var stripped bool
	err = s.ar.view(func(tx *bolt.Tx) (err error) {
		leaves, _, _, stripped, err = s.ar.epochLeaves(tx, s.self, first, last)
		return err
	})
	if err != nil {
		s.log.Warn("reading this validator's extensions for its summary", "first", first, "err", err)
		return
	}
	if stripped || len(leaves) == 0 || s.sentFor == first && s.tries >= 4 {
		// Nothing to sign, already summarized, or refused often enough:
		// move on (what is not summarized keeps its signatures).
		if err := s.ar.setMeta(keySummaryNext, last+1); err != nil {
			s.log.Warn("recording the next epoch to summarize", "err", err)
		}
		return
	}
	if s.sentFor != first {
		s.sentFor, s.tries = first, 0
	}
	s.sentAt = archived
	s.tries++
	s.busy = true
	st := &wire.SummaryTx{Validator: s.self, First: first, Last: last, Leaves: uint32(len(leaves)), Root: merkle.Root(leaves)}
	if s.tamper != nil {
		s.tamper(st)
	}
	go func() {
		defer func() { s.mu.Lock(); s.busy = false; s.mu.Unlock() }()
		sig, err := s.sign(st.SignBytes(s.chainID))
		if err != nil {
			s.log.Error("signing the epoch summary failed; its extensions keep their signatures", "first", first, "err", err)
			return
		}
		st.Signature = sig
		raw, err := st.Marshal()
		if err == nil {
			err = s.submit(raw)
		}
		if err != nil {
			s.log.Warn("submitting the epoch summary failed; it is sent again", "first", first, "err", err)
		}
	}()
}

// wait returns once no summary is being signed (for a clean stop).
func (s *summarizer) wait(d time.Duration) {
	if s == nil {
		return
	}
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		b := s.busy
		s.mu.Unlock()
		if !b {
			return
		}
	}
}

// submitTx hands a summary to the local mempool.
func submitTx(broadcast func(context.Context, []byte) (uint32, string, error)) func([]byte) error {
	return func(tx []byte) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		code, log, err := broadcast(ctx, tx)
		if err != nil {
			if bytes.Contains([]byte(err.Error()), []byte("already exists in cache")) {
				return nil
			}
			return err
		}
		if code != 0 {
			return errors.New(log)
		}
		return nil
	}
}

// setupSummaries wires the archive's summary checks and, if this node is
// a validator with a summary interval, its summarizer.
func (n *Node) setupSummaries(priv *ziggy.PrivateKey, self []byte, rpc *local.Local) {
	genesis := map[string][]byte{}
	for _, v := range n.genesis.Validators {
		genesis[string(v.Address)] = v.ZiggyPubKey
	}
	// The app's registry knows every validator once its state is loaded;
	// before that (a state sync still restoring) only the genesis ones.
	key := func(addr []byte) ([]byte, bool) {
		if k, ok := n.app.ZiggyKey(addr); ok {
			return k, true
		}
		k, ok := genesis[string(addr)]
		return k, ok
	}
	sc := &summaryCheck{chainID: n.cmt.GenesisDoc().ChainID, key: key,
		verify: ziggysig.Scheme{}.Verify, log: n.log}
	// Any node with validator keys may be one now or be added by
	// governance later, so it gets a summarizer: an epoch in which its
	// archive holds none of its extensions has nothing to sign and is
	// passed over.
	isVal := priv != nil && len(self) > 0
	if isVal {
		sc.self = self
	}
	n.archive.sum = sc
	interval := int64(DefaultSummaryInterval)
	if n.cfg.SummaryInterval != nil {
		interval = *n.cfg.SummaryInterval
	}
	// A node that serves state sync snapshots compacts too, but a summary
	// takes effect only once no snapshot it keeps is of a lower height:
	// its snapshots' archive chunks are made again from the archive when
	// a peer asks, as of their height (ExportSnapshot), and need the
	// signatures of the summaries decided after it until then.
	snapshots := int64(DefaultSnapshotInterval)
	if n.cfg.SnapshotInterval != nil {
		snapshots = *n.cfg.SnapshotInterval
	}
	sc.compact = interval > 0
	if snapshots > 0 {
		sc.snapshots = n.app.SnapshotHeights
	}
	if !isVal || interval <= 0 {
		return
	}
	signer := ziggysig.NewSigner(priv)
	n.summ = &summarizer{interval: min(interval, wire.MaxSummarySpan), ar: n.archive, self: self, chainID: sc.chainID,
		sign: signer.Sign, log: n.log,
		submit: submitTx(func(ctx context.Context, tx []byte) (uint32, string, error) {
			r, err := rpc.BroadcastTxSync(ctx, tx)
			if err != nil {
				return 0, "", err
			}
			return r.Code, r.Log, nil
		})}
}

// snapSummaries is the summaries bucket in a state sync snapshot, after
// the extensions and headers: addr ‖ u64 first → the archive's value.
var snapSummaries = app.ExtraPrefix + "summaries"

// exportSummaries emits the summaries that stand for signatures of
// extensions archived up to archived (those from its first height on
// after), from key from on.
func (x *snapshotExtra) exportSummaries(archived int64, from []byte, view archiveOverlay, emit func(string, []byte, []byte) error) error {
	// The summaries the snapshot's height has and the archive not yet
	// go in key order among the archive's.
	var extra []string
	for k := range view.sums {
		if from == nil || k >= string(from) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	emitExtra := func(below []byte) error {
		for len(extra) > 0 && (below == nil || extra[0] < string(below)) {
			if err := emit(snapSummaries, []byte(extra[0]), view.sums[extra[0]]); err != nil {
				return err
			}
			extra = extra[1:]
		}
		return nil
	}
	return x.ar.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSummaries).Cursor()
		k, _ := c.First()
		if from != nil {
			k, _ = c.Seek(from)
		}
		for ; k != nil; k, _ = c.Next() {
			if len(k) < 9 || int64(binary.BigEndian.Uint64(k[len(k)-8:]))+1 > archived {
				continue
			}
			if err := emitExtra(k); err != nil {
				return err
			}
			v, err := x.ar.get(tx, bucketSummaries, k)
			if err != nil {
				return err
			}
			if err := emit(snapSummaries, k, v); err != nil {
				return err
			}
		}
		return emitExtra(nil)
	})
}

// checkSummaryEntry checks an imported summary entry's shape; its
// content is verified by FinishImport (checkStripped).
func checkSummaryEntry(key, value []byte, height int64) error {
	if len(key) < 9 || len(key) > 8+255 || int64(binary.BigEndian.Uint64(key[len(key)-8:])) > height || len(value) < 4 ||
		len(value) > 4+32*wire.MaxSummarySpan+wire.MaxSummaryTxBytes {
		return fmt.Errorf("receipt archive: a bad summary entry %x", key[:min(len(key), 16)])
	}
	return nil
}

// checkStripped verifies an imported summarized extension of validator in
// block y: its summary is signed by the validator's Ziggy key over the
// root of its leaves, and the extension's own leaf is among them.
// verified caches the leaves of summaries already checked.
func (ar *archive) checkStripped(tx *bolt.Tx, y int64, validator, v []byte, verified map[string][]merkle.Hash) error {
	if ar.sum == nil {
		return errors.New("this node cannot check summaries")
	}
	if len(v) < 13 {
		return errors.New("truncated")
	}
	first := int64(binary.BigEndian.Uint64(v[1:]))
	leaf := int(binary.BigEndian.Uint32(v[9:]))
	ext, err := wire.UnmarshalUnsignedExtension(v[13:])
	if err != nil {
		return err
	}
	if ext.Height != y-1 {
		return fmt.Errorf("the extension is for height %d, filed under block %d", ext.Height, y)
	}
	key := string(summaryKey(validator, first))
	leaves, ok := verified[key]
	if !ok {
		sv, err := ar.get(tx, bucketSummaries, []byte(key))
		if err != nil {
			return err
		}
		if sv == nil {
			return fmt.Errorf("its summary from height %d is not in the snapshot", first)
		}
		n := int(binary.BigEndian.Uint32(sv))
		if n > wire.MaxSummarySpan || len(sv) < 4+32*n {
			return errors.New("its summary is truncated")
		}
		s, err := wire.UnmarshalSummaryTx(sv[4+32*n:])
		if err != nil {
			return err
		}
		leaves = make([]merkle.Hash, n)
		for i := range leaves {
			copy(leaves[i][:], sv[4+32*i:])
		}
		pub, ok := ar.sum.key(validator)
		switch {
		case !ok:
			return errors.New("not a validator")
		case !bytes.Equal(s.Validator, validator) || s.First != first:
			return errors.New("its summary is filed under another validator or height")
		case uint32(n) != s.Leaves || merkle.Root(leaves) != s.Root:
			return errors.New("its summary's leaves do not make its signed root")
		}
		if err := ar.sum.verify(pub, s.SignBytes(ar.sum.chainID), s.Signature); err != nil {
			return fmt.Errorf("its summary's signature: %w", err)
		}
		verified[key] = leaves
		verified[key+"/last"] = []merkle.Hash{{}}
		binary.BigEndian.PutUint64(verified[key+"/last"][0][:], uint64(s.Last))
	}
	if last := verified[key+"/last"]; len(last) != 1 || y < first+1 || y > int64(binary.BigEndian.Uint64(last[0][:]))+1 {
		return fmt.Errorf("block %d lies outside its summary's heights", y)
	}
	if leaf >= len(leaves) || leaves[leaf] != wire.SummaryLeaf(ext.Height, ext.Root()) {
		return fmt.Errorf("its leaf %d is not in its summary", leaf)
	}
	return nil
}

// ArchiveUsedBytes is what the receipt archive's pages hold: the pages
// bbolt has allocated (its file is grown ahead of them, in steps) less
// those on its free list. It grows smoothly while the file grows in
// steps.
func (n *Node) ArchiveUsedBytes() int64 {
	var size int64
	if err := n.archive.view(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		return 0
	}
	return size - int64(n.archive.db.Stats().FreeAlloc)
}

// AppUsedBytes is what the app's state file's pages hold, as
// ArchiveUsedBytes is for the archive.
func (n *Node) AppUsedBytes() int64 { return n.app.StoreUsedBytes() }
