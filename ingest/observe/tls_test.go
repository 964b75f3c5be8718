package observe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/source"
)

// testCA is a self-signed CA and a leaf certificate it issued for
// 127.0.0.1, ::1 and localhost, as PEM.
type testCA struct {
	caPEM, certPEM, keyPEM []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name + " test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// roots is a pool holding only the CA.
func (c *testCA) roots(t *testing.T) *x509.CertPool {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.caPEM) {
		t.Fatal("CA PEM does not parse")
	}
	return pool
}

// startTLSSource serves a source over TLS with the CA's leaf certificate
// and returns its wss:// URL.
func startTLSSource(t *testing.T, ca *testCA) (*source.Server, string) {
	t.Helper()
	s, err := source.New(source.Config{Generator: gen.NewTicker(5), Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(ca.certPEM, ca.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(s)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return s, "wss://" + ts.Listener.Addr().String() + "/stream"
}

// TestTLSObserveWithCA reads frames from a wss:// source whose
// certificate chains to a CA given in Config.TLS, by IP and by name.
func TestTLSObserveWithCA(t *testing.T) {
	ca := newTestCA(t, "source")
	s, url := startTLSSource(t, ca)
	step(t, s, 40)
	r := observe(t, Config{URL: url, TLS: &tls.Config{RootCAs: ca.roots(t)}})
	r.waitFrames(t, 40)
	r.mu.Lock()
	checkFrames(t, r.frames[:40], 0, gen.NewTicker(5), 100)
	r.mu.Unlock()
	if n := r.count(isDisconnected); n != 0 {
		t.Fatalf("%d disconnections reading over TLS", n)
	}

	byName := strings.Replace(url, "127.0.0.1", "localhost", 1)
	r2 := observe(t, Config{URL: byName, TLS: &tls.Config{RootCAs: ca.roots(t)}})
	r2.waitFrames(t, 40)
}

// TestTLSObserveUntrusted dials a wss:// source whose CA the observer
// does not trust (system roots; another CA): every attempt fails with a
// certificate error, and Run keeps retrying until it is cancelled.
func TestTLSObserveUntrusted(t *testing.T) {
	ca := newTestCA(t, "source")
	s, url := startTLSSource(t, ca)
	step(t, s, 10)
	other := newTestCA(t, "other")
	for name, tc := range map[string]*tls.Config{
		"system roots": nil,
		"another CA":   {RootCAs: other.roots(t)},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var errs []error
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, Config{URL: url, TLS: tc, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}, func(ev Event) error {
					switch ev := ev.(type) {
					case Disconnected:
						errs = append(errs, ev.Err)
						if len(errs) == 3 {
							cancel()
						}
					case Data, Connected:
						t.Errorf("untrusted source delivered %T", ev)
					}
					return nil
				})
			}()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Run returned %v, want the cancellation (it must keep retrying)", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not retry three times within 10 s")
			}
			for _, err := range errs {
				var ua x509.UnknownAuthorityError
				var cv *tls.CertificateVerificationError
				if !errors.As(err, &ua) || !errors.As(err, &cv) {
					t.Fatalf("error %v (%T) is not a certificate verification error", err, err)
				}
				if !strings.Contains(err.Error(), "not signed by a trusted CA") {
					t.Fatalf("error %q lacks the hint", err)
				}
			}
		})
	}
}

// TestTLSObserveConfig: TLS settings that could not verify the source,
// or that conflict with HTTPClient, are refused at once; ws:// URLs
// ignore TLS.
func TestTLSObserveConfig(t *testing.T) {
	ctx := context.Background()
	nop := func(Event) error { return nil }
	err := Run(ctx, Config{URL: "wss://127.0.0.1:1/stream", TLS: &tls.Config{InsecureSkipVerify: true}}, nop)
	if err == nil || !strings.Contains(err.Error(), "InsecureSkipVerify") {
		t.Fatalf("InsecureSkipVerify: %v", err)
	}
	err = Run(ctx, Config{URL: "wss://127.0.0.1:1/stream", TLS: &tls.Config{}, HTTPClient: &http.Client{}}, nop)
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("TLS with HTTPClient: %v", err)
	}
	err = Run(ctx, Config{URL: "ftp://127.0.0.1/stream", TLS: &tls.Config{}}, nop)
	if err == nil || !strings.Contains(err.Error(), "not a WebSocket") {
		t.Fatalf("bad scheme with TLS: %v", err)
	}

	s, ts := startSource(t, source.Config{})
	step(t, s, 5)
	r := observe(t, Config{URL: "ws://" + ts.Listener.Addr().String() + "/stream", TLS: &tls.Config{RootCAs: newTestCA(t, "x").roots(t)}})
	r.waitFrames(t, 5)
}
