package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzRoutes serves any method, path and query: the answer is never a
// panic or a 500, and every /v1 answer is JSON.
func FuzzRoutes(f *testing.F) {
	for _, s := range [][3]string{
		{"GET", "/v1/status", ""},
		{"GET", "/v1/streams/sensor/records", "from=3&limit=2"},
		{"GET", "/v1/streams/sensor/records", "from=-1&limit=%zz&limit=5;x"},
		{"GET", "/v1/records/sensor/18446744073709551615", ""},
		{"GET", "/v1/records/sensor/18446744073709551616", ""},
		{"GET", "/v1/records/%00/1", ""},
		{"GET", "/v1/records/sensor/\x00", ""},
		{"GET", "/v1/blocks/latest", ""},
		{"GET", "/v1/blocks/-9223372036854775808", ""},
		{"GET", "/v1/streams/../../etc/passwd", ""},
		{"GET", "/v1/streams/sensor/feed", ""},
		{"POST", "/v1/zk/verify", ""},
		{"DELETE", "/v1/validators", ""},
		{"BREW", "/v1//status", "a=b"},
		{"GET", "/v1/streams/" + strings.Repeat("a", 70), strings.Repeat("&", 100)},
	} {
		f.Add(s[0], s[1], s[2])
	}
	a := newTestAPI(f, func(c *Config) { c.HealthTTL = time.Hour; c.RateLimit = RateLimit{WriteRate: -1, ReadRate: -1} })
	f.Fuzz(func(t *testing.T, method, path, query string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") {
			method = http.MethodGet
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{},
			Body: http.NoBody, Host: "node", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RemoteAddr: "127.0.0.1:1"}
		req = req.WithContext(t.Context())
		w := httptest.NewRecorder()
		a.h.ServeHTTP(w, req)
		if w.Code >= 500 && w.Code != http.StatusServiceUnavailable && w.Code != http.StatusNotImplemented {
			t.Fatalf("%s %q ?%q: %d %s", method, path, query, w.Code, w.Body)
		}
		if w.Code == http.StatusMovedPermanently || w.Code == http.StatusTemporaryRedirect {
			return // ServeMux cleaning the path
		}
		if strings.HasPrefix(path, "/v1") && method != http.MethodHead && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %q ?%q: %d, not JSON: %s", method, path, query, w.Code, w.Body)
		}
	})
}

// FuzzVerify posts any body to /v1/zk/verify: 200, 400 or 413, always
// JSON, never a panic.
func FuzzVerify(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"kind":"chain","proof_b64":"AAAA"}`,
		`{"kind":"chain","proof":"0x4444434841494e01"}`,
		`{"kind":"signature","public_key":"0x1 0x2 0x3 0x4","message":"m","signature":"0x44445a4947475901"}`,
		`{"kind":"signature","public_key":["0x1","0x2","0x3","0x4"],"message_hex":"00","signature_b64":"RERaSUdHWQE="}`,
		`{"kind":"signature","public_key":{"type":"datadragon/ziggy/public-key"},"message":"m","signature":"AA"}`,
		`{"kind":"chain","proof_b64":"AAAA","min_bits":1e309}`,
		`{"kind":"chain"}{"kind":"chain"}`,
	} {
		f.Add([]byte(s))
	}
	// No rate limit: the fuzzer's requests all come from one client.
	a := newTestAPI(f, func(c *Config) { c.MaxBodyBytes = 64 << 10; c.RateLimit = RateLimit{WriteRate: -1, ReadRate: -1} })
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/zk/verify", bytes.NewReader(body))
		w := httptest.NewRecorder()
		a.h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 413, 503:
		default:
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%q: not JSON: %s", body, w.Body)
		}
	})
}
