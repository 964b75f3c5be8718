package rawchunk

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/datadragon/datadragon/ingest/digest"
)

var norm = digest.Normalize{IgnoreField: "type", IgnoreValues: []string{"heartbeat"}, DropFields: []string{"conn"}}

// feed returns n ticker messages as subscriber conn would see them, with a
// heartbeat every 10th message.
func feed(n, conn int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	var out [][]byte
	for i := range n {
		if i%10 == 0 {
			out = append(out, fmt.Appendf(nil, `{"type":"heartbeat","conn":%d}`, conn))
		}
		out = append(out, fmt.Appendf(nil, `{"type":"ticker","conn":%d,"px":%d,"ts":%d}`, conn, r.IntN(1e6), 1_700_000_000_000+int64(i)*7))
	}
	return out
}

func cut(t *testing.T, p Policy, msgs [][]byte) []Chunk {
	t.Helper()
	c, err := New("ticks", p, norm)
	if err != nil {
		t.Fatal(err)
	}
	var out []Chunk
	for _, m := range msgs {
		out = append(out, c.Add(m)...)
	}
	return out
}

func policies() map[string]Policy {
	return map[string]Policy{
		"content":     {Mode: ByContent, Expected: 32},
		"content-max": {Mode: ByContent, Expected: 200, Min: 20, Max: 60},
		"time":        {Mode: ByTime, WindowMS: 100, TimeField: "ts"},
	}
}

func TestLateStartsAgreeAfterLatestStart(t *testing.T) {
	for name, p := range policies() {
		t.Run(name, func(t *testing.T) {
			starts := []int{0, 137, 905, 2101}
			var views [][]Chunk
			for i, s := range starts {
				views = append(views, cut(t, p, feed(6000, i)[s:]))
			}
			ref := views[0]
			for _, ch := range ref {
				if ch.Status != Complete {
					t.Fatalf("reference chunk %s is %s", ch.ID, ch.Status)
				}
				if err := ch.Verify(); err != nil {
					t.Fatal(err)
				}
			}
			last := views[len(views)-1]
			if len(last) < 20 {
				t.Fatalf("latest starter cut only %d chunks", len(last))
			}
			// Every view's chunks are a suffix of the reference.
			for vi, v := range views {
				off := -1
				for i := range ref {
					if ref[i].ID == v[0].ID {
						off = i
					}
				}
				if off < 0 {
					t.Fatalf("view %d's first chunk %s is no chunk of the reference", vi, v[0].ID)
				}
				for i, ch := range v {
					r := ref[off+i]
					if ch.ID != r.ID || ch.Digest != r.Digest || ch.Close != r.Close || ch.Count != r.Count {
						t.Fatalf("view %d chunk %d: %s/%s, reference %s/%s", vi, i, ch.ID, ch.Digest, r.ID, r.Digest)
					}
				}
			}
			// Consecutive chunks link.
			for i := 1; i < len(ref); i++ {
				if ref[i-1].Close != ref[i].ID {
					t.Fatalf("chunk %d closes with %s, chunk %d opens with %s", i-1, ref[i-1].Close, i, ref[i].ID)
				}
			}
			pp := p.WithDefaults()
			for i, ch := range ref {
				// A chunk after a forced cut at Max may be shorter than Min:
				// Min spaces hash boundaries, which a late joiner can see.
				afterForced := i > 0 && ref[i-1].Count == pp.Max
				if ch.Count > pp.Max || (p.Mode == ByContent && ch.Count < pp.Min && !afterForced) {
					t.Fatalf("chunk of %d messages outside [%d, %d]", ch.Count, pp.Min, pp.Max)
				}
			}
		})
	}
}

