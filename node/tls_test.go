package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/source"
	"github.com/datadragon/datadragon/internal/testpki"
)

// tlsClient trusts the CA only.
func tlsClient(t *testing.T, p *testpki.PKI) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.Roots(t)}}}
}

// TestTLSNode runs a one-validator node with tls_cert_file, tls_key_file
// and source_ca_file (relative to the home): its API answers over HTTPS
// to a client trusting the CA, refuses plain HTTP and untrusting clients,
// takes an upload with a write token over HTTPS, and its observer follows
// a wss:// source whose certificate chains to source_ca_file's CA.
func TestTLSNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	pki := testpki.New(t, "node")

	// A wss:// source with the same CA's certificate, and one whose
	// certificate comes from a CA the node does not trust.
	srcURL := startTLSTestSource(t, pki)
	untrustedURL := startTLSTestSource(t, testpki.New(t, "node"))

	token := "tls-test-token"
	sum := sha256.Sum256([]byte(token))
	members, err := InitHomes(InitOptions{
		Dir: t.TempDir(), Validators: 1, ChainID: "dd-tls", Host: "127.0.0.1", BasePort: 29600, APIBasePort: 29650,
		Power: 10, CommitTimeout: 100 * time.Millisecond,
		AppState: AppState([]app.Stream{
			{ID: "uploads", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 4}, WriteTokens: []app.HexBytes{sum[:]}},
			{ID: "ticks", Source: srcURL, Chunk: app.ChunkPolicy{Messages: 20}},
			{ID: "untrusted", Source: untrustedURL, Chunk: app.ChunkPolicy{Messages: 20}},
		}, 5),
	})
	if err != nil {
		t.Fatal(err)
	}
	home := members[0].Home
	pki.Write(t, home, "ca.pem", "node.crt", "node.key")
	cfg, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSCertFile, cfg.TLSKeyFile, cfg.SourceCAFile = "node.crt", "node.key", "ca.pem"
	if err := cfg.Save(home); err != nil {
		t.Fatal(err)
	}
	var logs syncLog
	n, err := Open(home, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		n.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	if !n.Config().TLS() {
		t.Fatal("Config.TLS() is false with both files set")
	}

	client := tlsClient(t, pki)
	base := "https://127.0.0.1:29650"
	var status struct {
		Node struct {
			Moniker string `json:"moniker"`
		} `json:"node"`
	}
	resp, err := client.Get(base + "/v1/status")
	if err != nil {
		t.Fatalf("GET /v1/status over HTTPS: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || json.Unmarshal(b, &status) != nil {
		t.Fatalf("GET /v1/status: %d %s", resp.StatusCode, b)
	}
	if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
		t.Fatalf("connection state %+v: want TLS 1.3", resp.TLS)
	}
	// By name too (the certificate lists localhost).
	if r, err := client.Get("https://localhost:29650/v1/status"); err != nil {
		t.Fatalf("by name: %v", err)
	} else {
		r.Body.Close()
	}

	// TLS 1.2 is accepted, 1.1 refused.
	for _, v := range []struct {
		max uint16
		ok  bool
	}{{tls.VersionTLS12, true}, {tls.VersionTLS11, false}} {
		c := tlsClient(t, pki)
		c.Transport.(*http.Transport).TLSClientConfig.MaxVersion = v.max
		r, err := c.Get(base + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		if (err == nil) != v.ok {
			t.Fatalf("client at most TLS version %#x: err %v, want success %v", v.max, err, v.ok)
		}
	}

	// Plain HTTP on the same port is not served.
	if r, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://127.0.0.1:29650/v1/status"); err == nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "HTTPS server") {
			t.Fatalf("plain HTTP answered %d %q", r.StatusCode, b)
		}
	}
	// A client without the CA refuses the certificate.
	if r, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/v1/status"); err == nil {
		r.Body.Close()
		t.Fatal("a client without the CA accepted the node's certificate")
	} else if !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v, want a certificate error", err)
	}

	// An upload over HTTPS: refused without the token, taken with it.
	file := bytes.Repeat([]byte("DataDragon over TLS\n"), 10000) // 200000 bytes: 4 pieces
	var idb [16]byte
	rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	post := func(auth string) (int, []byte) {
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/push/uploads?upload=%s&offset=0&end=1", base, id), bytes.NewReader(file))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, b
	}
	if code, b := post(""); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Fatalf("upload without a token: %d %s", code, b)
	}
	code, b := post(token)
	var st struct {
		Acked uint64 `json:"acked"`
		Ended bool   `json:"ended"`
	}
	if code != 200 || json.Unmarshal(b, &st) != nil || st.Acked != uint64(len(file)) || !st.Ended {
		t.Fatalf("upload with the token: %d %s", code, b)
	}

	// The pushed chunk and the observed wss:// stream both get accepted
	// records.
	deadline := time.Now().Add(12 * time.Second)
	for {
		var list struct {
			Streams []struct {
				ID       string `json:"id"`
				Accepted uint64 `json:"accepted"`
			} `json:"streams"`
		}
		r, err := client.Get(base + "/v1/streams")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(r.Body).Decode(&list)
		r.Body.Close()
		accepted := map[string]uint64{}
		for _, s := range list.Streams {
			accepted[s.ID] = s.Accepted
		}
		if accepted["uploads"] > 0 && accepted["ticks"] > 0 && strings.Contains(logs.String(), "not signed by a trusted CA") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("accepted records per stream: %v; want both uploads and ticks; logs:\n%s", accepted, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "stream=untrusted") {
		t.Fatalf("the untrusted source's certificate error is not logged for its stream:\n%s", logs.String())
	}
	if strings.Count(logs.String(), "stream source unreachable") > 3 {
		t.Fatalf("the same failure is logged over and over:\n%s", logs.String())
	}
}

