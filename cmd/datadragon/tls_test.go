package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/ingest/observe"
	"github.com/datadragon/datadragon/internal/testpki"
	"github.com/datadragon/datadragon/node"
)

// writeTestPKI writes a throwaway CA (ca.pem) and a server certificate it
// issued for 127.0.0.1 and localhost (leaf.crt, leaf.key) into dir.
func writeTestPKI(t *testing.T, dir string) (caFile, certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	p := testpki.New(t, "cmd")
	caFile, certFile, keyFile = p.Write(t, dir, "ca.pem", "leaf.crt", "leaf.key")
	return caFile, certFile, keyFile, p.Roots(t)
}

func TestTLSSourceUsageErrors(t *testing.T) {
	dir := t.TempDir()
	_, cert, key, _ := writeTestPKI(t, dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", cert}, "--tls-cert needs --tls-key"},
		{[]string{"--tls-key", key}, "--tls-key needs --tls-cert"},
	} {
		args := append([]string{"source", "--listen", "127.0.0.1:0"}, tc.args...)
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitUsage, out, errOut)
		if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "datadragon source --help") {
			t.Errorf("%v: stderr %q should mention %q and the help", tc.args, errOut, tc.want)
		}
	}
	// Files that do not load: a failure naming the file, before listening.
	missing := filepath.Join(dir, "missing.key")
	for _, args := range [][]string{
		{"source", "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", missing},
		{"source", "--listen", "127.0.0.1:0", "--tls-cert", key, "--tls-key", cert},
	} {
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitFail, out, errOut)
		if !strings.Contains(errOut, args[6]) && !strings.Contains(errOut, args[4]) {
			t.Errorf("%v: stderr %q does not name the file", args, errOut)
		}
	}
	code, out, _ := runCLI(t, "source", "--help")
	if code != exitOK || !strings.Contains(out, "--tls-cert") || !strings.Contains(out, "--tls-key") || !strings.Contains(out, "wss://") {
		t.Errorf("source --help does not document TLS:\n%s", out)
	}
}

// TestTLSSourceServes runs 'datadragon source --tls-cert --tls-key' and
// observes it over wss:// with the CA, as a validator with source_ca_file
// would; plain ws:// on the same port gets nothing.
func TestTLSSourceServes(t *testing.T) {
	dir := t.TempDir()
	_, cert, key, roots := writeTestPKI(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- sourceMain(ctx, []string{"--kind", "log", "--rate", "200", "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key}, &stdout, &stderr)
	}()
	var url string
	for deadline := time.Now().Add(5 * time.Second); url == ""; time.Sleep(5 * time.Millisecond) {
		if m := regexp.MustCompile(`stream:\s+(wss://\S+/stream)`).FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no wss:// stream URL printed:\n%s\n%s", stdout.String(), stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), "health:  https://") {
		t.Errorf("health URL is not https://:\n%s", stdout.String())
	}

	frames := 0
	octx, ocancel := context.WithTimeout(ctx, 10*time.Second)
	err := observe.Run(octx, observe.Config{URL: url, TLS: &tls.Config{RootCAs: roots}}, func(ev observe.Event) error {
		switch ev := ev.(type) {
		case observe.Data:
			if frames++; frames == 5 {
				ocancel()
			}
		case observe.Disconnected:
			t.Errorf("observer disconnected: %v", ev.Err)
			ocancel()
		}
		return nil
	})
	ocancel()
	if frames < 5 { // a frame already in flight may follow the cancel
		t.Fatalf("observed %d frames over wss:// (%v)", frames, err)
	}

	// The health endpoint is HTTPS; plain HTTP on the port is refused.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	host := strings.TrimSuffix(strings.TrimPrefix(url, "wss://"), "/stream")
	if r, err := hc.Get("https://" + host + "/healthz"); err != nil || r.StatusCode != 200 {
		t.Fatalf("GET https://%s/healthz: %v", host, err)
	} else {
		r.Body.Close()
	}
	if r, err := hc.Get("http://" + host + "/healthz"); err == nil {
		r.Body.Close()
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP answered %d", r.StatusCode)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the source did not stop")
	}
}

// TestTLSInit: init --tls-cert --tls-key --source-ca checks the files and
// records them, by absolute path, in every node.json; a certificate without
// its key is a usage error.
func TestTLSInit(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key, _ := writeTestPKI(t, dir)
	out := filepath.Join(dir, "net")
	args := []string{"init", "--validators", "2", "--out", out, "--stream", "s=wss://localhost:9443/stream,seq:10",
		"--tls-cert", cert, "--tls-key", key, "--source-ca", ca}
	code, stdout, stderr := runCLI(t, args...)
	wantCode(t, args, code, exitOK, stdout, stderr)
	if !strings.Contains(stdout, "HTTPS") {
		t.Errorf("init does not say the API serves HTTPS:\n%s", stdout)
	}
	for i := range 2 {
		home := filepath.Join(out, "node"+string(rune('0'+i)))
		cfg, err := node.LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TLSCertFile != cert || cfg.TLSKeyFile != key || cfg.SourceCAFile != ca || !cfg.TLS() {
			t.Fatalf("%s: node.json has %q %q %q", home, cfg.TLSCertFile, cfg.TLSKeyFile, cfg.SourceCAFile)
		}
		if _, err := cfg.ServerTLS(home); err != nil {
			t.Fatal(err)
		}
		if tc, err := cfg.SourceTLS(home); err != nil || tc == nil || tc.RootCAs == nil {
			t.Fatalf("SourceTLS: %v", err)
		}
	}

	args = []string{"init", "--validators", "1", "--out", filepath.Join(dir, "net2"), "--tls-cert", cert}
	code, stdout, stderr = runCLI(t, args...)
	wantCode(t, args, code, exitUsage, stdout, stderr)
	if !strings.Contains(stderr, "--tls-key") {
		t.Errorf("stderr %q", stderr)
	}
	// A bad file fails before any home is written.
	net3 := filepath.Join(dir, "net3")
	args = []string{"init", "--validators", "1", "--out", net3, "--source-ca", key}
	code, stdout, stderr = runCLI(t, args...)
	wantCode(t, args, code, exitFail, stdout, stderr)
	if !strings.Contains(stderr, key) || !strings.Contains(stderr, "no PEM CERTIFICATE") {
		t.Errorf("stderr %q", stderr)
	}
	if _, err := os.Stat(net3); err == nil {
		t.Errorf("init wrote %s despite the bad --source-ca", net3)
	}
}
