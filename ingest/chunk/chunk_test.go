package chunk

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/ingest/frame"
)

const ms = int64(time.Millisecond)

// fr makes frame seq with source time t (ns) and a payload naming both.
func fr(seq uint64, t int64) frame.Frame {
	return frame.Frame{Seq: seq, Time: t, Payload: []byte(fmt.Sprintf("msg %d at %d", seq, t))}
}

// stream makes frames 0..n-1, one every step ns.
func stream(n int, step int64) []frame.Frame {
	fs := make([]frame.Frame, n)
	for i := range fs {
		fs[i] = fr(uint64(i), int64(i)*step)
	}
	return fs
}

func newChunker(t *testing.T, p Policy) *Chunker {
	t.Helper()
	c, err := New("test-stream", p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// feed adds frames and collects every chunk, failing on unexpected errors.
func feed(t *testing.T, c *Chunker, fs []frame.Frame) []Chunk {
	t.Helper()
	var out []Chunk
	for _, f := range fs {
		ch, err := c.Add(f)
		if err != nil {
			t.Fatalf("add seq %d: %v", f.Seq, err)
		}
		out = append(out, ch...)
	}
	return out
}

// want digest of the frames with the given seqs, computed directly.
func wantDigest(t *testing.T, index uint64, fs []frame.Frame) digest.Digest {
	t.Helper()
	var msgs []digest.Message
	for _, f := range fs {
		msgs = append(msgs, digest.Message{Seq: f.Seq, Data: f.Payload})
	}
	d, err := digest.Compute("test-stream", index, msgs)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func describe(cs []Chunk) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "[%d..%d %s n=%d seq %d..%d %s] ", c.Index, c.LastIndex, c.Status, c.Count, c.FirstSeq, c.LastSeq, c.Reason)
	}
	return b.String()
}

func expect(t *testing.T, got []Chunk, want ...string) {
	t.Helper()
	var g []string
	for _, c := range got {
		s := fmt.Sprintf("%d:%s", c.Index, c.Status)
		if c.LastIndex != c.Index {
			s = fmt.Sprintf("%d-%d:%s", c.Index, c.LastIndex, c.Status)
		}
		g = append(g, s)
	}
	if strings.Join(g, " ") != strings.Join(want, " ") {
		t.Fatalf("chunks %v, want %v\n%s", g, want, describe(got))
	}
	for _, c := range got {
		if c.Status == Complete {
			if err := c.Verify(); err != nil {
				t.Fatal(err)
			}
		} else if !c.Digest.IsZero() || c.Frames != nil || c.Reason == "" {
			t.Fatalf("non-complete chunk %d has a digest or frames, or no reason: %s", c.Index, describe([]Chunk{c}))
		}
	}
}

func TestSeqPolicy(t *testing.T) {
	fs := stream(250, 10*ms)
	c := newChunker(t, EverySeq(100))
	got := feed(t, c, fs)
	expect(t, got, "0:complete", "1:complete")
	for i, ch := range got {
		if ch.Digest != wantDigest(t, uint64(i), fs[i*100:i*100+100]) {
			t.Fatalf("chunk %d digest", i)
		}
		if ch.Count != 100 || ch.FirstSeq != uint64(i*100) || ch.LastSeq != uint64(i*100+99) || ch.FirstTime != fs[i*100].Time {
			t.Fatalf("chunk %d fields: %s", i, describe(got[i:i+1]))
		}
	}
	end := c.End(250)
	expect(t, end, "2:complete")
	if end[0].Count != 50 || end[0].Digest != wantDigest(t, 2, fs[200:]) {
		t.Fatalf("last chunk: %s", describe(end))
	}
	if _, err := c.Add(fr(250, 0)); !errors.Is(err, ErrEnded) {
		t.Fatalf("frame after end: %v", err)
	}
}

