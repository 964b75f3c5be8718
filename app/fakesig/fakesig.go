// Package fakesig is a fast, deterministic stand-in for Ziggy in tests of
// the consensus app. It is NOT a signature scheme: verification looks the
// signer's secret up in a registry shared by everyone who holds the same
// *Scheme. That is exactly what tests need: signatures are checked for
// real (a signature made with another key, over another message, or
// tampered with, fails), at HMAC speed, and without depending on the STARK
// prover.
package fakesig

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Scheme is a registry of fake keys; it implements app.Scheme.
type Scheme struct {
	mu   sync.RWMutex
	keys map[string][]byte // public key → secret
	// SigSize pads signatures with zeros to this many bytes (0: 32), to
	// give tests realistic extension sizes.
	SigSize  int
	verifies atomic.Int64
}

// Verifies returns how many signatures Verify has checked: tests count
// them to see that a node verifies each signature once.
func (s *Scheme) Verifies() int64 { return s.verifies.Load() }

// New returns an empty registry.
func New() *Scheme { return &Scheme{keys: map[string][]byte{}} }

// Signer is one fake key; it implements app.Signer.
type Signer struct {
	s           *Scheme
	secret, pub []byte
}

// NewSigner derives a key from seed, registers it and returns it. The same
// seed always gives the same key.
func (s *Scheme) NewSigner(seed string) *Signer {
	sec := sha256.Sum256([]byte("fakesig/secret\x00" + seed))
	pub := sha256.Sum256(append([]byte("fakesig/public\x00"), sec[:]...))
	s.mu.Lock()
	s.keys[string(pub[:])] = sec[:]
	s.mu.Unlock()
	return &Signer{s: s, secret: sec[:], pub: pub[:]}
}

// PublicKey returns the 32-byte public key.
func (k *Signer) PublicKey() []byte { return append([]byte(nil), k.pub...) }

// Sign returns HMAC-SHA256(secret, msg), zero-padded to SigSize.
func (k *Signer) Sign(msg []byte) ([]byte, error) {
	m := hmac.New(sha256.New, k.secret)
	m.Write(msg)
	sig := m.Sum(nil)
	if n := k.s.SigSize; n > len(sig) {
		sig = append(sig, make([]byte, n-len(sig))...)
	}
	return sig, nil
}

// ErrInvalid is returned for every signature that does not verify.
var ErrInvalid = errors.New("fakesig: invalid signature")

// CheckPublicKey accepts any 32-byte key.
func (s *Scheme) CheckPublicKey(pub []byte) error {
	if len(pub) != 32 {
		return fmt.Errorf("fakesig: a public key has 32 bytes, got %d", len(pub))
	}
	return nil
}

// Verify checks sig against the registered key's HMAC of msg.
func (s *Scheme) Verify(pub, msg, sig []byte) error {
	s.verifies.Add(1)
	s.mu.RLock()
	sec, ok := s.keys[string(pub)]
	s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: unknown key", ErrInvalid)
	}
	if len(sig) < sha256.Size {
		return fmt.Errorf("%w: too short", ErrInvalid)
	}
	m := hmac.New(sha256.New, sec)
	m.Write(msg)
	if !hmac.Equal(m.Sum(nil), sig[:sha256.Size]) {
		return ErrInvalid
	}
	for _, b := range sig[sha256.Size:] {
		if b != 0 {
			return fmt.Errorf("%w: bad padding", ErrInvalid)
		}
	}
	return nil
}
