package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datadragon/datadragon/app"
)

func TestStatus(t *testing.T) {
	a := newTestAPI(t, nil)
	m := a.get("/v1/status", 200)
	hasKeys(t, "status", m, "initialised", "chain_id", "height", "app_hash", "time", "validators", "total_power",
		"threshold", "dispute_window", "streams", "node")
	if m["chain_id"] != "datadragon-test" || m["height"] != 300.0 || m["app_hash"] != "abcd" || m["initialised"] != true {
		t.Fatalf("status %v", m)
	}
	if m["time"] != "2025-01-01T00:05:00Z" {
		t.Fatalf("time %v", m["time"])
	}
	th := m["threshold"].(map[string]any)
	if th["numerator"] != 1.0 || th["denominator"] != 2.0 {
		t.Fatalf("threshold %v", th)
	}
	node := m["node"].(map[string]any)
	if node["moniker"] != "node0" || node["consensus_height"] != 301.0 || node["version"] != "test" {
		t.Fatalf("node %v", node)
	}

	// Before InitChain the status still answers, saying so.
	a.fake.initialised = false
	m = a.get("/v1/status", 200)
	if m["initialised"] != false || m["time"] != nil || m["node"].(map[string]any)["moniker"] != "node0" {
		t.Fatalf("uninitialised status %v", m)
	}
}

func TestValidators(t *testing.T) {
	a := newTestAPI(t, nil)
	m := a.get("/v1/validators", 200)
	if got := keys(t, m); !slices.Equal(got, []string{"validators"}) {
		t.Fatalf("keys %v", got)
	}
	vs := m["validators"].([]any)
	if len(vs) != 4 {
		t.Fatalf("%d validators", len(vs))
	}
	for _, v := range vs {
		hasKeys(t, "validator", v, "index", "name", "address", "pub_key", "ziggy_pub_key", "power", "attested",
			"agreed", "faulty", "absent", "equivocations", "gaps", "late")
	}
	v3 := vs[3].(map[string]any)
	if v3["name"] != "node3" || v3["faulty"] != 250.0 || v3["absent"] != 2.0 || v3["power"] != 10.0 {
		t.Fatalf("validator 3: %v", v3)
	}
	if addr := v3["address"].(string); len(addr) != 40 {
		t.Fatalf("address %q is not 20 bytes of hex", addr)
	}
}

func TestStreams(t *testing.T) {
	a := newTestAPI(t, nil)
	m := a.get("/v1/streams", 200)
	if got := keys(t, m); !slices.Equal(got, []string{"streams"}) {
		t.Fatalf("keys %v", got)
	}
	ss := m["streams"].([]any)
	if len(ss) != 2 {
		t.Fatalf("%d streams", len(ss))
	}
	for _, s := range ss {
		hasKeys(t, "stream", s, "id", "source", "chunk", "accepted", "disputed", "last_index")
	}
	tk := ss[1].(map[string]any)
	if tk["id"] != "ticker" || tk["disputed"] != 1.0 || tk["chunk"].(map[string]any)["window_ms"] != 1000.0 ||
		tk["rules"].(map[string]any)["max_bytes"] != 4096.0 {
		t.Fatalf("ticker %v", tk)
	}
	one := a.get("/v1/streams/sensor", 200)
	if one["id"] != "sensor" || one["accepted"] != 250.0 || one["last_index"] != 249.0 {
		t.Fatalf("sensor %v", one)
	}
	e := a.get("/v1/streams/nope", 404)
	if !strings.Contains(e["error"].(string), "unknown stream") {
		t.Fatalf("error %v", e)
	}
	a.get("/v1/streams/-bad", 400)
}

func TestRecordShape(t *testing.T) {
	a := newTestAPI(t, nil)
	m := a.get("/v1/records/sensor/7", 200)
	hasKeys(t, "record", m, "stream", "index", "digest", "timestamp", "height", "status", "attestations",
		"verdict", "timestamp_ms", "first_height", "power", "total_power", "settled", "leaf_hash")
	want := fixtureDigest("sensor", 7).String()
	if m["stream"] != "sensor" || m["index"] != 7.0 || m["digest"] != want || m["status"] != "accepted" ||
		m["height"] != 10.0 || m["timestamp"] != "2025-01-01T00:00:07Z" || m["verdict"] != "ok" {
		t.Fatalf("record %v", m)
	}
	atts := m["attestations"].([]any)
	if len(atts) != 4 {
		t.Fatalf("%d attestations", len(atts))
	}
	for _, at := range atts {
		hasKeys(t, "attestation", at, "validator", "digest", "time", "verdict", "signature_ok", "outcome", "name",
			"power")
	}
	a0, a3 := atts[0].(map[string]any), atts[3].(map[string]any)
	if a0["digest"] != want || a0["verdict"] != "ok" || a0["signature_ok"] != true || a0["outcome"] != "agreed" ||
		a0["time"] != "2025-01-01T00:00:07Z" || a0["name"] != "node0" {
		t.Fatalf("attestation 0: %v", a0)
	}
	if a3["digest"] == want || a3["outcome"] != "faulty" {
		t.Fatalf("attestation 3: %v", a3)
	}

	// Index 0 exists; a pending record has a null timestamp and no digest.
	a.get("/v1/records/sensor/0", 200)
	p := a.get("/v1/records/sensor/250", 200)
	if p["status"] != "pending" || p["timestamp"] != nil || p["digest"] != "" || p["height"] != 0.0 {
		t.Fatalf("pending %v", p)
	}
	d := a.get("/v1/records/ticker/1", 200)
	if d["status"] != "disputed" || d["timestamp"] != nil || d["digest"] != "" {
		t.Fatalf("disputed %v", d)
	}
}

