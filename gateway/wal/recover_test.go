package wal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// copyDir copies the files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	des, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, de.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// recoversTo opens dir, checks it holds exactly want, appends one message and
// checks it gets the next seq, also after a reopen. If lastFile is not empty,
// Open must have cut that file to lastSize bytes.
func recoversTo(t *testing.T, dir string, opt Options, want model, lastFile string, lastSize int) {
	t.Helper()
	l := openLog(t, dir, opt)
	checkLog(t, l, want)
	if lastFile != "" {
		st, err := os.Stat(filepath.Join(dir, lastFile))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != int64(lastSize) {
			t.Fatalf("after recovery %s is %d bytes, want %d", lastFile, st.Size(), lastSize)
		}
	}
	want = append(model(nil), want...)
	mustAppend(t, l, &want, false, []byte("after recovery"))
	checkLog(t, l, want)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, opt)
	checkLog(t, l, want)
	l.Close()
}

// TestTornTail simulates crashes during the last write: the last record of
// the last segment cut at every byte (what a killed process leaves), or
// zeros from the record's start or from any sector boundary inside it (what
// a power cut leaves). Recovery must give back exactly the messages before
// it, say what it cut, and appends must go on from there.
func TestTornTail(t *testing.T) {
	for _, marker := range []bool{false, true} {
		name := "data"
		if marker {
			name = "marker"
		}
		t.Run(name, func(t *testing.T) {
			base, last, full, start, m, durable := lastRecordLog(t, marker)
			opt := Options{SegmentBytes: 4000, NoSync: true}
			dir := copyDir(t, base)
			damage := func(b []byte) { resetLog(t, base, dir, last, b) }
			check := func(what string, want model, size int) {
				t.Helper()
				l := openLog(t, dir, opt)
				reps := l.Repairs()
				l.Close()
				if size == len(full) {
					if len(reps) != 0 {
						t.Fatalf("%s: repairs %v of an intact log", what, reps)
					}
				} else if len(reps) != 1 || reps[0].File != filepath.Join(dir, last) || reps[0].Offset != int64(start) || reps[0].Reason == "" {
					t.Fatalf("%s: repairs %v; want one cut of %s at byte %d", what, reps, last, start)
				}
				recoversTo(t, dir, opt, want, last, size)
			}
			for cut := start; cut <= len(full); cut++ {
				damage(full[:cut:cut])
				want, size := durable, start
				if cut == len(full) {
					want, size = m, len(full)
				}
				if cut == start {
					// Nothing of the record is there: nothing to cut.
					l := openLog(t, dir, opt)
					if reps := l.Repairs(); len(reps) != 0 {
						t.Fatalf("repairs %v of a log that ends on a record boundary", reps)
					}
					l.Close()
					recoversTo(t, dir, opt, want, last, size)
					continue
				}
				check(fmt.Sprintf("cut at %d", cut), want, size)
			}
			sectors := 0
			for s := start; s < len(full); s++ {
				if s != start && s%tornSector != 0 {
					continue
				}
				sectors++
				b := bytes.Clone(full)
				clear(b[s:])
				damage(append(b, make([]byte, 100)...))
				check(fmt.Sprintf("zeros from %d", s), durable, start)
			}
			if !marker && sectors < 3 {
				t.Fatalf("the last record spans %d sector boundaries; want at least 2", sectors-1)
			}
		})
	}
}

