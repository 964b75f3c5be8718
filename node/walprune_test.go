package node

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	cmtcons "github.com/cometbft/cometbft/api/cometbft/consensus/v1"
)

// walRecord encodes one record the way CometBFT's WAL encoder does:
// CRC-32C ‖ length ‖ TimedWALMessage.
func walRecord(t *testing.T, m *cmtcons.WALMessage) []byte {
	t.Helper()
	data, err := (&cmtcons.TimedWALMessage{Time: time.Unix(1, 0).UTC(), Msg: m}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	return append(out, data...)
}

func endHeight(t *testing.T, h int64) []byte {
	return walRecord(t, &cmtcons.WALMessage{Sum: &cmtcons.WALMessage_EndHeight{EndHeight: &cmtcons.EndHeight{Height: h}}})
}

// filler is a record that is not a marker, about n bytes long.
func filler(t *testing.T, n int) []byte {
	var out []byte
	for len(out) < n {
		out = append(out, walRecord(t, &cmtcons.WALMessage{Sum: &cmtcons.WALMessage_TimeoutInfo{TimeoutInfo: &cmtcons.TimeoutInfo{Height: 7, Round: 1}}})...)
	}
	return out
}

func writeWAL(t *testing.T, path string, parts ...[]byte) {
	t.Helper()
	if err := os.WriteFile(path, slices.Concat(parts...), 0o600); err != nil {
		t.Fatal(err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestPruneWALKeepsTheNewestBytesAndTheLastMarker(t *testing.T) {
	dir := t.TempDir()
	head := filepath.Join(dir, "wal")
	// Ten rotated files of ~1,000 bytes, each with a marker, and a head
	// with a marker followed by a half-written record.
	for i := range 10 {
		writeWAL(t, filepath.Join(dir, fmt.Sprintf("wal.%03d", i)), filler(t, 1000), endHeight(t, int64(i+1)))
	}
	writeWAL(t, head, filler(t, 500), endHeight(t, 11), endHeight(t, 12)[:9])
	writeWAL(t, filepath.Join(dir, "wal.CORRUPTED"), filler(t, 5000)) // CometBFT's repair backup: not ours
	writeWAL(t, filepath.Join(dir, "other.000"), filler(t, 5000))

	removed, freed, err := pruneWAL(head, 3000)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: the head (~550 B), wal.009, wal.008, wal.007 (the first to
	// reach 3,000 bytes); removed: wal.000 … wal.006.
	want := []string{"wal.006", "wal.005", "wal.004", "wal.003", "wal.002", "wal.001", "wal.000"}
	if !slices.Equal(removed, want) || freed <= 7*1000 {
		t.Fatalf("removed %v (%d bytes), want %v", removed, freed, want)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"other.000", "wal", "wal.007", "wal.008", "wal.009", "wal.CORRUPTED"}) {
		t.Fatalf("left %v", got)
	}
	// A second pass finds nothing more to do.
	if removed, _, err := pruneWAL(head, 3000); err != nil || len(removed) != 0 {
		t.Fatalf("second pass removed %v, %v", removed, err)
	}
}

func TestPruneWALNeverRemovesTheFileWithTheLastMarker(t *testing.T) {
	dir := t.TempDir()
	head := filepath.Join(dir, "wal")
	// A long height: its marker is in wal.002; wal.003, wal.004 and the
	// head hold only messages of the height in progress. A restart replays
	// from that marker, so wal.002 must stay whatever the byte budget.
	writeWAL(t, filepath.Join(dir, "wal.000"), filler(t, 1000), endHeight(t, 1))
	writeWAL(t, filepath.Join(dir, "wal.001"), filler(t, 1000), endHeight(t, 2))
	writeWAL(t, filepath.Join(dir, "wal.002"), endHeight(t, 3), filler(t, 1000))
	writeWAL(t, filepath.Join(dir, "wal.003"), filler(t, 1000))
	writeWAL(t, filepath.Join(dir, "wal.004"), filler(t, 1000))
	writeWAL(t, head, filler(t, 1000))
	removed, _, err := pruneWAL(head, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{"wal.001", "wal.000"}) {
		t.Fatalf("removed %v, want wal.001 and wal.000", removed)
	}
}

func TestPruneWALWithoutAMarkerKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	head := filepath.Join(dir, "wal")
	// A marker after a damaged record does not count: the reader stops at
	// the damage, as CometBFT's replay would.
	bad := endHeight(t, 1)
	bad[len(bad)-1] ^= 1
	writeWAL(t, filepath.Join(dir, "wal.000"), filler(t, 1000), bad, endHeight(t, 2))
	writeWAL(t, filepath.Join(dir, "wal.001"), filler(t, 1000))
	writeWAL(t, head, filler(t, 1000))
	removed, _, err := pruneWAL(head, 10)
	if err != nil || len(removed) != 0 {
		t.Fatalf("removed %v, %v; want nothing", removed, err)
	}
	if ok, err := walHasEndHeight(filepath.Join(dir, "wal.000")); ok || err != nil {
		t.Fatalf("marker after a damaged record found: %v, %v", ok, err)
	}
}

func TestWALHasEndHeightOnHostileBytes(t *testing.T) {
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"empty":    nil,
		"huge":     {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
		"torn":     endHeight(t, 5)[:6],
		"not-prot": append(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, crc32.Checksum([]byte{0xff, 0xff}, walCRC)), 2), 0xff, 0xff),
	} {
		p := filepath.Join(dir, name)
		writeWAL(t, p, b)
		if ok, err := walHasEndHeight(p); ok || err != nil {
			t.Errorf("%s: found %v, %v", name, ok, err)
		}
	}
}
