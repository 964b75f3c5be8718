package ziggysig

import (
	"bytes"
	"testing"

	"github.com/datadragon/datadragon/zk/ziggy"
)

func TestRoundTrip(t *testing.T) {
	priv, err := ziggy.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s := NewSigner(priv)
	var sch Scheme
	if err := sch.CheckPublicKey(s.PublicKey()); err != nil {
		t.Fatal(err)
	}
	msg := []byte("0123456789abcdef0123456789abcdef")
	sig, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Verify(s.PublicKey(), msg, sig); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
	bad := bytes.Clone(msg)
	bad[0] ^= 1
	if sch.Verify(s.PublicKey(), bad, sig) == nil {
		t.Fatal("signature verified for another message")
	}
	other, _ := ziggy.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	if sch.Verify(other.Public().Bytes(), msg, sig) == nil {
		t.Fatal("signature verified under another key")
	}
	if sch.CheckPublicKey([]byte{1, 2, 3}) == nil {
		t.Fatal("short public key accepted")
	}
}
