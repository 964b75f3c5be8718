package wal

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// model is what a log should hold: every message appended, as Read returns it.
type model []Entry

func (m *model) appendBatch(first uint64, msgs [][]byte, end bool) {
	var off uint64
	if n := len(*m); n > 0 {
		last := (*m)[n-1]
		off = last.Offset + uint64(len(last.Data))
	}
	for i, d := range msgs {
		*m = append(*m, Entry{Seq: first + uint64(i), Offset: off, End: end && i == len(msgs)-1, Data: d})
		off += uint64(len(d))
	}
}

func (m model) next() (uint64, uint64) {
	if len(m) == 0 {
		return 0, 0
	}
	last := m[len(m)-1]
	return last.Seq + 1, last.Offset + uint64(len(last.Data))
}

func openLog(t testing.TB, dir string, opt Options) *Log {
	t.Helper()
	l, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, m *model, end bool, msgs ...[]byte) {
	t.Helper()
	first, err := l.Append(msgs, end)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if want, _ := m.next(); first != want {
		t.Fatalf("Append gave first seq %d, want %d", first, want)
	}
	m.appendBatch(first, msgs, end)
}

// content returns deterministic message bytes of length n.
func content(seed, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(seed), uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readAll reads everything from seq from on, in reads of at most
// maxMessages messages, and checks each read respects its limits.
func readAll(t testing.TB, l *Log, from uint64, maxMessages, maxBytes int) []Entry {
	t.Helper()
	var out []Entry
	next, _ := l.Next()
	for from < next {
		es, err := l.Read(from, maxMessages, maxBytes)
		if err != nil {
			t.Fatalf("Read(%d): %v", from, err)
		}
		if len(es) == 0 {
			t.Fatalf("Read(%d) returned nothing below Next %d", from, next)
		}
		if len(es) > max(maxMessages, 1) {
			t.Fatalf("Read(%d, %d, %d) returned %d messages", from, maxMessages, maxBytes, len(es))
		}
		var bytes int
		for _, e := range es {
			bytes += len(e.Data)
		}
		if len(es) > 1 && bytes > maxBytes {
			t.Fatalf("Read(%d, %d, %d) returned %d bytes in %d messages", from, maxMessages, maxBytes, bytes, len(es))
		}
		out = append(out, es...)
		from += uint64(len(es))
	}
	return out
}

func checkLog(t testing.TB, l *Log, want model) {
	t.Helper()
	wantNext, wantOff := want.next()
	if len(want) > 0 {
		wantNext = want[0].Seq + uint64(len(want))
	}
	if next, off := l.Next(); next != wantNext || off != wantOff {
		t.Fatalf("Next = %d, %d; want %d, %d", next, off, wantNext, wantOff)
	}
	var from uint64
	if len(want) > 0 {
		from = want[0].Seq
	}
	sameEntries(t, readAll(t, l, from, 7, 1000), want)
}

func sameEntries(t testing.TB, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Offset != w.Offset || g.End != w.End || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("entry %d = {seq %d, offset %d, end %v, %d bytes}; want {seq %d, offset %d, end %v, %d bytes} (data equal: %v)",
				i, g.Seq, g.Offset, g.End, len(g.Data), w.Seq, w.Offset, w.End, len(w.Data), bytes.Equal(g.Data, w.Data))
		}
	}
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// fillLog appends messages of varied sizes (some empty, some closing chunks,
// some followed by MarkEnd) in batches until it has n messages.
func fillLog(t testing.TB, l *Log, m *model, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for len(*m) < n {
		batch := make([][]byte, 1+r.IntN(4))
		for i := range batch {
			batch[i] = content(len(*m)+i, r.IntN(120))
		}
		mustAppend(t, l, m, r.IntN(5) == 0, batch...)
		if r.IntN(6) == 0 {
			if err := l.MarkEnd(); err != nil {
				t.Fatalf("MarkEnd: %v", err)
			}
			(*m)[len(*m)-1].End = true
		}
	}
}