func TestSeqReorderAndDuplicates(t *testing.T) {
	fs := stream(300, ms)
	ref := feed(t, newChunker(t, EverySeq(100)), fs)

	// Shuffle inside each chunk and repeat some frames identically.
	rng := rand.New(rand.NewPCG(1, 2))
	var mixed []frame.Frame
	for i := 0; i < 300; i += 100 {
		part := append([]frame.Frame(nil), fs[i:i+100]...)
		rng.Shuffle(len(part), func(a, b int) { part[a], part[b] = part[b], part[a] })
		for j, f := range part {
			mixed = append(mixed, f)
			if j%7 == 3 {
				mixed = append(mixed, f)
			}
		}
	}
	c := newChunker(t, EverySeq(100))
	var got []Chunk
	for _, f := range mixed {
		ch, err := c.Add(f)
		if err != nil && !errors.Is(err, ErrLate) {
			t.Fatal(err)
		}
		got = append(got, ch...)
	}
	expect(t, got, "0:complete", "1:complete", "2:complete")
	for i := range got {
		if got[i].Digest != ref[i].Digest {
			t.Fatalf("chunk %d: reordering changed the digest", i)
		}
	}
	if c.Stats().Duplicates == 0 {
		t.Fatal("duplicates not counted")
	}

	// A repeat with different content flags the chunk.
	c = newChunker(t, EverySeq(10))
	feed(t, c, fs[:5])
	bad := fs[3]
	bad.Payload = []byte("tampered")
	if _, err := c.Add(bad); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflicting repeat: %v", err)
	}
	expect(t, feed(t, c, fs[5:10]), "0:conflict")

	// A frame for a chunk already reported is late.
	if _, err := c.Add(fs[2]); !errors.Is(err, ErrLate) {
		t.Fatalf("late frame: %v", err)
	}
	if c.Stats().Late != 1 || c.Stats().Conflicts != 1 {
		t.Fatalf("stats %+v", c.Stats())
	}
}

func TestSeqGaps(t *testing.T) {
	fs := stream(600, ms)
	// Frames skipped without a gap report: the chunk closes as a gap
	// when the next chunk starts.
	c := newChunker(t, EverySeq(100))
	got := feed(t, c, append(append([]frame.Frame{}, fs[:100]...), fs[105:300]...))
	expect(t, got, "0:complete", "1:gap", "2:complete")
	if got[1].Count != 95 || !strings.Contains(got[1].Reason, "95 of 100") {
		t.Fatalf("gap chunk: %s", describe(got[1:2]))
	}

	// A reported gap settles chunks at once: the open one, the wholly
	// lost ones as one Missing range, and the partly lost one as soon as
	// its last frame arrives.
	c = newChunker(t, EverySeq(100))
	expect(t, feed(t, c, fs[:50]))
	expect(t, c.Gap(50, 349), "0:gap", "1-2:missing")
	expect(t, feed(t, c, fs[350:400]), "3:gap")
	expect(t, feed(t, c, fs[400:500]), "4:complete")
	if c.Next() != 500 {
		t.Fatalf("next %d", c.Next())
	}
	// Frames the gap declared lost are late if they turn up.
	if _, err := c.Add(fs[120]); !errors.Is(err, ErrLate) {
		t.Fatalf("frame inside a reported gap: %v", err)
	}

	// Whole chunks skipped between two frames are reported missing.
	c = newChunker(t, EverySeq(10))
	got = feed(t, c, append(append([]frame.Frame{}, fs[:10]...), fs[55:70]...))
	expect(t, got, "0:complete", "1-4:missing", "5:gap", "6:complete")
	expect(t, c.End(70))
}

func TestSeqEnd(t *testing.T) {
	fs := stream(100, ms)
	c := newChunker(t, EverySeq(30))
	expect(t, feed(t, c, fs[:95]), "0:complete", "1:complete", "2:complete")
	expect(t, c.End(100), "3:gap") // seqs 95..99 never came
	c = newChunker(t, EverySeq(30))
	feed(t, c, fs[:20])
	expect(t, c.End(200), "0:gap", "1-6:missing")
}

func TestOverflow(t *testing.T) {
	fs := stream(40, ms)
	p := EverySeq(20)
	p.MaxBytes = 100 // about 7 payloads
	c := newChunker(t, p)
	got := feed(t, c, fs)
	expect(t, got, "0:overflow", "1:overflow")
	if got[0].Count != 20 || !strings.Contains(got[0].Reason, "limits") {
		t.Fatalf("overflow chunk: %s", describe(got))
	}

	// Under the time policy the message limit counts too.
	p = EveryWindow(time.Second)
	p.MaxMessages = 5
	c = newChunker(t, p)
	got = feed(t, c, stream(25, 100*ms)) // 10 per window
	expect(t, got, "0:overflow", "1:overflow")
	if got[0].Count != 10 {
		t.Fatalf("count %d", got[0].Count)
	}
	for _, f := range stream(25, 100*ms)[20:25] {
		if _, err := c.Add(f); err != nil { // duplicates beyond the stored headers
			t.Fatal(err)
		}
	}
}

