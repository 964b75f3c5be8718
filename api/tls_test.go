package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 valid
// from notBefore to notAfter, and its key, as PEM files in dir.
func writeSelfSigned(t *testing.T, dir, name string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func TestTLSLoad(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	cert, key := writeSelfSigned(t, dir, "good", now.Add(-time.Hour), now.Add(time.Hour))
	tc, err := LoadTLS(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	if tc.MinVersion != tls.VersionTLS12 || tc.MaxVersion != 0 || len(tc.Certificates) != 1 || tc.InsecureSkipVerify {
		t.Fatalf("config %+v: want TLS 1.2 minimum, no maximum (1.3 preferred), one certificate", tc)
	}

	oldCert, oldKey := writeSelfSigned(t, dir, "old", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	dir2 := filepath.Join(dir, "dir")
	os.Mkdir(dir2, 0o700)
	for _, tc := range []struct {
		name      string
		cert, key string
		want      []string
	}{
		{"expired", oldCert, oldKey, []string{oldCert, "expired"}},
		{"mismatched key", cert, oldKey, []string{oldKey, cert, "does not fit"}},
		{"no key", cert, "", []string{cert, "without its private key"}},
		{"no certificate", "", key, []string{key, "without its certificate"}},
		{"directory", dir2, key, []string{dir2, "not a regular file"}},
		{"missing", filepath.Join(dir, "nope.crt"), key, []string{filepath.Join(dir, "nope.crt"), "no such file"}},
	} {
		_, err := LoadTLS(tc.cert, tc.key)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
}
