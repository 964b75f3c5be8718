package node

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"
	bolt "go.etcd.io/bbolt"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/merkle"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// State sync: every node takes a snapshot of the app's state every
// snapshot_interval heights (app/snapshot.go) and serves the newest
// snapshot_keep of them to peers through CometBFT's state sync; a node
// with an empty home and node.json's state_sync set joins from one
// instead of replaying the chain from block 1 — which no peer may still
// hold once blocks are pruned. The receipt archive travels with each
// snapshot (snapshotExtra), so the joined node serves the receipts of
// records decided long before it joined; what it imports is verified
// against the restored state before it is kept.

// DefaultSnapshotInterval is how often a node takes a snapshot unless
// node.json says otherwise: every 3600 heights, about 10 minutes at the
// demo's 6 blocks a second — half the default retain_blocks window. A
// node that joins from the newest snapshot must find the blocks after it
// at its peers: the snapshot is up to an interval old, and finding and
// fetching it takes a while more, so peers must keep at least two
// intervals of blocks (the node warns at start when it does not).
const DefaultSnapshotInterval = 3600

// DefaultSnapshotKeep is how many snapshots a node keeps unless
// node.json says otherwise.
const DefaultSnapshotKeep = 2

// StateSyncConfig is node.json's "state_sync": where and from what a node
// with an empty home joins by a snapshot. CometBFT's light client checks
// the snapshot's height against the header trusted here, through the
// rpc_servers (CometBFT RPC of two or more nodes of the network, which
// must agree); the app then checks the whole restored state against that
// header's app hash (SECURITY.md).
type StateSyncConfig struct {
	// RPCServers are CometBFT RPC addresses (host:port or
	// http://host:port) of at least two nodes of the network.
	RPCServers []string `json:"rpc_servers"`
	// TrustHeight and TrustHash name a block the operator trusts, read
	// from a node they trust (its /v1/status or CometBFT RPC /block):
	// its height and its hash, hex.
	TrustHeight int64  `json:"trust_height"`
	TrustHash   string `json:"trust_hash"`
	// TrustPeriod is how long a trusted header stays trusted (absent:
	// 168h); the trusted block must be younger than this.
	TrustPeriod Duration `json:"trust_period,omitempty"`
	// DiscoveryTime is how long the node gathers snapshots from its peers
	// before it picks one (absent: 15s; at least 5s).
	DiscoveryTime Duration `json:"discovery_time,omitempty"`
}

// maxRPCServers bounds state_sync.rpc_servers.
const maxRPCServers = 32

// validateSnapshots checks snapshot_interval, snapshot_keep and
// state_sync, naming the field and what to write instead.
func (c *Config) validateSnapshots() error {
	if c.SnapshotInterval != nil && *c.SnapshotInterval < 0 {
		return fmt.Errorf("snapshot_interval must be 0 (take no snapshots) or a number of heights (absent: %d)", DefaultSnapshotInterval)
	}
	if c.SnapshotKeep < 0 || c.SnapshotKeep > 100 {
		return fmt.Errorf("snapshot_keep must lie between 1 and 100 (absent: %d)", DefaultSnapshotKeep)
	}
	s := c.StateSync
	if s == nil {
		return nil
	}
	if len(s.RPCServers) < 2 || len(s.RPCServers) > maxRPCServers {
		return fmt.Errorf("state_sync.rpc_servers lists %d servers: give the CometBFT RPC addresses (rpc_listen) of 2 to %d nodes of the network, which the light client cross-checks", len(s.RPCServers), maxRPCServers)
	}
	for _, r := range s.RPCServers {
		hp := strings.TrimPrefix(strings.TrimPrefix(r, "http://"), "https://")
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return fmt.Errorf("state_sync.rpc_servers: %q is not host:port or http://host:port", r)
		}
	}
	if s.TrustHeight < 1 {
		return errors.New("state_sync.trust_height must be the height of a block you trust (read it, with its hash, from a node you trust: /v1/status or CometBFT RPC /block)")
	}
	if h, err := hex.DecodeString(s.TrustHash); err != nil || len(h) != 32 {
		return errors.New("state_sync.trust_hash must be the 64 hex digits of the block hash at trust_height")
	}
	if s.TrustPeriod < 0 {
		return errors.New("state_sync.trust_period must be positive (absent: 168h)")
	}
	if s.DiscoveryTime != 0 && time.Duration(s.DiscoveryTime) < 5*time.Second {
		return errors.New("state_sync.discovery_time must be at least 5s (absent: 15s)")
	}
	return nil
}