// lastRecordLog writes a log of several segments whose last record is a
// message of 1,300 bytes (so that it spans sector boundaries), or an end
// marker after it. It returns the log's directory, the last segment's name
// and bytes, where its last record starts, every message, and the messages
// as they are without the last record.
func lastRecordLog(t *testing.T, marker bool) (base, last string, full []byte, start int, m, durable model) {
	t.Helper()
	base = t.TempDir()
	l := openLog(t, base, Options{SegmentBytes: 4000, NoSync: true})
	fillLog(t, l, &m, 150)
	mustAppend(t, l, &m, false, content(999, 1300))
	recLen := recOverhead + 1300
	if marker {
		if err := l.MarkEnd(); err != nil {
			t.Fatal(err)
		}
		m[len(m)-1].End = true
		recLen = recOverhead
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	names := segFiles(t, base)
	if len(names) < 3 {
		t.Fatalf("%d segments; want several", len(names))
	}
	last = filepath.Base(names[len(names)-1])
	full, err := os.ReadFile(names[len(names)-1])
	if err != nil {
		t.Fatal(err)
	}
	start = len(full) - recLen
	durable = append(model(nil), m...)
	if marker {
		durable[len(durable)-1].End = false
	} else {
		durable = durable[:len(durable)-1]
	}
	return base, last, full, start, m, durable
}

// resetLog makes dir a copy of the log in base whose last segment holds b.
// Recovery and the appends after it touch only the last segment and new
// ones, so one copy of the log serves many cases.
func resetLog(t *testing.T, base, dir, last string, b []byte) {
	t.Helper()
	orig := segFiles(t, base)
	for _, n := range segFiles(t, dir) {
		if !slices.Contains(orig, filepath.Join(base, filepath.Base(n))) {
			os.Remove(n)
		}
	}
	writeFile(t, filepath.Join(dir, last), b)
}

// TestLastRecordBitFlips flips one bit in every byte of the last record of
// the last segment. The record is whole, so no crash made it: it may be an
// acknowledged message. Open must refuse, naming the file and the record's
// byte, and leave the file as it was.
func TestLastRecordBitFlips(t *testing.T) {
	for _, marker := range []bool{false, true} {
		name := "data"
		if marker {
			name = "marker"
		}
		t.Run(name, func(t *testing.T) {
			base, last, full, start, _, durable := lastRecordLog(t, marker)
			opt := Options{SegmentBytes: 4000, NoSync: true}
			dir := copyDir(t, base)
			path := filepath.Join(dir, last)
			flips := 0
			for i := start; i < len(full); i++ {
				b := bytes.Clone(full)
				b[i] ^= 1 << (i % 8)
				resetLog(t, base, dir, last, b)
				l, err := Open(dir, opt)
				if err == nil {
					l.Close()
					t.Fatalf("Open succeeded with bit %d of byte %d (record byte %d) flipped", i%8, i, i-start)
				}
				match := corruptAt.FindStringSubmatch(err.Error())
				if match == nil || match[1] != path || match[2] != strconv.Itoa(start) {
					t.Fatalf("flip at byte %d: Open: %v; want %s is corrupt at byte %d", i, err, path, start)
				}
				if got, _ := os.ReadFile(path); !bytes.Equal(got, b) {
					t.Fatalf("flip at byte %d: Open changed the damaged file", i)
				}
				flips++
			}
			if flips != len(full)-start {
				t.Fatalf("%d flips delivered, want %d", flips, len(full)-start)
			}
			// The advice in the error gives back the messages before it.
			if err := os.Truncate(path, int64(start)); err != nil {
				t.Fatal(err)
			}
			recoversTo(t, dir, opt, durable, last, start)
		})
	}
}

// TestTornSegmentCreation simulates a crash while a new segment file was
// being created: the file is there but its header is not whole.
func TestTornSegmentCreation(t *testing.T) {
	base := t.TempDir()
	opt := Options{SegmentBytes: 400, NoSync: true}
	l := openLog(t, base, opt)
	var m model
	fillLog(t, l, &m, 30)
	l.Close()
	next, off := m.next()
	header := appendSegHeader(nil, segHeader{first: next, offset: off})
	for _, torn := range [][]byte{{}, header[:10], header[:segHeaderSize-1], make([]byte, segHeaderSize)} {
		dir := copyDir(t, base)
		path := filepath.Join(dir, segName(next))
		writeFile(t, path, torn)
		l := openLog(t, dir, opt)
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("the torn segment is still there after Open (%v)", err)
		}
		l.Close()
		recoversTo(t, dir, opt, m, "", 0)
	}

	// A log whose very first segment was being created.
	for _, torn := range [][]byte{{}, header[:5]} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, segName(0)), torn)
		recoversTo(t, dir, opt, nil, segName(0), segHeaderSize)
	}
	// The only segment, torn, after earlier ones were released: its offset is
	// lost, and Open says so.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, segName(5)), header[:5])
	if l, err := Open(dir, opt); err == nil {
		l.Close()
		t.Fatal("Open of a log whose only segment is torn succeeded")
	}
}

var corruptAt = regexp.MustCompile(`(\S+\.wal) is corrupt at byte (\d+)`)