func TestRecordErrors(t *testing.T) {
	a := newTestAPI(t, nil)
	for target, want := range map[string]string{
		"/v1/records/nope/1":      "unknown stream",
		"/v1/records/sensor/9999": "no record at index 9999",
	} {
		e := a.get(target, 404)
		if !strings.Contains(e["error"].(string), want) {
			t.Errorf("%s: %v", target, e)
		}
	}
	for _, target := range []string{
		"/v1/records/sensor/-1", "/v1/records/sensor/abc", "/v1/records/sensor/1e3", "/v1/records/sensor/0x10",
		"/v1/records/sensor/18446744073709551616", "/v1/records/sensor/%20", "/v1/records/sensor/+1",
		"/v1/records/-x/1", "/v1/records/a%2Fb/1", "/v1/records/" + strings.Repeat("s", 65) + "/1",
		"/v1/records/sensor/" + strings.Repeat("9", 5000),
	} {
		e := a.get(target, 400)
		if msg := e["error"].(string); msg == "" || len(msg) > 400 {
			t.Errorf("%s: error %q", target, msg)
		}
	}
	// The largest index parses (and is not there).
	a.get("/v1/records/sensor/18446744073709551615", 404)
}

func TestRecordsPagination(t *testing.T) {
	a := newTestAPI(t, nil)
	m := a.get("/v1/streams/sensor/records", 200)
	if got := keys(t, m); !slices.Equal(got, []string{"next", "records", "stream"}) {
		t.Fatalf("keys %v", got)
	}
	if recs := m["records"].([]any); len(recs) != DefaultPageSize || m["next"] != 100.0 {
		t.Fatalf("default page: %d records, next %v", len(recs), m["next"])
	}
	hasKeys(t, "record", m["records"].([]any)[0], "stream", "index", "digest", "timestamp", "height", "status", "attestations")

	// Walk every page; the pending record 250 is not listed.
	var got []float64
	from := "0"
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		m := a.get("/v1/streams/sensor/records?limit=64&from="+from, 200)
		for _, r := range m["records"].([]any) {
			got = append(got, r.(map[string]any)["index"].(float64))
		}
		if m["next"] == nil {
			break
		}
		from = fmt.Sprint(m["next"])
	}
	if len(got) != 250 || got[0] != 0 || got[249] != 249 || !slices.IsSorted(got) {
		t.Fatalf("walked %d records", len(got))
	}

	// Beyond the end: an empty list, not null; next null.
	m = a.get("/v1/streams/sensor/records?from=1000", 200)
	if recs, ok := m["records"].([]any); !ok || len(recs) != 0 || m["next"] != nil {
		t.Fatalf("past the end: %v", m)
	}
	// Limits and unknown parameters.
	if n := len(a.get("/v1/streams/sensor/records?limit=1000", 200)["records"].([]any)); n != 250 {
		t.Fatalf("limit 1000: %d", n)
	}
	if n := len(a.get("/v1/streams/sensor/records?limit=1&limit=7&foo=bar&x=%zz&from=", 200)["records"].([]any)); n != 1 {
		t.Fatalf("first limit counts: %d", n)
	}
	m = a.get("/v1/streams/sensor/records?from=248&limit=5", 200)
	if len(m["records"].([]any)) != 2 || m["next"] != nil {
		t.Fatalf("tail: %v", m)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=abc", "limit=-1", "limit=1.5", "from=-1", "from=abc",
		"from=%zz", "limit=" + strings.Repeat("1", 100), "from=99999999999999999999"} {
		e := a.get("/v1/streams/sensor/records?"+q, 400)
		if !strings.Contains(e["error"].(string), strings.SplitN(q, "=", 2)[0]) {
			t.Errorf("%s: error %v does not name the parameter", q, e)
		}
	}
	a.get("/v1/streams/nope/records", 404)
	a.get("/v1/streams/bad!/records", 400)
}