func TestRoundTripSegments(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 600}
	l := openLog(t, dir, opt)
	var m model
	checkLog(t, l, m)
	fillLog(t, l, &m, 300)
	if n := len(segFiles(t, dir)); n < 10 {
		t.Fatalf("%d segment files; want a log spread over many", n)
	}
	checkLog(t, l, m)
	sameEntries(t, readAll(t, l, 0, 1, 0), m)            // one at a time
	sameEntries(t, readAll(t, l, 0, 1000, 1<<30), m)     // all at once
	sameEntries(t, readAll(t, l, 123, 50, 500), m[123:]) // from the middle
	if es, err := l.Read(uint64(len(m)), 10, 1000); err != nil || len(es) != 0 {
		t.Fatalf("Read at Next = %d entries, %v; want none", len(es), err)
	}
	if es, err := l.Read(uint64(len(m))+5, 10, 1000); err != nil || len(es) != 0 {
		t.Fatalf("Read past Next = %d entries, %v; want none", len(es), err)
	}
	// A segment holds whole records and stays within SegmentBytes unless it
	// holds a single message.
	for _, name := range segFiles(t, dir) {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > opt.SegmentBytes+recOverhead { // an end marker may follow the last message
			t.Errorf("%s is %d bytes, more than SegmentBytes %d", name, st.Size(), opt.SegmentBytes)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = openLog(t, dir, opt)
	checkLog(t, l, m)
	fillLog(t, l, &m, 400)
	checkLog(t, l, m)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, Options{SegmentBytes: 1 << 20}) // other options read the same log
	defer l.Close()
	checkLog(t, l, m)
}

func TestReadLimits(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{NoSync: true})
	defer l.Close()
	var m model
	mustAppend(t, l, &m, false, content(1, 100), content(2, 100), content(3, 1000), content(4, 10), nil, content(5, 10))
	cases := []struct {
		from             uint64
		maxMsgs, maxByte int
		want             int
	}{
		{0, 10, 1 << 20, 6},
		{0, 2, 1 << 20, 2},
		{0, 10, 200, 2},
		{0, 10, 199, 1},
		{2, 10, 10, 1}, // the first message alone is over the limit: it comes anyway
		{2, 0, 0, 1},
		{3, 10, 10, 2}, // the empty message fits
		{3, 10, 20, 3},
		{5, 10, 0, 1},
		{6, 10, 100, 0},
	}
	for _, c := range cases {
		es, err := l.Read(c.from, c.maxMsgs, c.maxByte)
		if err != nil {
			t.Fatalf("Read(%d, %d, %d): %v", c.from, c.maxMsgs, c.maxByte, err)
		}
		if len(es) != c.want {
			t.Fatalf("Read(%d, %d, %d) gave %d entries, want %d", c.from, c.maxMsgs, c.maxByte, len(es), c.want)
		}
		sameEntries(t, es, m[c.from:c.from+uint64(c.want)])
	}
	// Entries are the caller's: appending to one does not touch the next.
	es, _ := l.Read(0, 2, 1<<20)
	es[0].Data = append(es[0].Data, 0xff)
	es2, _ := l.Read(1, 1, 1<<20)
	sameEntries(t, es[1:], es2)
	sameEntries(t, es2, m[1:2])
}

func TestEndFlags(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 200}
	l := openLog(t, dir, opt)
	var m model
	if err := l.MarkEnd(); err != nil { // no message yet: nothing to mark
		t.Fatal(err)
	}
	mustAppend(t, l, &m, true, []byte("a"), []byte("bb"), []byte("ccc")) // only "ccc" closes a chunk
	if err := l.MarkEnd(); err != nil {                                  // already marked: no marker
		t.Fatal(err)
	}
	mustAppend(t, l, &m, false, []byte("dddd"))
	mustAppend(t, l, &m, false, []byte("eeeee"), content(1, 150)) // the second starts a segment
	checkLog(t, l, m)
	if err := l.MarkEnd(); err != nil {
		t.Fatal(err)
	}
	m[len(m)-1].End = true
	checkLog(t, l, m)
	if err := l.MarkEnd(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, &m, false, []byte("f"))
	mustAppend(t, l, &m, true, []byte("g"))
	checkLog(t, l, m)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Exactly one marker was written: the size of the segments says so.
	var total int64
	for _, name := range segFiles(t, dir) {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		total += st.Size() - segHeaderSize
	}
	var data int64
	for _, e := range m {
		data += recOverhead + int64(len(e.Data))
	}
	if total != data+recOverhead {
		t.Fatalf("records take %d bytes; want %d: %d messages and one end marker", total, data+recOverhead, len(m))
	}

	l = openLog(t, dir, opt)
	defer l.Close()
	checkLog(t, l, m)
	if err := l.MarkEnd(); err != nil { // recovered as marked
		t.Fatal(err)
	}
	mustAppend(t, l, &m, false, []byte("h"))
	if err := l.MarkEnd(); err != nil {
		t.Fatal(err)
	}
	m[len(m)-1].End = true
	checkLog(t, l, m)
}