func TestGapMidChunkThenAgreeFromNextBoundary(t *testing.T) {
	for name, p := range policies() {
		t.Run(name, func(t *testing.T) {
			msgs := feed(6000, 0)
			ref := cut(t, p, msgs)
			c, _ := New("ticks", p, norm)
			var got []Chunk
			const drop, lost = 3000, 25
			for i, m := range msgs {
				if i == drop {
					got = append(got, c.Gap("connection lost")...)
				}
				if i >= drop && i < drop+lost {
					continue
				}
				got = append(got, c.Add(m)...)
			}
			gi := -1
			for i, ch := range got {
				if ch.Status == Gap {
					if gi >= 0 {
						t.Fatal("two gaps for one disconnect")
					}
					gi = i
				}
			}
			if gi < 0 {
				t.Fatal("no gap chunk after a disconnect mid-chunk")
			}
			// Before the gap: identical to the reference; the gap names the
			// chunk that was open; after it, a suffix of the reference.
			for i := 0; i < gi; i++ {
				if got[i].Digest != ref[i].Digest {
					t.Fatalf("chunk %d differs before the gap", i)
				}
			}
			if got[gi].ID != ref[gi].ID || !got[gi].Digest.IsZero() {
				t.Fatalf("gap chunk %s (digest %s), the open chunk was %s", got[gi].ID, got[gi].Digest, ref[gi].ID)
			}
			next := got[gi+1]
			off := -1
			for i := range ref {
				if ref[i].ID == next.ID {
					off = i
				}
			}
			if off <= gi {
				t.Fatalf("first chunk after the gap %s is not a later reference chunk", next.ID)
			}
			for i, ch := range got[gi+1:] {
				if ch.Digest != ref[off+i].Digest {
					t.Fatalf("after the gap, chunk %d disagrees", i)
				}
			}
			// Only hash boundaries (or window changes) resynchronise, so a
			// policy cut mostly by Max takes longer.
			if pp := p.WithDefaults(); pp.Max >= pp.Expected && off > gi+3 {
				t.Errorf("agreement only %d chunks after the gap", off-gi)
			}
		})
	}
}

func TestHeartbeatsAndConnectionFieldsDoNotSplitDigests(t *testing.T) {
	p := Policy{Mode: ByContent, Expected: 16}
	a := cut(t, p, feed(2000, 1))
	var plain [][]byte
	for _, m := range feed(2000, 2) {
		n, ign := norm.Apply(m)
		if !ign {
			plain = append(plain, n)
		}
	}
	b := cut(t, p, plain)
	if len(a) < 50 || len(a) != len(b) {
		t.Fatalf("%d and %d chunks", len(a), len(b))
	}
	for i := range a {
		if a[i].Digest != b[i].Digest {
			t.Fatalf("chunk %d: heartbeats or conn ids changed the digest", i)
		}
	}
	// Without the normalisation the connection field does split them.
	c1, _ := New("ticks", p, digest.Normalize{})
	c2, _ := New("ticks", p, digest.Normalize{})
	var x, y []Chunk
	for i, m := range feed(2000, 1) {
		x = append(x, c1.Add(m)...)
		y = append(y, c2.Add(feed(2000, 2)[i])...)
	}
	for i := range min(len(x), len(y)) {
		if x[i].Digest == y[i].Digest {
			t.Fatal("different connection ids gave one digest without normalisation")
		}
	}
}

func TestRecomputeFromCapturedMessages(t *testing.T) {
	p := Policy{Mode: ByContent, Expected: 16}
	var done []Chunk
	c, _ := New("ticks", p, norm)
	for _, m := range feed(500, 4) {
		if done = append(done, c.Add(m)...); len(done) >= 2 {
			break
		}
	}
	// Capture chunk done[1] as a subscriber would: every message from its
	// opening boundary to the next, heartbeats and connection ids included.
	msgs := feed(500, 4)
	var run [][]byte
	c2, _ := New("ticks", p, norm)
	started := false
	for _, m := range msgs {
		cs := c2.Add(m)
		if len(cs) > 0 && cs[0].ID == done[1].ID {
			break
		}
		if len(cs) > 0 && cs[0].ID == done[0].ID {
			started = true
			run = nil
		}
		if started {
			run = append(run, m)
		}
	}
	d, err := digest.ComputeRaw("ticks", norm, done[1].ID, done[1].Close, run)
	if err != nil {
		t.Fatal(err)
	}
	if d != done[1].Digest {
		t.Fatalf("recomputed %s, the chunker said %s", d, done[1].Digest)
	}
}

func TestOverflowAndBounds(t *testing.T) {
	p := Policy{Mode: ByContent, Expected: 32, MaxBytes: 300}
	cs := cut(t, p, feed(3000, 0))
	over := 0
	for _, ch := range cs {
		if ch.Status == Overflow {
			over++
			if ch.Messages != nil || !ch.Digest.IsZero() {
				t.Fatal("an overflowed chunk kept its payloads or has a digest")
			}
		} else if ch.Bytes > 300 {
			t.Fatalf("complete chunk of %d bytes over the 300-byte bound", ch.Bytes)
		}
	}
	if over == 0 {
		t.Fatal("no chunk overflowed 300 bytes")
	}
	for _, bad := range []Policy{
		{Mode: ByContent},
		{Mode: ByContent, Expected: 10, Min: 11, Max: 10},
		{Mode: ByContent, Expected: 10, Max: HardMaxMessages + 1},
		{Mode: ByContent, Expected: 10, MaxBytes: HardMaxBytes + 1},
		{Mode: ByTime, WindowMS: 100},
		{Mode: ByTime, WindowMS: 100, TimeField: "ts", TimeUnit: "h"},
		{Mode: ByTime, WindowMS: MaxWindowMS + 1, TimeField: "ts"},
		{},
	} {
		if _, err := New("ticks", bad, norm); err == nil {
			t.Errorf("policy %+v accepted", bad)
		}
	}
}

