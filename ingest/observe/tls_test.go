package observe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/source"
	"github.com/datadragon/datadragon/internal/testpki"
)

// startTLSSource serves a source over TLS with the CA's leaf certificate
// and returns its wss:// URL.
func startTLSSource(t *testing.T, ca *testpki.PKI) (*source.Server, string) {
	t.Helper()
	s, err := source.New(source.Config{Generator: gen.NewTicker(5), Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	pair := ca.KeyPair(t)
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
	ca := testpki.New(t, "source")
	s, url := startTLSSource(t, ca)
	step(t, s, 40)
	r := observe(t, Config{URL: url, TLS: &tls.Config{RootCAs: ca.Roots(t)}})
	r.waitFrames(t, 40)
	r.mu.Lock()
	checkFrames(t, r.frames[:40], 0, gen.NewTicker(5), 100)
	r.mu.Unlock()
	if n := r.count(isDisconnected); n != 0 {
		t.Fatalf("%d disconnections reading over TLS", n)
	}

	byName := strings.Replace(url, "127.0.0.1", "localhost", 1)
	r2 := observe(t, Config{URL: byName, TLS: &tls.Config{RootCAs: ca.Roots(t)}})
	r2.waitFrames(t, 40)
}

// TestTLSObserveUntrusted dials a wss:// source whose CA the observer
// does not trust (system roots; another CA): every attempt fails with a
// certificate error, and Run keeps retrying until it is cancelled.
func TestTLSObserveUntrusted(t *testing.T) {
	ca := testpki.New(t, "source")
	s, url := startTLSSource(t, ca)
	step(t, s, 10)
	other := testpki.New(t, "other")
	for name, tc := range map[string]*tls.Config{
		"system roots": nil,
		"another CA":   {RootCAs: other.Roots(t)},
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
	r := observe(t, Config{URL: "ws://" + ts.Listener.Addr().String() + "/stream", TLS: &tls.Config{RootCAs: testpki.New(t, "x").Roots(t)}})
	r.waitFrames(t, 5)
}
