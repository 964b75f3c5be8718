package api

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

// fakeReader is an in-memory Reader with the app's semantics.
type fakeReader struct {
	mu          sync.Mutex
	initialised bool
	failing     error // returned by every method when set
	status      app.Status
	validators  []app.ValidatorInfo
	streams     []app.StreamInfo
	records     map[string]map[uint64]*app.RecordView
	blocks      map[int64]*app.BlockInfo
}

var _ Reader = (*fakeReader)(nil)

func (f *fakeReader) check() error {
	if f.failing != nil {
		return f.failing
	}
	if !f.initialised {
		return app.ErrNotInitialised
	}
	return nil
}

func (f *fakeReader) Status() (app.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return app.Status{}, err
	}
	return f.status, nil
}

func (f *fakeReader) Validators() ([]app.ValidatorInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return nil, err
	}
	return slices.Clone(f.validators), nil
}

// Governance serves the fake's validators as a set that never changed,
// as app.App does for a chain without governance transactions.
func (f *fakeReader) Governance() (*app.GovernanceView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return nil, err
	}
	v := &app.GovernanceView{History: []app.GovChangeView{}, Open: []app.GovChangeView{}}
	for _, val := range f.validators {
		v.Validators = append(v.Validators, app.GovValidatorView{Index: val.Index, Name: val.Name, Address: val.Address,
			PubKey: val.PubKey, ZiggyPubKey: val.ZiggyPubKey, Power: val.Power})
	}
	return v, nil
}

func (f *fakeReader) Streams() ([]app.StreamInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return nil, err
	}
	return slices.Clone(f.streams), nil
}

func (f *fakeReader) Stream(id string) (app.StreamInfo, error) {
	ss, err := f.Streams()
	if err != nil {
		return app.StreamInfo{}, err
	}
	for _, s := range ss {
		if s.ID == id {
			return s, nil
		}
	}
	return app.StreamInfo{}, fmt.Errorf("stream %q: %w", id, app.ErrNotFound)
}

func (f *fakeReader) Record(stream string, index uint64) (*app.RecordView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return nil, err
	}
	if rv, ok := f.records[stream][index]; ok {
		return rv, nil
	}
	return nil, fmt.Errorf("chunk %s/%d: %w", stream, index, app.ErrNotFound)
}