// snapshotWarning says why this node's snapshots may be of no use to a
// joining node, or "" when they are.
func (c *Config) snapshotWarning() string {
	iv, keep := c.snapshotInterval(), c.retainBlocks()
	if iv > 0 && keep > 0 && iv > keep/2 {
		return fmt.Sprintf("snapshot_interval %d is more than half of retain_blocks %d: a node joining from this node's newest snapshot may find the blocks after it pruned at every peer; set snapshot_interval to at most %d or raise retain_blocks", iv, keep, keep/2)
	}
	return ""
}

// snapshotInterval is SnapshotInterval with the default applied.
func (c *Config) snapshotInterval() int64 {
	if c.SnapshotInterval == nil {
		return DefaultSnapshotInterval
	}
	return *c.SnapshotInterval
}

func (c *Config) snapshotKeep() int {
	if c.SnapshotKeep == 0 {
		return DefaultSnapshotKeep
	}
	return c.SnapshotKeep
}

// cometStateSync maps state_sync onto CometBFT's configuration.
func (c *Config) cometStateSync(cfg *cmtcfg.Config) {
	s := c.StateSync
	if s == nil {
		return
	}
	cfg.StateSync.Enable = true
	cfg.StateSync.RPCServers = nil
	for _, r := range s.RPCServers {
		if !strings.Contains(r, "://") {
			r = "http://" + r
		}
		cfg.StateSync.RPCServers = append(cfg.StateSync.RPCServers, r)
	}
	cfg.StateSync.TrustHeight = s.TrustHeight
	cfg.StateSync.TrustHash = strings.ToLower(s.TrustHash)
	if s.TrustPeriod > 0 {
		cfg.StateSync.TrustPeriod = time.Duration(s.TrustPeriod)
	}
	if s.DiscoveryTime > 0 {
		cfg.StateSync.DiscoveryTime = time.Duration(s.DiscoveryTime)
	}
}

// The receipt archive's part of a snapshot: its buckets under
// app.ExtraPrefix, in the archive's own layout without the checksums.
var (
	snapExtensions = app.ExtraPrefix + "extensions" // u64 block height ‖ validator address → extension
	snapHeaders    = app.ExtraPrefix + "headers"    // u64 height → u32 len ‖ header proto ‖ commit proto
)

// keyHeaderDue is the height whose header and commit the archive still
// needs after a restore at the height below it: block restored+1, which
// the snapshot could not carry (it did not exist yet).
var keyHeaderDue = []byte("header_due")

// keyImporting marks an archive that a restore is filling: set by
// BeginImport, deleted once FinishImport verified everything. An archive
// opened with it holds unverified material and is emptied.
var keyImporting = []byte("importing")

// discardUnfinishedImport empties the archive if a restore stopped while
// filling it; it reports whether it did.
func (ar *archive) discardUnfinishedImport() (bool, error) {
	var found bool
	err := ar.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketArchMeta).Get(keyImporting) == nil {
			return nil
		}
		found = true
		return clearArchive(tx)
	})
	return found, err
}

func clearArchive(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketHeaders, bucketExtensions, bucketArchMeta, bucketSummaries, bucketSummariesDue} {
		if err := tx.DeleteBucket(b); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(b); err != nil {
			return err
		}
	}
	return nil
}

// snapshotExtra moves the receipt archive with the app's snapshots.
type snapshotExtra struct {
	node func() *Node // nil until the node is built
	ar   *archive
	// importing is set from BeginImport until FinishImport verified
	// everything: no receipt is built from unverified material.
	importing atomic.Bool
	// import state
	height  int64
	pending int      // bytes buffered
	buf     []kvPair // buffered entries
}

type kvPair struct {
	bucket []byte
	k, v   []byte
}

var errNoNode = errors.New("the node is not running yet")

// snapshotBlockWait bounds how long a snapshot waits for the block after
// its height.
const snapshotBlockWait = time.Minute

