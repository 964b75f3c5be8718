package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkRecordLookup measures GET /v1/records/{stream}/{index} (a
// record with 4 attestations) through the handler: routing, parsing,
// the Reader call (an in-memory fake here), mapping, JSON and metrics.
func BenchmarkRecordLookup(b *testing.B) {
	a := newTestAPI(b, nil)
	req := httptest.NewRequest(http.MethodGet, "/v1/records/sensor/123", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		a.h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkRecordLookupHTTP is the same over a loopback HTTP/1.1
// connection with keep-alive.
func BenchmarkRecordLookupHTTP(b *testing.B) {
	a := newTestAPI(b, nil)
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	client := srv.Client()
	url := srv.URL + "/v1/records/sensor/123"
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}

// BenchmarkRecordsPage measures a page of 100 records.
func BenchmarkRecordsPage(b *testing.B) {
	a := newTestAPI(b, nil)
	req := httptest.NewRequest(http.MethodGet, "/v1/streams/sensor/records?from=50&limit=100", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		a.h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