func TestBlocks(t *testing.T) {
	a := newTestAPI(t, nil)
	m := a.get("/v1/blocks/5", 200)
	hasKeys(t, "block", m, "height", "time", "prev_app_hash", "record_root", "changeset_hash", "app_hash",
		"accepted", "disputed", "attestations", "extensions")
	if m["height"] != 5.0 || m["accepted"].([]any)[0] != "sensor/2" || m["disputed"] == nil {
		t.Fatalf("block %v", m)
	}
	if l := a.get("/v1/blocks/latest", 200); l["height"] != 300.0 {
		t.Fatalf("latest %v", l)
	}
	a.get("/v1/blocks/301", 404)
	for _, h := range []string{"0", "-1", "abc", "1.0", "9223372036854775808"} {
		a.get("/v1/blocks/"+h, 400)
	}
}

func TestMethodsAndUnknownRoutes(t *testing.T) {
	a := newTestAPI(t, nil)
	for _, c := range []struct{ method, target, allow string }{
		{http.MethodPost, "/v1/status", "GET, HEAD"},
		{http.MethodDelete, "/v1/records/sensor/1", "GET, HEAD"},
		{http.MethodPut, "/v1/streams", "GET, HEAD"},
		{http.MethodGet, "/v1/zk/verify", "POST"},
		{http.MethodPost, "/metrics", "GET, HEAD"},
	} {
		code, body, hd := a.do(c.method, c.target, nil)
		if code != http.StatusMethodNotAllowed || hd.Get("Allow") != c.allow || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s %s: %d allow %q %s", c.method, c.target, code, hd.Get("Allow"), body)
		}
	}
	if code, _, _ := a.do(http.MethodHead, "/v1/status", nil); code != 200 {
		t.Errorf("HEAD: %d", code)
	}
	for _, target := range []string{"/v2/status", "/v1/status/", "/v1/records/sensor", "/v1/nothing"} {
		e := a.get(target, 404)
		if !strings.Contains(e["error"].(string), "GET /v1") {
			t.Errorf("%s: %v", target, e)
		}
	}
	idx := a.get("/v1", 200)
	if len(idx["routes"].([]any)) < 10 {
		t.Fatalf("index %v", idx)
	}
}

func TestNotInitialisedAndFailures(t *testing.T) {
	a := newTestAPI(t, nil)
	a.fake.initialised = false
	for _, target := range []string{"/v1/validators", "/v1/streams", "/v1/streams/sensor/records", "/v1/records/sensor/1", "/v1/blocks/latest"} {
		code, body, hd := a.do(http.MethodGet, target, nil)
		if code != http.StatusServiceUnavailable || hd.Get("Retry-After") == "" || !strings.Contains(string(body), "not initialised") {
			t.Errorf("%s: %d %s", target, code, body)
		}
	}
	a.fake.initialised = true
	a.fake.failing = errors.New("disk on fire")
	code, body, _ := a.do(http.MethodGet, "/v1/validators", nil)
	if code != 500 || strings.Contains(string(body), "fire") {
		t.Errorf("internal error: %d %s", code, body)
	}
}

func TestNilFromReader(t *testing.T) {
	a := newTestAPI(t, nil)
	a.fake.records["sensor"][3] = nil                                         // a Reader that returns (nil, nil)
	a.fake.records["sensor"][4] = &app.RecordView{Stream: "sensor", Index: 4} // nil attestations
	a.get("/v1/records/sensor/3", 404)
	a.get("/v1/records/sensor/4", 200)
}

func TestServer(t *testing.T) {
	s := Server("127.0.0.1:0", http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Fatalf("timeouts %+v", s)
	}
}

func TestNewNeedsApp(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("no error without an app")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Config{App: newFixture(), Registry: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{App: newFixture(), Registry: reg}); err == nil {
		t.Fatal("two handlers on one registry")
	}
}

func TestHealthz(t *testing.T) {
	a := newTestAPI(t, func(c *Config) { c.HealthTTL = time.Hour })
	m := a.get("/healthz", 200)
	hasKeys(t, "healthz", m, "ok", "chain", "self_check", "node")
	sc := m["self_check"].(map[string]any)
	if m["ok"] != true || sc["ok"] != true || sc["error"] != nil || !strings.Contains(sc["statement"].(string), "rescue-chain length 3") {
		t.Fatalf("healthz %v", m)
	}
	for range 5 {
		a.get("/healthz", 200)
	}
	if n := a.h.health.runs.Load(); n != 1 {
		t.Fatalf("self-check ran %d times within its TTL", n)
	}
	a.fake.initialised = false
	m = a.get("/healthz", 503)
	if m["ok"] != false || m["self_check"].(map[string]any)["ok"] != true {
		t.Fatalf("uninitialised healthz %v", m)
	}
}