func (f *fakeReader) Records(stream string, from uint64, limit int) ([]*app.RecordView, *uint64, error) {
	if _, err := f.Stream(stream); err != nil {
		return nil, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if limit <= 0 || limit > app.MaxPageSize {
		limit = app.MaxPageSize
	}
	var idx []uint64
	for i, rv := range f.records[stream] {
		if i >= from && rv.Status != "pending" {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	var out []*app.RecordView
	var next *uint64
	for _, i := range idx {
		if len(out) == limit {
			n := i
			next = &n
			break
		}
		out = append(out, f.records[stream][i])
	}
	return out, next, nil
}

func (f *fakeReader) Block(height int64) (*app.BlockInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return nil, err
	}
	if b, ok := f.blocks[height]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("block %d: %w", height, app.ErrNotFound)
}

// The fixture: 4 validators of power 10 (v3 attests wrong digests), the
// streams "sensor" (250 accepted records and one pending) and "ticker"
// (three records, index 1 disputed).
var (
	fixtureNames = []string{"node0", "node1", "node2", "node3"}
	fixtureTime  = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

func fixtureAddr(v int) []byte {
	a := sha256.Sum256([]byte{byte(v)})
	return a[:20]
}

func fixtureDigest(stream string, index uint64) wire.Digest {
	b := binary.BigEndian.AppendUint64([]byte(stream), index)
	return wire.Digest(sha256.Sum256(b))
}

// wireRecord is a decided record as the app commits it.
func wireRecord(stream string, index uint64, disputed bool) *wire.Record {
	d := fixtureDigest(stream, index)
	bad := fixtureDigest("bad-"+stream, index)
	t := fixtureTime.Add(time.Duration(index) * time.Second).UnixMilli()
	r := &wire.Record{Stream: stream, Index: index, Status: wire.StatusAccepted, Digest: d, TimeMs: t,
		FirstHeight: int64(index) + 2, DecidedHeight: int64(index) + 3, Power: 30, TotalPower: 40}
	for v := range 4 {
		a := wire.RecordAttestation{Validator: fixtureAddr(v), Power: 10, Digest: d, TimeMs: t + int64(v),
			Height: r.FirstHeight, Vote: uint16(v), Leaf: uint16(index % 7), Outcome: wire.OutcomeAgreed}
		if v == 3 {
			a.Digest, a.Outcome = bad, wire.OutcomeFaulty
		}
		r.Attestations = append(r.Attestations, a)
	}
	if disputed {
		r.Status, r.Digest, r.TimeMs, r.Power = wire.StatusDisputed, wire.Digest{}, 0, 0
		for i := range r.Attestations {
			r.Attestations[i].Outcome = wire.OutcomeAttested
			r.Attestations[i].Digest = fixtureDigest(fmt.Sprint("split", i%2), index)
		}
	}
	return r
}

// viewFromWire builds what app.App.Record returns for a decided record
// (settled: absent validators would be listed; here everyone attested).
func viewFromWire(r *wire.Record) *app.RecordView {
	rv := &app.RecordView{Stream: r.Stream, Index: r.Index, Status: r.Status.String(), FirstHeight: r.FirstHeight,
		Height: r.DecidedHeight, TotalPower: r.TotalPower, Attestations: []app.AttestationView{}}
	if r.Status == wire.StatusAccepted {
		rv.Digest, rv.Verdict = r.Digest.String(), r.Verdict.String()
		rv.TimestampMs, rv.Timestamp = r.TimeMs, time.UnixMilli(r.TimeMs).UTC()
		rv.Power = r.Power
	}
	lh := r.LeafHash()
	rv.LeafHash = lh[:]
	for _, a := range r.Attestations {
		v := int(a.Vote)
		rv.Attestations = append(rv.Attestations, app.AttestationView{Validator: app.HexBytes(a.Validator),
			Name: fixtureNames[v], Power: a.Power, Outcome: a.Outcome.String(), Digest: hex.EncodeToString(a.Digest[:]),
			TimeMs: a.TimeMs, Time: time.UnixMilli(a.TimeMs).UTC(), Verdict: a.Verdict.String(), SignatureOK: true,
			Height: a.Height, Vote: int(a.Vote), Leaf: int(a.Leaf)})
	}
	return rv
}

func newFixture() *fakeReader {
	f := &fakeReader{initialised: true, records: map[string]map[uint64]*app.RecordView{}, blocks: map[int64]*app.BlockInfo{}}
	f.status = app.Status{ChainID: "datadragon-test", Height: 300, AppHash: app.HexBytes{0xab, 0xcd},
		Time: fixtureTime.Add(300 * time.Second), Validators: 4, TotalPower: 40,
		Threshold: app.Threshold{Numerator: 1, Denominator: 2}, DisputeWindow: 30, Streams: 2}
	for v := range 4 {
		vi := app.ValidatorInfo{Index: v, Name: fixtureNames[v], Address: fixtureAddr(v),
			PubKey: app.PubKey{Type: "ed25519", Value: make([]byte, 32)}, ZiggyPubKey: make([]byte, 32), Power: 10,
			Attested: 250, Agreed: 250}
		if v == 3 {
			vi.Agreed, vi.Faulty, vi.Absent = 0, 250, 2
		}
		f.validators = append(f.validators, vi)
	}
	last := uint64(249)
	lastT := uint64(2)
	f.streams = []app.StreamInfo{
		{Stream: app.Stream{ID: "sensor", Source: "ws://127.0.0.1:9001/stream", Chunk: app.ChunkPolicy{Messages: 100}},
			Accepted: 250, LastIndex: &last},
		{Stream: app.Stream{ID: "ticker", Source: "ws://127.0.0.1:9002/stream", Chunk: app.ChunkPolicy{WindowMs: 1000},
			Rules: json.RawMessage(`{"max_bytes":4096}`)}, Accepted: 2, Disputed: 1, LastIndex: &lastT},
	}
	f.records["sensor"] = map[uint64]*app.RecordView{}
	for i := range uint64(250) {
		f.records["sensor"][i] = viewFromWire(wireRecord("sensor", i, false))
	}
	f.records["sensor"][250] = &app.RecordView{Stream: "sensor", Index: 250, Status: "pending", FirstHeight: 299,
		TotalPower: 40, Attestations: []app.AttestationView{{Validator: fixtureAddr(0), Name: "node0", Power: 10,
			Digest: fixtureDigest("sensor", 250).String(), Time: fixtureTime, TimeMs: fixtureTime.UnixMilli(),
			Verdict: "ok", SignatureOK: true, Outcome: "none", Height: 299}}}
	f.records["ticker"] = map[uint64]*app.RecordView{}
	for i := range uint64(3) {
		f.records["ticker"][i] = viewFromWire(wireRecord("ticker", i, i == 1))
	}
	for h := int64(1); h <= 300; h++ {
		f.blocks[h] = &app.BlockInfo{Height: h, Time: fixtureTime.Add(time.Duration(h) * time.Second),
			PrevAppHash: []byte{1}, RecordRoot: make([]byte, 32), ChangesetHash: make([]byte, 32), AppHash: []byte{2},
			Accepted: []string{}, Disputed: []string{}}
	}
	f.blocks[5].Accepted = []string{"sensor/2"}
	return f
}

// testAPI is a Handler over the fixture.
type testAPI struct {
	t    *testing.T
	fake *fakeReader
	h    *Handler
}

func newTestAPI(t testing.TB, mod func(*Config)) *testAPI {
	t.Helper()
	f := newFixture()
	cfg := Config{App: f, Node: NodeInfo{Moniker: "node0", Version: "test", Height: func() int64 { return 301 }},
		Registry: prometheus.NewRegistry()}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tt, _ := t.(*testing.T)
	return &testAPI{t: tt, fake: f, h: h}
}

// do serves one request and returns the status and body.
func (a *testAPI) do(method, target string, body io.Reader) (int, []byte, http.Header) {
	req := httptest.NewRequest(method, target, body)
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	return w.Code, w.Body.Bytes(), w.Header()
}

// get expects code and decodes the JSON body into a generic map (or
// slice).
func (a *testAPI) get(target string, code int) map[string]any {
	a.t.Helper()
	c, b, hd := a.do(http.MethodGet, target, nil)
	if c != code {
		a.t.Fatalf("GET %s: status %d, want %d: %s", target, c, code, b)
	}
	if ct := hd.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		a.t.Fatalf("GET %s: content type %q", target, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		a.t.Fatalf("GET %s: body is not a JSON object: %v: %s", target, err, b)
	}
	return m
}

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not a JSON object", v)
	}
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// hasKeys fails unless the object has every key of want.
func hasKeys(t *testing.T, what string, v any, want ...string) {
	t.Helper()
	got := keys(t, v)
	for _, k := range want {
		if !slices.Contains(got, k) {
			t.Errorf("%s: no field %q (has %v)", what, k, got)
		}
	}
}

// setLastAttestations gives every validator a last attestation of
// sensor/249, observed ago before now.
func (f *fakeReader) setLastAttestations(now time.Time, ago time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.validators {
		f.validators[i].LastAttestation = &app.LastAttestation{Stream: "sensor", Index: 249, Height: 299,
			TimeMs: now.Add(-ago).UnixMilli()}
	}
}

// fixtureProducer and fixtureExpert are hex public keys of the push
// fixture.
var (
	fixtureProducer = strings.Repeat("ab", 32)
	fixtureExpert   = strings.Repeat("cd", 32)
)

// addPushFixture registers the push stream "uploads" with three accepted
// records, each a 3 MiB piece of a pushed file decided in block 10:
// index 0 and 1 unsigned gateway pushes (index 1 with the rule violation
// "not monotonic"), index 2 private, signed by fixtureProducer, with an
// endorsement and a dispute by fixtureExpert.
func (f *fakeReader) addPushFixture() {
	f.mu.Lock()
	defer f.mu.Unlock()
	last := uint64(2)
	next := uint64(3)
	f.streams = append(f.streams, app.StreamInfo{Stream: app.Stream{ID: "uploads", Mode: app.ModePush,
		Chunk: app.ChunkPolicy{Messages: 48}, OpenLoopback: true}, Accepted: 3, LastIndex: &last, NextIndex: &next})
	f.status.Streams = len(f.streams)
	f.records["uploads"] = map[uint64]*app.RecordView{}
	for i := range uint64(3) {
		w := wireRecord("uploads", i, false)
		w.DecidedHeight, w.FirstHeight = 10, 9
		rv := viewFromWire(w)
		rv.Push = &app.PushView{FirstSeq: 48 * i, Count: 48, Offset: i * 3 << 20, Bytes: 3 << 20, Private: i == 2,
			TxHeight: 8, Digest: rv.Digest, Verdict: "ok", Origin: make(app.HexBytes, 16)}
		rv.Push.Origin[0] = 7
		switch i {
		case 1:
			rv.Verdict, rv.Push.Verdict = "rule-violation:8", "rule-violation:8"
			for j := range rv.Attestations {
				rv.Attestations[j].Verdict = "rule-violation:8"
			}
		case 2:
			p, _ := hex.DecodeString(fixtureProducer)
			e, _ := hex.DecodeString(fixtureExpert)
			rv.Push.Producer = p
			rv.Experts = []app.ExpertJudgement{
				{Expert: e, Note: "calibrated instrument", Digest: rv.Digest, Height: 11, Signature: make(app.HexBytes, 300)},
				{Expert: e, Dispute: true, Note: "sensor 4 drifted after noon", Digest: rv.Digest, Height: 12, Signature: make(app.HexBytes, 300)},
			}
		}
		f.records["uploads"][i] = rv
	}
}
