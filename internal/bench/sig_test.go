package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestMeasureSignatures(t *testing.T) {
	var progress bytes.Buffer
	r, err := MeasureSignatures(2, 32, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != 3 || r.MessageBytes != 32 || !r.ZiggyOptions.ZeroKnowledge {
		t.Fatalf("report %+v", r)
	}
	want := map[string]struct {
		pq       bool
		pub, sig int // 0: not fixed
	}{
		"Ziggy":     {true, 32, 0},
		"Ed25519":   {false, 32, 64},
		"ML-DSA-65": {true, 1952, 3309},
	}
	for _, res := range r.Results {
		w, ok := want[res.Scheme]
		if !ok {
			t.Fatalf("unexpected scheme %q", res.Scheme)
		}
		if res.PostQuantum != w.pq || res.PublicKeyBytes != w.pub || (w.sig != 0 && res.SignatureBytes != w.sig) {
			t.Errorf("%s: %+v", res.Scheme, res)
		}
		if res.Reps != 2 || res.SignMS <= 0 || res.VerifyMS <= 0 || res.KeygenMS <= 0 || res.SignP90MS < res.SignMS || res.SignatureBytesMax < res.SignatureBytes {
			t.Errorf("%s: implausible timings or sizes %+v", res.Scheme, res)
		}
		if !strings.Contains(progress.String(), res.Scheme) {
			t.Errorf("no progress line for %s", res.Scheme)
		}
	}
	var table bytes.Buffer
	if err := WriteSigTable(&table, r.Results); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"scheme", "post-quantum", "keygen", "verify p90", "signature", "Ziggy", "Ed25519", "ML-DSA-65", "NIST category 3"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}
	if _, err := MeasureSignatures(0, 32, nil); err == nil {
		t.Error("0 reps accepted")
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	if got := percentile(ds, 90); got != 9 {
		t.Errorf("p90 = %d", got)
	}
	if got := percentile(ds[:1], 90); got != 5 {
		t.Errorf("p90 of one = %d", got)
	}
}

func TestFormatDuration(t *testing.T) {
	for v, want := range map[float64]string{0.0123: "12.3 µs", 4.567: "4.57 ms", 1500: "1.50 s"} {
		if got := formatDuration(v); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", v, got, want)
		}
	}
}