func TestOversizedMessage(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxMessageBytes: 100})
	defer l.Close()
	var m model
	mustAppend(t, l, &m, false, content(1, 100))
	before, err := os.ReadFile(segFiles(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Append([][]byte{content(2, 10), content(3, 101), content(4, 10)}, true)
	if err == nil || !strings.Contains(err.Error(), "MaxMessageBytes = 100") || !strings.Contains(err.Error(), "101 bytes") {
		t.Fatalf("Append of an oversized message: %v; want an error naming the limit", err)
	}
	after, err := os.ReadFile(segFiles(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("a refused batch changed the segment file")
	}
	checkLog(t, l, m)
	mustAppend(t, l, &m, false, content(5, 10)) // seq 1: nothing was used up
	checkLog(t, l, m)
	if _, err := l.Append(nil, true); err == nil {
		t.Fatal("Append of no messages succeeded")
	}
}

func TestOptions(t *testing.T) {
	for _, opt := range []Options{{MaxMessageBytes: -1}, {MaxMessageBytes: 1<<30 + 1}, {SegmentBytes: -1}, {SegmentBytes: 1<<31 + 1}} {
		if l, err := Open(t.TempDir(), opt); err == nil {
			l.Close()
			t.Errorf("Open with %+v succeeded", opt)
		}
	}
	// Open creates the directory, private to its user.
	dir := filepath.Join(t.TempDir(), "a", "b")
	l := openLog(t, dir, Options{})
	defer l.Close()
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v, want 0700", st.Mode().Perm())
	}
}

func TestLock(t *testing.T) {
	if !dirLocking {
		t.Skip("no directory locking on this platform")
	}
	dir := t.TempDir()
	l := openLog(t, dir, Options{NoSync: true})
	if l2, err := Open(dir, Options{NoSync: true}); err == nil {
		l2.Close()
		t.Fatal("a second Open of an open log succeeded")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v; want an error saying the directory is in use", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, Options{NoSync: true})
	l.Close()
}

func TestClosed(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{NoSync: true})
	var m model
	mustAppend(t, l, &m, false, []byte("x"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append([][]byte{[]byte("y")}, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if err := l.MarkEnd(); !errors.Is(err, ErrClosed) {
		t.Errorf("MarkEnd after Close: %v", err)
	}
	if _, err := l.Read(0, 1, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if err := l.Release(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Release after Close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func TestRelease(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 300, NoSync: true}
	l := openLog(t, dir, opt)
	var m model
	for i := range 60 {
		mustAppend(t, l, &m, i%10 == 9, content(i, 50)) // 78-byte records: 3 per segment
	}
	if n := len(segFiles(t, dir)); n != 20 {
		t.Fatalf("%d segments, want 20", n)
	}
	if err := l.Release(61); err == nil {
		t.Fatal("Release beyond Next succeeded")
	}
	if err := l.Release(25); err != nil { // seqs 24..26 share a segment: it stays
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 12 {
		t.Fatalf("%d segments after Release(25), want 12", n)
	}
	if _, err := os.Stat(filepath.Join(dir, segName(24))); err != nil {
		t.Fatalf("the segment holding seq 25 is gone: %v", err)
	}
	for _, from := range []uint64{0, 23, 24} {
		if _, err := l.Read(from, 10, 1000); !errors.Is(err, ErrReleased) {
			t.Fatalf("Read(%d) below the released point: %v; want ErrReleased", from, err)
		}
	}
	sameEntries(t, readAll(t, l, 25, 4, 1000), m[25:])
	if err := l.Release(10); err != nil { // releasing less: nothing happens
		t.Fatal(err)
	}
	mustAppend(t, l, &m, false, content(100, 50))
	sameEntries(t, readAll(t, l, 25, 4, 1000), m[25:])

	if err := l.Release(61); err != nil { // everything: the active segment stays
		t.Fatal(err)
	}
	if names := segFiles(t, dir); len(names) != 1 || filepath.Base(names[0]) != segName(60) {
		t.Fatalf("segments after releasing everything: %v", names)
	}
	if _, err := l.Read(60, 1, 1); !errors.Is(err, ErrReleased) {
		t.Fatalf("Read(60) after Release(61): %v", err)
	}
	mustAppend(t, l, &m, true, content(101, 50))
	sameEntries(t, readAll(t, l, 61, 4, 1000), m[61:])
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// After a reopen the released point is the first seq kept.
	l = openLog(t, dir, opt)
	defer l.Close()
	if _, err := l.Read(59, 1, 1); !errors.Is(err, ErrReleased) {
		t.Fatalf("Read(59) after reopen: %v", err)
	}
	sameEntries(t, readAll(t, l, 60, 4, 1000), m[60:])
	if next, off := l.Next(); next != 62 || off != m[61].Offset+50 {
		t.Fatalf("Next after reopen = %d, %d", next, off)
	}
	mustAppend(t, l, &m, false, content(102, 50))
	sameEntries(t, readAll(t, l, 60, 4, 1000), m[60:])
}

func TestConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 16 << 10}
	l := openLog(t, dir, opt)
	const writers, calls = 16, 40
	type batch struct {
		first uint64
		msgs  [][]byte
	}
	got := make([][]batch, writers)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() { // reads while appends run: always a contiguous, consistent prefix
		var from, off uint64
		for {
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
			es, err := l.Read(from, 50, 1<<20)
			if err != nil {
				readerDone <- err
				return
			}
			if len(es) == 0 {
				time.Sleep(50 * time.Microsecond)
			}
			for _, e := range es {
				if e.Seq != from || e.Offset != off {
					readerDone <- fmt.Errorf("read seq %d offset %d, want %d, %d", e.Seq, e.Offset, from, off)
					return
				}
				from++
				off += uint64(len(e.Data))
			}
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for c := range calls {
				msgs := make([][]byte, 1+r.IntN(3))
				for i := range msgs {
					msgs[i] = []byte(fmt.Sprintf("w%d c%d m%d %s", w, c, i, strings.Repeat("x", r.IntN(300))))
				}
				first, err := l.Append(msgs, r.IntN(4) == 0)
				if err != nil {
					t.Error(err)
					return
				}
				got[w] = append(got[w], batch{first, msgs})
				if r.IntN(10) == 0 {
					if err := l.MarkEnd(); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}
	next, _ := l.Next()
	data := make([][]byte, next)
	for _, bs := range got {
		for _, b := range bs {
			for i, d := range b.msgs {
				seq := b.first + uint64(i)
				if seq >= next || data[seq] != nil {
					t.Fatalf("seq %d given twice or beyond Next %d", seq, next)
				}
				data[seq] = d
			}
		}
	}
	check := func(l *Log) {
		es := readAll(t, l, 0, 100, 1<<20)
		if uint64(len(es)) != next {
			t.Fatalf("read %d messages, want %d", len(es), next)
		}
		var off uint64
		for i, e := range es {
			if data[i] == nil {
				t.Fatalf("seq %d was given to no Append", i)
			}
			if e.Seq != uint64(i) || e.Offset != off || !bytes.Equal(e.Data, data[i]) {
				t.Fatalf("entry %d: seq %d offset %d %q; want offset %d %q", i, e.Seq, e.Offset, e.Data, off, data[i])
			}
			off += uint64(len(e.Data))
		}
	}
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, opt)
	defer l.Close()
	check(l)
}

// TestGroupCommit shows Appends arriving during an fsync share the next one.
func TestGroupCommit(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	defer l.Close()
	l.beforeSync = func() { time.Sleep(2 * time.Millisecond) } // a slow disk
	const writers, calls = 32, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				if _, err := l.Append([][]byte{[]byte(fmt.Sprintf("w%d c%d", w, c))}, false); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	fsyncs := l.fsyncs.Load()
	t.Logf("%d Appends, %d fsyncs", writers*calls, fsyncs)
	if fsyncs == 0 || fsyncs > writers*calls/4 {
		t.Fatalf("%d Appends took %d fsyncs; want them shared", writers*calls, fsyncs)
	}
	if next, _ := l.Next(); next != writers*calls {
		t.Fatalf("Next = %d, want %d", next, writers*calls)
	}
}
