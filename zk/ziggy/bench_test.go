package ziggy

import "testing"

func BenchmarkGenerateKey(b *testing.B) {
	for b.Loop() {
		if _, _, err := GenerateKey(nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	priv := testKey(b, 1)
	msg := make([]byte, 64)
	var size int
	for b.Loop() {
		sig, err := Sign(priv, msg)
		if err != nil {
			b.Fatal(err)
		}
		size += len(sig)
	}
	b.ReportMetric(float64(size)/float64(b.N), "sig-bytes")
}

func BenchmarkVerify(b *testing.B) {
	priv, msg, sig := signedFixture(b)
	pub := priv.Public()
	for b.Loop() {
		if err := Verify(pub, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}