func TestTimePolicy(t *testing.T) {
	fs := stream(35, 100*ms) // 10 frames per 1 s window
	c := newChunker(t, EveryWindow(time.Second))
	got := feed(t, c, fs)
	expect(t, got, "0:complete", "1:complete", "2:complete") // window 3 stays open
	for i, ch := range got {
		if ch.Digest != wantDigest(t, uint64(i), fs[i*10:i*10+10]) {
			t.Fatalf("window %d digest", i)
		}
	}
	expect(t, c.End(35), "3:complete")

	// Empty windows produce no chunk, and are not gaps.
	c = newChunker(t, EveryWindow(time.Second))
	sparse := []frame.Frame{fr(0, 0), fr(1, 500*ms), fr(2, 3500*ms), fr(3, 3600*ms), fr(4, 9000*ms)}
	expect(t, feed(t, c, sparse), "0:complete", "3:complete")
	expect(t, c.End(5), "9:complete")
}

func TestTimeStartAndHoles(t *testing.T) {
	fs := stream(60, 100*ms)
	// Starting mid-stream: the first window's start is unknown.
	c := newChunker(t, EveryWindow(time.Second))
	expect(t, feed(t, c, fs[15:40]), "1:gap", "2:complete")

	// A hole inside window 2 (seqs 25..27): window 2 is a gap; frames 28
	// and 29 belong to it and are dropped as late; window 3 is whole
	// because frame 29 bounds the lost ones.
	c = newChunker(t, EveryWindow(time.Second))
	var got []Chunk
	late := 0
	for _, f := range append(append([]frame.Frame{}, fs[:25]...), fs[28:50]...) {
		ch, err := c.Add(f)
		if errors.Is(err, ErrLate) {
			late++
		} else if err != nil {
			t.Fatal(err)
		}
		got = append(got, ch...)
	}
	expect(t, got, "0:complete", "1:complete", "2:gap", "3:complete")
	if late != 2 {
		t.Fatalf("%d late frames, want 2", late)
	}

	// A hole across a boundary (seqs 18..33): windows 1 and 3 are gaps,
	// window 2 (wholly inside) is missing, window 4 is whole.
	c = newChunker(t, EveryWindow(time.Second))
	got = feed(t, c, append(append([]frame.Frame{}, fs[:18]...), fs[34:51]...))
	expect(t, got, "0:complete", "1:gap", "2:missing", "3:gap", "4:complete")

	// The same hole reported by the observer: window 1 closes at once.
	c = newChunker(t, EveryWindow(time.Second))
	feed(t, c, fs[:18])
	expect(t, c.Gap(18, 33), "1:gap")
	expect(t, feed(t, c, fs[34:51]), "2:missing", "3:gap", "4:complete")
}

func TestTimeBackwards(t *testing.T) {
	c := newChunker(t, EveryWindow(time.Second))
	feed(t, c, []frame.Frame{fr(0, 0), fr(1, 1100*ms), fr(2, 1200*ms)})
	if _, err := c.Add(fr(3, 900*ms)); !errors.Is(err, ErrBadTime) {
		t.Fatalf("backwards time: %v", err)
	}
	got := feed(t, c, []frame.Frame{fr(4, 2100*ms)})
	expect(t, got, "1:invalid")
	if _, err := c.Add(fr(5, -1)); !errors.Is(err, ErrBadTime) {
		t.Fatalf("negative time: %v", err)
	}
	expect(t, c.End(6), "2:invalid")
}