// TestCorruption damages segments where a crash cannot: Open must refuse,
// name the file and the byte, and following its advice must give a log that
// opens with the messages before that point.
func TestCorruption(t *testing.T) {
	base := t.TempDir()
	opt := Options{SegmentBytes: 400, NoSync: true}
	l := openLog(t, base, opt)
	var m model
	fillLog(t, l, &m, 60)
	l.Close()
	names := segFiles(t, base)
	if len(names) < 6 {
		t.Fatalf("%d segments; want several", len(names))
	}
	seg := func(dir string, i int) string { return filepath.Join(dir, filepath.Base(names[i])) }
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name   string
		damage func(dir string)
		file   int // the segment the error must name
		msg    string
	}{
		{"flipped data byte", func(dir string) {
			b := read(seg(dir, 0))
			b[len(b)-10] ^= 1
			writeFile(t, seg(dir, 0), b)
		}, 0, "checksum"},
		{"flipped header byte", func(dir string) {
			b := read(seg(dir, 1))
			b[20] ^= 1
			writeFile(t, seg(dir, 1), b)
		}, 1, "checksum"},
		{"torn record", func(dir string) {
			b := read(seg(dir, 2))
			writeFile(t, seg(dir, 2), b[:len(b)-5])
		}, 2, "cut short"},
		{"zeroed tail", func(dir string) {
			b := read(seg(dir, 0))
			clear(b[len(b)-40:])
			writeFile(t, seg(dir, 0), b)
		}, 0, ""},
		{"missing segment", func(dir string) {
			os.Remove(seg(dir, 2))
		}, 3, "not contiguous"},
		{"damaged header of the last segment", func(dir string) {
			b := read(seg(dir, len(names)-1))
			b[3] ^= 1
			writeFile(t, seg(dir, len(names)-1), b)
		}, len(names) - 1, "magic"},
		{"renamed segment", func(dir string) {
			os.Rename(seg(dir, len(names)-1), filepath.Join(dir, segName(1000)))
		}, -1, "file name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, base)
			c.damage(dir)
			l, err := Open(dir, opt)
			if err == nil {
				l.Close()
				t.Fatal("Open of a corrupt log succeeded")
			}
			t.Log(err)
			want := filepath.Join(dir, segName(1000))
			if c.file >= 0 {
				want = seg(dir, c.file)
			}
			match := corruptAt.FindStringSubmatch(err.Error())
			if match == nil || match[1] != want {
				t.Fatalf("Open: %v; want it to say %s is corrupt at some byte", err, want)
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "truncate the file to "+match[2]+" bytes") {
				t.Fatalf("Open: %v; want %q and advice", err, c.msg)
			}
			if c.file < 0 {
				return
			}
			// Follow the advice.
			pos, _ := strconv.ParseInt(match[2], 10, 64)
			if err := os.Truncate(want, pos); err != nil {
				t.Fatal(err)
			}
			for _, later := range names[c.file+1:] {
				os.Remove(filepath.Join(dir, filepath.Base(later)))
			}
			l = openLog(t, dir, opt)
			defer l.Close()
			next, _ := l.Next()
			if next == 0 || next >= uint64(len(m)) {
				t.Fatalf("after following the advice Next = %d", next)
			}
			kept := append(model(nil), m[:next]...)
			got := readAll(t, l, 0, 100, 1<<20)
			if len(got) == len(kept) { // the cut may have taken the last message's end marker
				kept[len(kept)-1].End = got[len(got)-1].End
			}
			sameEntries(t, got, kept)
		})
	}
}

// TestLoweredLimit reopens a log with a MaxMessageBytes below the size of
// messages it holds: Open must say so, not cut the log, even in the last
// segment.
func TestLoweredLimit(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{NoSync: true})
	var m model
	mustAppend(t, l, &m, false, content(1, 10), content(2, 500), content(3, 10))
	l.Close()
	_, err := Open(dir, Options{MaxMessageBytes: 100, NoSync: true})
	if err == nil || !strings.Contains(err.Error(), "MaxMessageBytes = 100") || !strings.Contains(err.Error(), "at least 500") {
		t.Fatalf("Open with a lowered limit: %v", err)
	}
	l = openLog(t, dir, Options{MaxMessageBytes: 500, NoSync: true})
	defer l.Close()
	checkLog(t, l, m)
}
