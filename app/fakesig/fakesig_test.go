package fakesig

import (
	"errors"
	"testing"
)

func TestFakeSignatures(t *testing.T) {
	s := New()
	s.SigSize = 100
	a, b := s.NewSigner("a"), s.NewSigner("b")
	msg := []byte("message")
	sig, _ := a.Sign(msg)
	if len(sig) != 100 {
		t.Fatal("padding")
	}
	if err := s.Verify(a.PublicKey(), msg, sig); err != nil {
		t.Fatal(err)
	}
	forged, _ := b.Sign(msg)
	bad := append([]byte(nil), sig...)
	bad[99] = 1
	for name, err := range map[string]error{
		"other key":     s.Verify(a.PublicKey(), msg, forged),
		"other message": s.Verify(a.PublicKey(), []byte("massage"), sig),
		"bad padding":   s.Verify(a.PublicKey(), msg, bad),
		"short":         s.Verify(a.PublicKey(), msg, sig[:10]),
		"unknown key":   New().Verify(a.PublicKey(), msg, sig),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if s.NewSigner("a").PublicKey()[0] != a.PublicKey()[0] {
		t.Fatal("not deterministic")
	}
	if s.CheckPublicKey([]byte{1}) == nil || s.CheckPublicKey(a.PublicKey()) != nil {
		t.Fatal("CheckPublicKey")
	}
}