// ExportSnapshot emits, for heights up to h, every archived extension and
// header, then what the block store holds above the archive: a receipt of
// any record decided by h − 1 builds from them, and of those decided at h
// once block h+1 exists (the restored node archives that header itself:
// keyHeaderDue). It first waits for block h+1, whose last commit is the
// canonical commit of h: every header then goes with its canonical
// commit, as the archive keeps them, so every honest node's snapshot of h
// holds the same bytes and has the same hash, and a joining node fetches
// its chunks from all of them.
func (x *snapshotExtra) ExportSnapshot(h int64, from *app.ExtraKey, emit func(bucket string, key, value []byte) error) error {
	n := x.node()
	if n == nil {
		return errNoNode
	}
	bs := n.cmt.BlockStore()
	for deadline := time.Now().Add(snapshotBlockWait); bs.Height() < h+1; {
		if !n.cmt.IsRunning() || time.Now().After(deadline) {
			return fmt.Errorf("block %d, whose last commit the snapshot of %d needs, was not stored in time", h+1, h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A compacting archive gives its entries as of h: it waits until it
	// has archived h, then applies on top what the summaries decided by
	// h and still due would strip (archive.asOf). So every compacting
	// node's snapshot of h holds the same bytes, whatever it compacted
	// since.
	var view archiveOverlay
	if n.cfg.retainBlocks() > 0 && x.ar.sum != nil && x.ar.sum.compact {
		for deadline := time.Now().Add(snapshotBlockWait); ; {
			a, err := x.ar.archived()
			if err != nil {
				return err
			}
			if a >= h {
				break
			}
			if !n.cmt.IsRunning() || time.Now().After(deadline) {
				return fmt.Errorf("the receipt archive did not reach height %d, which its snapshot needs, in time", h)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var err error
		if view, err = x.ar.asOf(h); err != nil {
			return err
		}
	}
	archived, err := x.ar.archived()
	if err != nil {
		return err
	}
	archived = min(archived, h)
	if from != nil && from.Bucket == snapSummaries {
		return x.exportSummaries(archived, from.Key, view, emit)
	}
	// Entries before from are skipped: a chunk made again starts at its
	// first entry. The archive and the block store give the same bytes
	// for a height, so what moved from one to the other since does not
	// change a chunk.
	var fromExt, fromHdr []byte
	switch {
	case from == nil:
	case from.Bucket == snapExtensions:
		fromExt = from.Key
	case from.Bucket == snapHeaders:
		fromExt, fromHdr = nil, from.Key
	default:
		return fmt.Errorf("snapshot: no receipt archive material %q", from.Bucket)
	}
	skipExt := from != nil && from.Bucket == snapHeaders
	send := func(bucket string, start, key, value []byte) error {
		if start != nil && bytes.Compare(key, start) < 0 {
			return nil
		}
		return emit(bucket, key, value)
	}
	if !skipExt {
		// Extensions: the archive's up to archived, then the blocks'.
		if err := x.exportBucket(bucketExtensions, snapExtensions, fromExt, u64key(archived+1), view.exts, emit); err != nil {
			return err
		}
		first := archived + 1
		if len(fromExt) >= 8 {
			first = max(first, int64(binary.BigEndian.Uint64(fromExt)))
		}
		for y := first; y <= h; y++ {
			blk, _ := bs.LoadBlock(y)
			if blk == nil {
				return fmt.Errorf("block %d is neither archived nor stored: %w", y, errArchiveLost)
			}
			var votes []wire.CommitVote
			for _, raw := range blk.Txs {
				if wire.IsCommitTx(raw) {
					ct, err := wire.UnmarshalCommitTx(raw)
					if err != nil {
						return fmt.Errorf("block %d's injected commit: %w", y, err)
					}
					votes = ct.Votes
					break
				}
			}
			slices.SortFunc(votes, func(a, b wire.CommitVote) int { return bytes.Compare(a.Address, b.Address) })
			for _, v := range votes {
				if len(v.Extension) == 0 {
					continue
				}
				if err := send(snapExtensions, fromExt, extKey(y, v.Address), v.Extension); err != nil {
					return err
				}
			}
		}
	}
	// Headers: the archive's up to archived+1 (at most h), then the
	// blocks' up to h.
	if err := x.exportBucket(bucketHeaders, snapHeaders, fromHdr, u64key(min(archived+1, h)+1), nil, emit); err != nil {
		return err
	}
	first := archived + 1
	if len(fromHdr) == 8 {
		first = max(first, int64(binary.BigEndian.Uint64(fromHdr))-1)
	}
	for y := first; y < h; y++ {
		bi, err := n.app.Block(y)
		if errors.Is(err, app.ErrNotFound) {
			continue // below the chain's initial height
		}
		if err != nil {
			return err
		}
		if len(bi.Accepted) == 0 {
			continue
		}
		v, err := headerValue(bs, y+1)
		if err != nil {
			return err
		}
		if err := send(snapHeaders, fromHdr, u64key(y+1), v); err != nil {
			return err
		}
	}
	return x.exportSummaries(archived, nil, view, emit)
}

// headerValue is the archive's value of height's header and its
// canonical commit (the next block's last commit).
func headerValue(bs blockReader, height int64) ([]byte, error) {
	meta := bs.LoadBlockMeta(height)
	c := bs.LoadBlockCommit(height)
	if meta == nil || c == nil {
		return nil, fmt.Errorf("the header or commit of %d: %w", height, errArchiveLost)
	}
	ph := meta.Header.ToProto()
	hb, err := ph.Marshal()
	if err != nil {
		return nil, err
	}
	cb, err := c.ToProto().Marshal()
	if err != nil {
		return nil, err
	}
	v := binary.BigEndian.AppendUint32(nil, uint32(len(hb)))
	return append(append(v, hb...), cb...), nil
}

// exportBucket emits an archive bucket's checked values from from (nil:
// the first) to below to, those in over instead of the archive's.
func (x *snapshotExtra) exportBucket(bucket []byte, as string, from, to []byte, over map[string][]byte, emit func(string, []byte, []byte) error) error {
	return x.ar.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		k, _ := c.First()
		if from != nil {
			k, _ = c.Seek(from)
		}
		for ; k != nil && bytes.Compare(k, to) < 0; k, _ = c.Next() {
			v, ok := over[string(k)]
			if !ok {
				var err error
				if v, err = x.ar.get(tx, bucket, k); err != nil {
					return err
				}
			}
			if err := emit(as, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// BeginImport empties the archive: a node restores only into an empty
// home, and what a refused snapshot left must not stay.
func (x *snapshotExtra) BeginImport(h int64) error {
	x.importing.Store(true)
	x.height, x.buf, x.pending = h, nil, 0
	return x.ar.update(func(tx *bolt.Tx) error {
		if err := clearArchive(tx); err != nil {
			return err
		}
		return put(tx, bucketArchMeta, keyImporting, u64key(h))
	})
}

// importFlush bounds what is buffered between archive transactions.
const importFlush = 4 << 20

// ImportEntry checks an entry's shape and height and buffers it; its
// content is verified by FinishImport, before anything is served.
func (x *snapshotExtra) ImportEntry(bucket string, key, value []byte) error {
	var b []byte
	switch bucket {
	case snapExtensions:
		if len(key) < 9 || len(key) > 8+64 || int64(binary.BigEndian.Uint64(key)) > x.height || len(value) > wire.MaxExtensionBytes {
			return fmt.Errorf("receipt archive: a bad extension entry %x", key[:min(len(key), 16)])
		}
		b = bucketExtensions
	case snapHeaders:
		if len(key) != 8 || int64(binary.BigEndian.Uint64(key)) > x.height || len(value) > 1<<20 {
			return fmt.Errorf("receipt archive: a bad header entry %x", key)
		}
		b = bucketHeaders
	case snapSummaries:
		if err := checkSummaryEntry(key, value, x.height); err != nil {
			return err
		}
		b = bucketSummaries
	default:
		return fmt.Errorf("receipt archive: unknown material %q", bucket)
	}
	x.buf = append(x.buf, kvPair{b, bytes.Clone(key), bytes.Clone(value)})
	x.pending += len(key) + len(value)
	if x.pending >= importFlush {
		return x.flush()
	}
	return nil
}

func (x *snapshotExtra) flush() error {
	err := x.ar.update(func(tx *bolt.Tx) error {
		for _, e := range x.buf {
			if err := put(tx, e.bucket, e.k, e.v); err != nil {
				return err
			}
		}
		return nil
	})
	x.buf, x.pending = nil, 0
	return err
}

// FinishImport verifies every imported entry against the restored state
// (which the app proved against the light-client-verified app hash):
//
//   - a header of height y must be the chain's: its chain id, its app
//     hash the restored app hash of y − 1, its validators the genesis
//     set's, and its commit signed by more than two thirds of them;
//     every height that accepted records must have the header after it;
//   - an extension must be signed by the Ziggy key of the validator it is
//     filed under, for the vote height of its block.
//
// Then the archive covers every height up to h, and the header of h + 1
// is due (archive.step copies it once it is stored).
func (x *snapshotExtra) FinishImport(h int64) error {
	if err := x.flush(); err != nil {
		return err
	}
	n := x.node()
	if n == nil {
		return errNoNode
	}
	chainID := n.app.ChainID()
	// The validator set of each height is the one the restored state's
	// governance puts in force there (validators.go).
	headers := 0
	err := x.ar.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHeaders).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			y := int64(binary.BigEndian.Uint64(k))
			hd, cm, ok, err := x.ar.Header(y)
			if err != nil || !ok {
				return fmt.Errorf("receipt archive: header %d: %v", y, err)
			}
			valSet, err := n.app.CometValidatorsAt(y)
			if err != nil {
				return fmt.Errorf("receipt archive: header %d: %v", y, err)
			}
			prev, err := n.app.Block(y - 1)
			if err != nil {
				return fmt.Errorf("receipt archive: header %d follows no restored block: %v", y, err)
			}
			switch {
			case hd.Height != y || hd.ChainID != chainID:
				return fmt.Errorf("receipt archive: header %d is of height %d, chain %q", y, hd.Height, hd.ChainID)
			case !bytes.Equal(hd.AppHash, prev.AppHash):
				return fmt.Errorf("receipt archive: header %d carries app hash %X, the restored state %X", y, []byte(hd.AppHash), []byte(prev.AppHash))
			case !bytes.Equal(hd.ValidatorsHash, valSet.Hash()):
				return fmt.Errorf("receipt archive: header %d names other validators than the set in force at its height", y)
			case cm.Height != y || !bytes.Equal(cm.BlockID.Hash, hd.Hash()):
				return fmt.Errorf("receipt archive: the commit filed with header %d does not sign it", y)
			}
			if err := hd.ValidateBasic(); err != nil {
				return fmt.Errorf("receipt archive: header %d: %v", y, err)
			}
			if err := valSet.VerifyCommitLight(chainID, cm.BlockID, y, cm); err != nil {
				return fmt.Errorf("receipt archive: the commit of header %d: %v", y, err)
			}
			headers++
		}
		c = tx.Bucket(bucketExtensions).Cursor()
		sums := map[string][]merkle.Hash{}
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			ext, err := x.ar.get(tx, bucketExtensions, k)
			if err != nil {
				return err
			}
			y := int64(binary.BigEndian.Uint64(k))
			if len(ext) > 0 && ext[0] == strippedMark {
				if err := x.ar.checkStripped(tx, y, k[8:], ext, sums); err != nil {
					return fmt.Errorf("receipt archive: the summarized extension of %X in block %d: %v", k[8:], y, err)
				}
				continue
			}
			if err := n.app.CheckArchivedExtension(y, k[8:], ext); err != nil {
				return fmt.Errorf("receipt archive: the extension of %X in block %d: %v", k[8:], y, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for y := int64(1); y < h; y++ {
		bi, err := n.app.Block(y)
		if errors.Is(err, app.ErrNotFound) {
			continue // below the chain's initial height (the app checked every block above it)
		}
		if err != nil {
			return err
		}
		if len(bi.Accepted) == 0 {
			continue
		}
		if _, _, ok, err := x.ar.Header(y + 1); err != nil || !ok {
			return fmt.Errorf("receipt archive: block %d accepted records, and the snapshot lacks the header after it", y)
		}
	}
	err = x.ar.update(func(tx *bolt.Tx) error {
		if err := put(tx, bucketArchMeta, keyArchived, u64key(h)); err != nil {
			return err
		}
		if err := put(tx, bucketArchMeta, keyExtCommits, u64key(h+1)); err != nil {
			return err
		}
		if err := put(tx, bucketArchMeta, keyHeaderDue, u64key(h+1)); err != nil {
			return err
		}
		return tx.Bucket(bucketArchMeta).Delete(keyImporting)
	})
	if err != nil {
		return err
	}
	n.ecFloor.Store(h + 1)
	x.importing.Store(false)
	n.log.Info("state sync: receipt archive imported and verified", "height", h, "headers", headers)
	return nil
}

// archiveDue copies the header (and canonical commit) a restore left due,
// once the block after it is stored.
func (ar *archive) archiveDue(bs blockReader, tip int64) error {
	due, err := ar.meta(keyHeaderDue)
	if err != nil || due == 0 || due > tip-1 {
		return err
	}
	v, err := headerValue(bs, due)
	if err != nil {
		return fmt.Errorf("node: archiving the header of %d for receipts: %w", due, err)
	}
	return ar.update(func(tx *bolt.Tx) error {
		if err := put(tx, bucketHeaders, u64key(due), v); err != nil {
			return err
		}
		return tx.Bucket(bucketArchMeta).Delete(keyHeaderDue)
	})
}

// snapshotConfig is what the app takes.
func (c *Config) snapshotConfig(x app.SnapshotExtra) app.SnapshotConfig {
	return app.SnapshotConfig{Interval: c.snapshotInterval(), Keep: c.snapshotKeep(), Extra: x}
}

// FollowerOptions describe a node that follows a network without being
// one of its validators: an explorer, an archive, a receipt server.
type FollowerOptions struct {
	Home      string // the new home; must not exist
	Genesis   string // the network's genesis.json
	Moniker   string
	P2PListen string // host:port
	// P2PExternal is the host:port peers reach P2PListen at, if another.
	P2PExternal string
	API         string   // host:port of the HTTP API; empty: none
	Peers       []string // node-id@host:port of nodes of the network
	// StateSync, if set, makes the follower join from a snapshot.
	StateSync *StateSyncConfig
}

// InitFollower writes a home for a node that is not a validator: its
// CometBFT and Ziggy keys are its own and in no validator set, so it
// votes on nothing and attests nothing; it verifies and stores every
// block, and serves the API, snapshots and receipts like a validator.
// It returns the node's id (for other nodes' peers).
func InitFollower(o FollowerOptions) (string, error) {
	if o.Home == "" || o.Genesis == "" || o.P2PListen == "" || o.Moniker == "" {
		return "", errors.New("node: a follower needs a home, the network's genesis, a moniker and a p2p address")
	}
	if _, err := os.Stat(o.Home); err == nil {
		return "", fmt.Errorf("node: %s already exists; a follower starts from an empty home", o.Home)
	}
	gen, err := cmttypes.GenesisDocFromFile(o.Genesis)
	if err != nil {
		return "", fmt.Errorf("node: the network's genesis %s: %w", o.Genesis, err)
	}
	nc := &Config{Moniker: o.Moniker, P2PListen: o.P2PListen, P2PExternal: o.P2PExternal, API: o.API, Peers: o.Peers,
		CommitTimeout: Duration(100 * time.Millisecond), StateSync: o.StateSync}
	if err := nc.validate(); err != nil {
		return "", fmt.Errorf("node: %w", err)
	}
	cfg := nc.comet(o.Home)
	for _, d := range []string{"config", "data"} {
		if err := os.MkdirAll(filepath.Join(o.Home, d), 0o700); err != nil {
			return "", err
		}
	}
	pv, err := privval.GenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile(), func() (crypto.PrivKey, error) {
		return ed25519.GenPrivKey(), nil
	})
	if err != nil {
		return "", err
	}
	pv.Save()
	nk, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return "", err
	}
	pub, priv, err := ziggy.GenerateKey(nil)
	if err != nil {
		return "", err
	}
	if err := ziggy.SavePrivateKey(filepath.Join(o.Home, ZiggyKeyFile), priv); err != nil {
		return "", err
	}
	if err := ziggy.SavePublicKey(filepath.Join(o.Home, ZiggyPubFile), pub); err != nil {
		return "", err
	}
	if err := gen.SaveAs(cfg.GenesisFile()); err != nil {
		return "", err
	}
	if err := nc.Save(o.Home); err != nil {
		return "", err
	}
	return string(nk.ID()), nil
}