func TestResume(t *testing.T) {
	fs := stream(50, 100*ms)
	c := newChunker(t, EveryWindow(time.Second))
	if err := c.ResumeAfter(1, 19); err != nil {
		t.Fatal(err)
	}
	expect(t, feed(t, c, fs[20:35]), "2:complete")
	c = newChunker(t, EverySeq(10))
	if err := c.ResumeAfter(1, 15); err == nil {
		t.Fatal("seq 15 is not the end of chunk 1 under seq:10, yet accepted")
	}
	c.ResumeAfter(1, 19)
	if _, err := c.Add(fs[12]); !errors.Is(err, ErrLate) {
		t.Fatalf("frame before the resume point: %v", err)
	}
	expect(t, feed(t, c, fs[20:30]), "2:complete")
	if err := c.ResumeAfter(5, 59); err == nil {
		t.Fatal("resume after frames accepted")
	}
}

// TestNeverAWrongDigest perturbs a stream in many ways (dropped frames,
// repeats, local reordering, reported gaps, late starts) and checks the
// safety rule: every Complete chunk, under either policy, has exactly the
// digest a node that saw everything computes; each index is reported at
// most once and in increasing order.
func TestNeverAWrongDigest(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	// Irregular but non-decreasing source times.
	full := make([]frame.Frame, 400)
	tm := int64(0)
	for i := range full {
		tm += rng.Int64N(300) * ms
		full[i] = fr(uint64(i), tm)
	}
	for _, p := range []Policy{EverySeq(1), EverySeq(7), EverySeq(50), EveryWindow(time.Second), EveryWindow(3 * time.Second)} {
		ref := map[uint64]digest.Digest{}
		clean := newChunker(t, p)
		all := append(feed(t, clean, full), clean.End(uint64(len(full)))...)
		for _, ch := range all {
			if ch.Status != Complete {
				t.Fatalf("%s: clean run gave %s", p, describe([]Chunk{ch}))
			}
			ref[ch.Index] = ch.Digest
		}
		completes := 0
		for trial := range 300 {
			c := newChunker(t, p)
			start := 0
			if trial%4 == 1 {
				start = rng.IntN(100)
			}
			var out []Chunk
			for i := start; i < len(full); i++ {
				switch r := rng.IntN(100); {
				case r < 4: // drop
					continue
				case r < 6: // drop a run, sometimes reported
					n := 1 + rng.IntN(30)
					if rng.IntN(2) == 0 {
						out = append(out, c.Gap(uint64(i), uint64(i+n-1))...)
					}
					i += n - 1
					continue
				case r < 9: // repeat
					ch, _ := c.Add(full[i])
					out = append(out, ch...)
				case r < 12 && i+1 < len(full): // swap with the next
					for _, f := range []frame.Frame{full[i+1], full[i]} {
						ch, _ := c.Add(f)
						out = append(out, ch...)
					}
					i++
					continue
				}
				ch, _ := c.Add(full[i])
				out = append(out, ch...)
			}
			out = append(out, c.End(uint64(len(full)))...)
			next := uint64(0)
			for k, ch := range out {
				if k > 0 && ch.Index < next {
					t.Fatalf("%s trial %d: index %d reported after %d\n%s", p, trial, ch.Index, next-1, describe(out))
				}
				next = ch.LastIndex + 1
				if ch.Status == Complete {
					completes++
					if want, ok := ref[ch.Index]; !ok || want != ch.Digest {
						t.Fatalf("%s trial %d: chunk %d is Complete with a wrong digest\n%s", p, trial, ch.Index, describe(out))
					}
					if err := ch.Verify(); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if completes == 0 {
			t.Fatalf("%s: no chunk ever completed", p)
		}
	}
}

func TestPolicy(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{{"seq:100", "seq:100"}, {"time:1500ms", "time:1500ms"}, {" time:2s", "time:2000ms"}, {"seq:1", "seq:1"}} {
		p, err := ParsePolicy(c.in)
		if err != nil || p.String() != c.want {
			t.Errorf("ParsePolicy(%q) = %v, %v; want %s", c.in, p, err, c.want)
		}
	}
	for _, bad := range []string{"", "seq", "seq:0", "seq:-1", "seq:x", "seq:100000000", "time:0s", "time:1.5ms", "time:25h", "every:5"} {
		if _, err := ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
	}
	if _, err := New("", EverySeq(1)); err == nil {
		t.Error("empty stream id accepted")
	}
	if _, err := New(strings.Repeat("s", MaxStreamLen+1), EverySeq(1)); err == nil {
		t.Error("long stream id accepted")
	}
	if _, err := New("s", Policy{Mode: BySeq, Messages: 10, MaxBytes: HardMaxBytes + 1}); err == nil {
		t.Error("huge byte limit accepted")
	}
	var s Status
	if err := s.UnmarshalText([]byte("gap")); err != nil || s != Gap {
		t.Error("status text")
	}
}

func benchChunker(b *testing.B, p Policy) {
	payload := make([]byte, 1024)
	c, _ := New("bench", p)
	b.SetBytes(int64(len(payload)))
	seq := uint64(0)
	for b.Loop() {
		if _, err := c.Add(frame.Frame{Seq: seq, Time: int64(seq) * ms, Payload: payload}); err != nil {
			b.Fatal(err)
		}
		seq++
	}
}

// BenchmarkChunkerSeq measures chunking and digesting 1 KiB messages,
// 1000 per chunk.
func BenchmarkChunkerSeq(b *testing.B) { benchChunker(b, EverySeq(1000)) }

// BenchmarkChunkerTime does the same with 1 s source-time windows (1000
// messages each).
func BenchmarkChunkerTime(b *testing.B) { benchChunker(b, EveryWindow(time.Second)) }

// FuzzChunker drives the chunker with operations chosen by the fuzzer
// (frames of a fixed stream in any order, repeats, tampered repeats, gap
// reports, an end) and checks it never panics, never reports an index
// twice or backwards, and never calls a chunk Complete with a digest other
// than the one a node that saw everything in order computes.
func FuzzChunker(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(0))
	f.Add([]byte{0, 1, 2, 200, 7, 8, 130, 9, 3, 255}, uint8(3))
	f.Add([]byte{10, 9, 8, 7, 140, 141, 1, 2}, uint8(1))
	full := make([]frame.Frame, 64)
	for i := range full {
		full[i] = fr(uint64(i), int64(i/3)*250*ms) // 3 frames per 250 ms step: windows of 4 or more
	}
	policies := []Policy{EverySeq(1), EverySeq(4), EverySeq(10), EveryWindow(time.Second), EveryWindow(700 * time.Millisecond)}
	refs := make([]map[uint64]digest.Digest, len(policies))
	for i, p := range policies {
		c, _ := New("test-stream", p)
		refs[i] = map[uint64]digest.Digest{}
		for _, fm := range full {
			cs, _ := c.Add(fm)
			for _, ch := range cs {
				refs[i][ch.Index] = ch.Digest
			}
		}
		for _, ch := range c.End(uint64(len(full))) {
			refs[i][ch.Index] = ch.Digest
		}
	}
	f.Fuzz(func(t *testing.T, ops []byte, pol uint8) {
		pi := int(pol) % len(policies)
		c, _ := New("test-stream", policies[pi])
		var out []Chunk
		tampered := map[uint64]bool{} // seqs also sent with other content
		for _, op := range ops {
			k := int(op&63) % len(full)
			switch op >> 6 {
			case 0, 1:
				cs, _ := c.Add(full[k])
				out = append(out, cs...)
			case 2:
				out = append(out, c.Gap(uint64(k), uint64(k+int(op&7)))...)
			case 3:
				if op&1 == 0 {
					tampered[uint64(k)] = true
					bad := full[k]
					bad.Payload = []byte("tampered")
					cs, _ := c.Add(bad)
					out = append(out, cs...)
				} else {
					out = append(out, c.End(uint64(len(full)))...)
				}
			}
		}
		next := uint64(0)
		for i, ch := range out {
			if i > 0 && ch.Index < next {
				t.Fatalf("index %d reported after %d: %s", ch.Index, next-1, describe(out))
			}
			next = ch.LastIndex + 1
			if ch.Status != Complete {
				continue
			}
			if err := ch.Verify(); err != nil {
				t.Fatal(err)
			}
			// A chunk holding a tampered version it never saw contradicted
			// is indistinguishable from the source's; all others must match.
			honest := true
			for s := ch.FirstSeq; s <= ch.LastSeq; s++ {
				honest = honest && !tampered[s]
			}
			if want, ok := refs[pi][ch.Index]; honest && (!ok || want != ch.Digest) {
				t.Fatalf("chunk %d Complete with a wrong digest: %s", ch.Index, describe(out))
			}
		}
	})
}