func TestTimeWindowsFollowTheField(t *testing.T) {
	p := Policy{Mode: ByTime, WindowMS: 1000, TimeField: "t", TimeUnit: "s"}
	var msgs [][]byte
	for _, s := range []int{10, 10, 11, 11, 11, 13, 13, 14} {
		msgs = append(msgs, fmt.Appendf(nil, `{"t":%d}`, s))
	}
	cs := cut(t, p, msgs)
	// Unsynced until the first window change (10 → 11); 14 stays open.
	if len(cs) != 2 || cs[0].Count != 3 || cs[1].Count != 2 {
		t.Fatalf("chunks %+v", cs)
	}
	// The first chunk starts at the first window change this chunker saw.
	iso := Policy{Mode: ByTime, WindowMS: 1000, TimeField: "t"}
	cs = cut(t, iso, [][]byte{[]byte(`{"t":"2026-01-01T00:00:00.5Z"}`), []byte(`{"t":"2026-01-01T00:00:01.2Z"}`), []byte(`{"t":"2026-01-01T00:00:01.9Z"}`), []byte(`{"t":"2026-01-01T00:00:02Z"}`)})
	if len(cs) != 1 || cs[0].Count != 2 {
		t.Fatalf("RFC 3339 windows: %+v", cs)
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy("content:64")
	if err != nil || p.Expected != 64 || p.WithDefaults().Min != 16 || p.WithDefaults().Max != 512 {
		t.Fatalf("%+v %v", p, err)
	}
	p, err = ParsePolicy("time:1s:ts")
	if err != nil || p.WindowMS != 1000 || p.TimeField != "ts" {
		t.Fatalf("%+v %v", p, err)
	}
	for _, s := range []string{"", "content", "content:x", "content:0", "time:1s", "time:1.5ms:ts", "seq:10"} {
		if _, err := ParsePolicy(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{"content:64", "time:1s:ts", "time:0s:x", "content:-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePolicy(s)
		if err == nil {
			if _, err := New("s", p, digest.Normalize{}); err != nil {
				t.Fatalf("%q parsed but New refused: %v", s, err)
			}
		}
	})
}

// FuzzChunker feeds arbitrary messages and gaps: no panic, every complete
// chunk verifies, links hold and bounds are kept.
func FuzzChunker(f *testing.F) {
	f.Add([]byte(`{"type":"heartbeat"}`+"\n"+`{"ts":1}`+"\n\x00"+`{"ts":2000,"conn":1}`), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, m uint8) {
		p := Policy{Mode: ByContent, Expected: int(m%8) + 1, MaxBytes: 200}
		if m&0x80 != 0 {
			p = Policy{Mode: ByTime, WindowMS: int64(m%8) + 1, TimeField: "ts", MaxBytes: 200}
		}
		c, err := New("s", p, norm)
		if err != nil {
			t.Fatal(err)
		}
		var prev *Chunk
		start := 0
		for i := 0; i <= len(data); i++ {
			if i < len(data) && data[i] != '\n' && data[i] != 0 {
				continue
			}
			var cs []Chunk
			if i < len(data) && data[i] == 0 {
				cs = c.Gap("fuzz")
				prev = nil
			}
			cs = append(cs, c.Add(data[start:i])...)
			start = i + 1
			for j := range cs {
				ch := cs[j]
				if ch.Count > c.Policy().Max {
					t.Fatalf("chunk of %d messages", ch.Count)
				}
				if ch.Status == Complete {
					if err := ch.Verify(); err != nil {
						t.Fatal(err)
					}
					if prev != nil && prev.Status == Complete && prev.Close != ch.ID {
						t.Fatal("consecutive complete chunks do not link")
					}
				}
				prev = &cs[j]
			}
		}
	})
}

// BenchmarkChunker measures normalising, boundary-hashing and
// content-hashing one ticker message (about 170 bytes, a heartbeat every
// 10th message).
func BenchmarkChunker(b *testing.B) {
	msgs := feed(10000, 1)
	c, _ := New("ticks", Policy{Mode: ByContent, Expected: 64}, norm)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Add(msgs[i%len(msgs)])
	}
}
