package gen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func clock(t *testing.T, rate float64) Clock {
	t.Helper()
	c, err := NewClock(DefaultEpoch, rate)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClock(t *testing.T) {
	c := clock(t, 10)
	if c.Interval != 100_000_000 {
		t.Fatalf("interval %d", c.Interval)
	}
	got, err := c.Time(25)
	if err != nil || got != DefaultEpoch.UnixNano()+2_500_000_000 {
		t.Fatalf("time(25) = %d, %v", got, err)
	}
	if _, err := c.Time(1 << 62); err == nil {
		t.Fatal("no overflow error")
	}
	c3 := clock(t, 3) // 333333333.33 ns rounds to 333333333
	if c3.Interval != 333333333 {
		t.Fatalf("rate 3: interval %d", c3.Interval)
	}
	for _, r := range []float64{0, -1, MinRate / 2, MaxRate * 2} {
		if _, err := NewClock(DefaultEpoch, r); err == nil {
			t.Errorf("rate %v accepted", r)
		}
	}
}

// TestGolden pins the content of every kind: a changed byte here means a
// restarted or upgraded source would emit frames its observers disagree
// about. Change the hashes only on purpose.
func TestGolden(t *testing.T) {
	want := map[string]string{
		"sensor": "f703528bf5590b21b0f680215b218f70dadf10a5d067ccb2548c33de2f76cc65",
		"ticker": "f1e8f9eb54948a84b70f734474e766de77c815505e1539de3627b7c656544b61",
		"log":    "1c7187e83c48fcdcfc4493c94b7992060788c0a0927c20864fbdd14613f18be1",
	}
	c := clock(t, 50)
	for kind := range want {
		g, err := New(kind, Options{Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		for k := range uint64(500) {
			f, err := Frame(g, c, k)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(f.Payload)
		}
		got := hex.EncodeToString(h.Sum(nil))
		if got != want[kind] {
			t.Errorf("%s: content hash %s, want %s", kind, got, want[kind])
		}
	}
}

func TestDeterministicAndSeeded(t *testing.T) {
	c := clock(t, 100)
	for _, kind := range []string{"sensor", "ticker", "log"} {
		a, _ := New(kind, Options{Seed: 1})
		b, _ := New(kind, Options{Seed: 1})
		other, _ := New(kind, Options{Seed: 2})
		differ := 0
		// Ask in different orders: frames must not depend on history.
		for k := uint64(300); k > 0; k-- {
			fa, _ := Frame(a, c, k)
			Frame(b, c, 300-k) // disturb b: frames must not depend on what was asked before
			fb2, _ := Frame(b, c, k)
			fo, _ := Frame(other, c, k)
			if !bytes.Equal(fa.Payload, fb2.Payload) || fa.Time != fb2.Time {
				t.Fatalf("%s: frame %d differs between two generators with the same seed", kind, k)
			}
			if !bytes.Equal(fa.Payload, fo.Payload) {
				differ++
			}
		}
		if differ < 250 {
			t.Errorf("%s: seeds 1 and 2 differ in only %d of 300 frames", kind, differ)
		}
	}
}

func TestJSONPayloads(t *testing.T) {
	c := clock(t, 20)
	s := NewSensor(3)
	k := NewTicker(3)
	statuses := map[string]int{}
	for seq := range uint64(5000) {
		f, _ := Frame(s, c, seq)
		var r struct {
			Sensor      string   `json:"sensor"`
			Site        string   `json:"site"`
			Seq         uint64   `json:"seq"`
			Time        string   `json:"time"`
			Temperature *float64 `json:"temperature_c"`
			Humidity    float64  `json:"humidity_pct"`
			Pressure    float64  `json:"pressure_hpa"`
			Battery     float64  `json:"battery_v"`
			Status      string   `json:"status"`
		}
		if err := json.Unmarshal(f.Payload, &r); err != nil {
			t.Fatalf("sensor frame %d is not JSON: %v\n%s", seq, err, f.Payload)
		}
		ts, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil || ts.UnixNano() != f.Time || r.Seq != seq || r.Sensor == "" || r.Site == "" {
			t.Fatalf("sensor frame %d: fields %+v (time %v)", seq, r, err)
		}
		if r.Temperature == nil || *r.Temperature < -10 || *r.Temperature > 40 || r.Humidity < 20 || r.Humidity > 90 ||
			r.Pressure < 1000 || r.Pressure > 1025 || r.Battery < 3.1 || r.Battery > 4.3 {
			t.Fatalf("sensor frame %d out of range: %s", seq, f.Payload)
		}
		statuses[r.Status]++

		f, _ = Frame(k, c, seq)
		var q struct {
			Symbol  string  `json:"symbol"`
			Seq     uint64  `json:"seq"`
			Bid     float64 `json:"bid"`
			Ask     float64 `json:"ask"`
			BidSize int     `json:"bid_size"`
			AskSize int     `json:"ask_size"`
		}
		if err := json.Unmarshal(f.Payload, &q); err != nil {
			t.Fatalf("ticker frame %d is not JSON: %v\n%s", seq, err, f.Payload)
		}
		if q.Symbol == "" || q.Seq != seq || q.Bid <= 0 || q.Ask <= q.Bid || q.BidSize <= 0 || q.AskSize <= 0 {
			t.Fatalf("ticker frame %d: %s", seq, f.Payload)
		}
	}
	if statuses["ok"] == 0 || statuses["warn"] == 0 {
		t.Errorf("sensor statuses %v: want some ok and some warn", statuses)
	}
}

func TestLogLines(t *testing.T) {
	c := clock(t, 5)
	g := NewLog(9)
	levels := map[string]int{}
	for seq := range uint64(2000) {
		f, _ := Frame(g, c, seq)
		fields := strings.Fields(string(f.Payload))
		if len(fields) < 4 || !strings.HasPrefix(fields[len(fields)-1], "trace=") || strings.ContainsAny(string(f.Payload), "\n\r") {
			t.Fatalf("frame %d: %q", seq, f.Payload)
		}
		if _, err := time.Parse(time.RFC3339Nano, fields[0]); err != nil {
			t.Fatalf("frame %d: %v", seq, err)
		}
		levels[fields[1]]++
	}
	for _, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
		if levels[l] == 0 {
			t.Errorf("no %s line in 2000: %v", l, levels)
		}
	}
	if levels["INFO"] < levels["WARN"] || levels["WARN"] < levels["ERROR"] {
		t.Errorf("implausible level mix %v", levels)
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 10000)
	for i := range data {
		data[i] = byte(i * 31)
	}
	path := filepath.Join(dir, "data.bin")
	os.WriteFile(path, data, 0o644)
	g, err := New("file", Options{File: path, PieceSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer g.(Closer).Close()
	if n := g.(*File).Frames(); n != 3 {
		t.Fatalf("frames %d, want 3", n)
	}
	c := clock(t, 1)
	var got []byte
	for seq := uint64(0); ; seq++ {
		f, err := Frame(g, c, seq)
		if errors.Is(err, ErrEnd) {
			if seq != 3 {
				t.Fatalf("ended at %d", seq)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Payload...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("pieces do not reassemble the file")
	}

	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	e, _ := OpenFile(empty, 0)
	if _, err := e.Payload(0, 0); !errors.Is(err, ErrEnd) {
		t.Fatalf("empty file: %v", err)
	}
	e.Close()

	for _, o := range []struct {
		kind string
		o    Options
		want string
	}{
		{"file", Options{}, "--file"},
		{"file", Options{File: dir}, "not a regular file"},
		{"file", Options{File: path, PieceSize: 2 << 20}, "piece size"},
		{"sensor", Options{File: path}, "only streamed by --kind file"},
		{"radio", Options{}, "choose sensor, ticker, log or file"},
	} {
		if _, err := New(o.kind, o.o); err == nil || !strings.Contains(err.Error(), o.want) {
			t.Errorf("New(%s, %+v): %v, want mention of %q", o.kind, o.o, err, o.want)
		}
	}
}

func TestFixed(t *testing.T) {
	for _, c := range []struct {
		v    int64
		dec  int
		want string
	}{{2137, 2, "21.37"}, {-5, 2, "-0.05"}, {0, 3, "0.000"}, {7, 0, "7"}, {4200, 3, "4.200"}} {
		if got := string(appendFixed(nil, c.v, c.dec)); got != c.want {
			t.Errorf("appendFixed(%d, %d) = %q, want %q", c.v, c.dec, got, c.want)
		}
	}
}

func BenchmarkSensor(b *testing.B) {
	g := NewSensor(1)
	for i := 0; b.Loop(); i++ {
		g.Payload(uint64(i), int64(i)*1e8)
	}
}