// startTLSTestSource serves a ticker over TLS with pki's leaf certificate
// and returns its wss:// URL.
func startTLSTestSource(t *testing.T, pki *testpki.PKI) string {
	t.Helper()
	srv, err := source.New(source.Config{Generator: gen.NewTicker(3), Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	pair := pki.KeyPair(t)
	hs := httptest.NewUnstartedServer(srv)
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.StartTLS()
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Run(ctx)
	t.Cleanup(func() { cancel(); hs.Close() })
	return "wss://" + hs.Listener.Addr().String() + "/stream"
}

// syncLog collects log output from several goroutines.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTLSNodeBadFiles: Open refuses a home whose TLS files are missing or
// wrong, naming the file and what is wrong, before opening anything.
func TestTLSNodeBadFiles(t *testing.T) {
	pki := testpki.New(t, "node")
	other := testpki.New(t, "node")
	members, err := InitHomes(InitOptions{
		Dir: t.TempDir(), Validators: 1, ChainID: "dd-tls-bad", Host: "127.0.0.1", BasePort: 29610, APIBasePort: 29660,
		Power: 10, CommitTimeout: 100 * time.Millisecond,
		AppState: AppState([]app.Stream{{ID: "uploads", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 4}, OpenLoopback: true}}, 5),
	})
	if err != nil {
		t.Fatal(err)
	}
	home := members[0].Home
	pki.Write(t, home, "ca.pem", "node.crt", "node.key")
	os.WriteFile(filepath.Join(home, "other.key"), other.KeyPEM, 0o600)
	os.WriteFile(filepath.Join(home, "empty.pem"), nil, 0o600)
	os.WriteFile(filepath.Join(home, "junk.pem"), []byte("not PEM at all\n"), 0o600)
	base, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(home, "missing.key")
	for _, tc := range []struct {
		name            string
		cert, key, ca   string
		want            []string
		loadConfigFails bool
	}{
		{"missing key (relative)", "node.crt", "missing.key", "", []string{filepath.Join(home, "missing.key"), "no such file", "tls_key_file"}, false},
		{"missing key (absolute)", "node.crt", abs, "", []string{abs, "no such file"}, false},
		{"missing certificate", "nope.crt", "node.key", "", []string{filepath.Join(home, "nope.crt"), "no such file"}, false},
		{"key of another certificate", "node.crt", "other.key", "", []string{filepath.Join(home, "other.key"), "does not fit", filepath.Join(home, "node.crt")}, false},
		{"swapped", "node.key", "node.crt", "", []string{filepath.Join(home, "node.key"), "swapped"}, false},
		{"empty certificate", "empty.pem", "node.key", "", []string{filepath.Join(home, "empty.pem"), "empty"}, false},
		{"junk certificate", "junk.pem", "node.key", "", []string{filepath.Join(home, "junk.pem"), "no PEM CERTIFICATE"}, false},
		{"certificate without key", "node.crt", "", "", []string{"tls_key_file is not"}, true},
		{"key without certificate", "", "node.key", "", []string{"tls_cert_file is not"}, true},
		{"missing CA bundle", "", "", "nope.pem", []string{"source_ca_file", filepath.Join(home, "nope.pem"), "no such file"}, false},
		{"CA bundle without certificates", "", "", "junk.pem", []string{"source_ca_file", filepath.Join(home, "junk.pem"), "no PEM CERTIFICATE"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *base
			c.TLSCertFile, c.TLSKeyFile, c.SourceCAFile = tc.cert, tc.key, tc.ca
			if err := c.Save(home); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadConfig(home); (err != nil) != tc.loadConfigFails {
				t.Fatalf("LoadConfig: %v", err)
			}
			n, err := Open(home, Options{})
			if err == nil {
				n.Stop()
				t.Fatal("Open accepted the home")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// Restored, the same home opens.
	c := *base
	c.TLSCertFile, c.TLSKeyFile, c.SourceCAFile = "node.crt", "node.key", "ca.pem"
	c.Save(home)
	n, err := Open(home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.Stop()
}