func TestSelfCheckRerunsAfterTTL(t *testing.T) {
	s := &selfCheck{ttl: time.Nanosecond}
	r1 := s.get()
	time.Sleep(time.Millisecond)
	r2 := s.get()
	if !r1.OK || !r2.OK || s.runs.Load() != 2 || !r2.CheckedAt.After(r1.CheckedAt) {
		t.Fatalf("%+v %+v runs %d", r1, r2, s.runs.Load())
	}
}

func TestMetrics(t *testing.T) {
	a := newTestAPI(t, nil)
	a.get("/v1/status", 200)
	a.get("/v1/records/sensor/1", 200)
	a.get("/v1/records/sensor/x", 400)
	a.get("/healthz", 200)
	code, body, hd := a.do(http.MethodGet, "/metrics", nil)
	if code != 200 || !strings.HasPrefix(hd.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", code, hd.Get("Content-Type"))
	}
	text := string(body)
	for _, want := range []string{
		"datadragon_height 300",
		"datadragon_consensus_height 301",
		`datadragon_records_accepted_total{stream="sensor"} 250`,
		`datadragon_records_disputed_total{stream="ticker"} 1`,
		`datadragon_stream_last_index{stream="sensor"} 249`,
		`datadragon_validator_faulty_total{name="node3",validator="` + fmt.Sprintf("%x", fixtureAddr(3)) + `"} 250`,
		`datadragon_validator_absent_total{name="node3"`,
		`datadragon_validator_attestations_total{name="node0"`,
		`datadragon_http_requests_total{code="200",route="/v1/records/{stream}/{index}"} 1`,
		`datadragon_http_requests_total{code="400",route="/v1/records/{stream}/{index}"} 1`,
		`datadragon_http_request_duration_seconds_bucket{route="/v1/status"`,
		"datadragon_feed_subscribers 0",
		`datadragon_feed_dropped_total{reason="slow"} 0`,
		"datadragon_selfcheck_ok 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "datadragon_") {
			t.Errorf("series without the datadragon_ prefix: %s", line)
		}
	}
	// Before InitChain the chain series are left out, not errors.
	a.fake.initialised = false
	code, body, _ = a.do(http.MethodGet, "/metrics", nil)
	if code != 200 || strings.Contains(string(body), "datadragon_height ") {
		t.Fatalf("uninitialised metrics: %d", code)
	}
}

func TestRecordMappingsAgree(t *testing.T) {
	names := map[string]string{}
	for v, n := range fixtureNames {
		names[fmt.Sprintf("%x", fixtureAddr(v))] = n
	}
	for _, disputed := range []bool{false, true} {
		w := wireRecord("sensor", 42, disputed)
		fromWire, _ := json.Marshal(recordFromWire(w, names))
		fromView, _ := json.Marshal(recordFromView(viewFromWire(w)))
		if string(fromWire) != string(fromView) {
			t.Fatalf("disputed=%v:\nfeed %s\nREST %s", disputed, fromWire, fromView)
		}
	}
}

// A damaged state file: every read route and /healthz answer 503 with the
// app's message (the file and what to do), never the generic 500.
func TestDamagedStateIsUnhealthyAndNamed(t *testing.T) {
	a := newTestAPI(t, nil)
	// As the app words it (store.CorruptError).
	a.fake.failing = fmt.Errorf(`/srv/node0/data/app/app.db is corrupt (bucket "chunks", key 00: the value does not match its checksum); the node refuses to serve or extend this state. %s: %w`, app.CorruptAdvice, app.ErrCorrupt)
	for _, target := range []string{"/v1/status", "/v1/validators", "/v1/streams", "/v1/streams/sensor", "/v1/streams/sensor/records", "/v1/records/sensor/5", "/v1/blocks/latest", "/v1/blocks/3"} {
		code, body, _ := a.do(http.MethodGet, target, nil)
		if code != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503: %s", target, code, body)
			continue
		}
		for _, want := range []string{"damaged", "/srv/node0/data/app/app.db", "ask another node", "move the file aside"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("%s: the answer does not say %q: %s", target, want, body)
			}
		}
	}
	h := a.get("/healthz", http.StatusServiceUnavailable)
	ch := h["chain"].(map[string]any)
	if h["ok"] != false || ch["damaged"] != true || !strings.Contains(ch["error"].(string), "/srv/node0/data/app/app.db") ||
		!strings.Contains(ch["error"].(string), app.CorruptAdvice) {
		t.Fatalf("healthz on damaged state: %v", h)
	}
}
