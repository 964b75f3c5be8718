// Package ziggysig adapts Ziggy post-quantum signatures (zk/ziggy) to the
// consensus app's Scheme and Signer interfaces. It is a package of its own
// so that the app and its tests do not depend on the STARK prover; the node
// wires it in.
package ziggysig

import (
	"github.com/datadragon/datadragon/zk/ziggy"
)

// Scheme verifies Ziggy signatures; public keys are the 32-byte encoding
// of ziggy.PublicKey.Bytes. It implements app.Scheme.
type Scheme struct{}

// CheckPublicKey decodes pub as a Ziggy public key.
func (Scheme) CheckPublicKey(pub []byte) error {
	_, err := ziggy.PublicKeyFromBytes(pub)
	return err
}

// Verify checks a Ziggy signature (at ziggy.MinSecurity conjectured bits).
func (Scheme) Verify(pub, msg, sig []byte) error {
	pk, err := ziggy.PublicKeyFromBytes(pub)
	if err != nil {
		return err
	}
	return ziggy.Verify(pk, msg, sig)
}

// Signer signs with a Ziggy private key. It implements app.Signer.
type Signer struct{ priv *ziggy.PrivateKey }

// NewSigner returns a signer for priv.
func NewSigner(priv *ziggy.PrivateKey) *Signer { return &Signer{priv: priv} }

// PublicKey returns the 32-byte public key, as the genesis app state
// registers it (hex in "ziggy_pub_key").
func (s *Signer) PublicKey() []byte { return s.priv.Public().Bytes() }

// Sign makes a Ziggy signature of msg (about 23 KB, a few ms).
func (s *Signer) Sign(msg []byte) ([]byte, error) { return ziggy.Sign(s.priv, msg) }
