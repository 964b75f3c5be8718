package api

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
)

// receiptFixture is the receipt package's fixture: a real receipt of a
// 4-validator chain, its genesis, and the chunk's messages (an observed
// chunk: a JSON list of {"seq","data"}).
func receiptFixture(t *testing.T) (raw []byte, genesis func() (*cmttypes.GenesisDoc, error), data []byte) {
	t.Helper()
	raw, err := os.ReadFile("../receipt/testdata/receipt.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile("../receipt/testdata/data.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmttypes.GenesisDocFromFile("../receipt/testdata/genesis.json"); err != nil {
		t.Fatal(err)
	}
	return raw, func() (*cmttypes.GenesisDoc, error) {
		return cmttypes.GenesisDocFromFile("../receipt/testdata/genesis.json")
	}, data
}

// form builds a multipart/form-data body of the given parts, in order.
func form(t *testing.T, parts ...[2]string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		w, err := mw.CreateFormFile(p[0], p[0]+".json")
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(p[1]))
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

// postVerify posts to /v1/receipts/verify and decodes the answer.
func (a *testAPI) postVerify(body io.Reader, ctype string, code int) ReceiptVerifyResult {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/receipts/verify", body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	if w.Code != code {
		a.t.Fatalf("POST /v1/receipts/verify: %d, want %d: %s", w.Code, code, w.Body)
	}
	if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		a.t.Fatalf("content type %q", w.Header().Get("Content-Type"))
	}
	var res ReceiptVerifyResult
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		a.t.Fatalf("not JSON: %v: %s", err, w.Body)
	}
	if code != http.StatusOK {
		var e errorBody
		if json.Unmarshal(w.Body.Bytes(), &e); e.Error == "" {
			a.t.Fatalf("%d with no error message: %s", code, w.Body)
		}
	}
	return res
}

func TestReceiptVerify(t *testing.T) {
	raw, genesis, data := receiptFixture(t)
	none := newTestAPI(t, nil)
	none.postVerify(bytes.NewReader(raw), "application/json", http.StatusNotImplemented)

	a := newTestAPI(t, func(c *Config) { c.Genesis = genesis })
	rc, err := receipt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := wire.UnmarshalRecord(rc.Record)
	if err != nil {
		t.Fatal(err)
	}
	links := []string{"chain_id", "validators", "record", "record_proof", "block", "header", "commit", "attestations"}

	// The receipt alone, as the JSON body (with or without a content type).
	for _, ct := range []string{"application/json", ""} {
		res := a.postVerify(bytes.NewReader(raw), ct, 200)
		if !res.Valid || res.Stream != rc.Stream || res.Index != rc.Index || res.Digest != rec.Digest.String() ||
			res.ChainID != "dd-test" || !slices.Equal(res.Checked, links) || res.Link != "" || res.Error != "" {
			t.Fatalf("receipt alone (%q): %+v", ct, res)
		}
	}
	// With the chunk's data, in either order.
	for _, order := range [][][2]string{
		{{"receipt", string(raw)}, {"data", string(data)}},
		{{"data", string(data)}, {"receipt", string(raw)}},
	} {
		body, ct := form(t, order...)
		res := a.postVerify(body, ct, 200)
		if !res.Valid || !slices.Equal(res.Checked, append(slices.Clone(links), "data")) {
			t.Fatalf("with data: %+v", res)
		}
	}
	// The receipt alone as a form.
	body, ct := form(t, [2]string{"receipt", string(raw)})
	if res := a.postVerify(body, ct, 200); !res.Valid || slices.Contains(res.Checked, "data") {
		t.Fatalf("form without data: %+v", res)
	}

	// A broken receipt is a result naming the link.
	tamper := func(f func(r *receipt.Receipt)) []byte {
		r, err := receipt.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		f(r)
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		link string
		body []byte
	}{
		{"attestations", tamper(func(r *receipt.Receipt) { r.Attestations[0].Signature[40] ^= 1 })},
		{"block", tamper(func(r *receipt.Receipt) { r.Block.AppHash[0] ^= 1 })},
		{"record_proof", tamper(func(r *receipt.Receipt) { r.RecordProof.Path[0][3] ^= 1 })},
		{"chain_id", tamper(func(r *receipt.Receipt) { r.ChainID = "another-chain" })},
		{"version", tamper(func(r *receipt.Receipt) { r.Version = 9 })},
		{"record", tamper(func(r *receipt.Receipt) { r.Record = r.Record[:10] })},
	} {
		res := a.postVerify(bytes.NewReader(c.body), "application/json", 200)
		if res.Valid || res.Link != c.link || !strings.HasPrefix(res.Error, c.link+": ") || res.Digest != "" || len(res.Checked) != 0 {
			t.Errorf("tampered %s: %+v", c.link, res)
		}
	}
	// Data that is not the chunk's.
	bad := bytes.Replace(data, []byte(`"seq":1,`), []byte(`"seq":7,`), 1)
	body, ct = form(t, [2]string{"receipt", string(raw)}, [2]string{"data", string(bad)})
	if res := a.postVerify(body, ct, 200); res.Valid || res.Link != "data" {
		t.Fatalf("wrong data: %+v", res)
	}
	body, ct = form(t, [2]string{"receipt", string(raw)}, [2]string{"data", "not json"})
	if res := a.postVerify(body, ct, 200); res.Valid || res.Link != "data" {
		t.Fatalf("data that is not a message list: %+v", res)
	}
}

func TestReceiptVerifyMalformed(t *testing.T) {
	raw, genesis, data := receiptFixture(t)
	a := newTestAPI(t, func(c *Config) { c.Genesis = genesis })

	// Garbage: 400.
	for _, b := range []string{"", "not json", "[]", "null", `"receipt"`, `{"version":`, `{"version":"one"}`, string(raw) + "{}"} {
		a.postVerify(strings.NewReader(b), "application/json", http.StatusBadRequest)
	}
	// JSON objects that are not receipts: 400 saying so, not a receipt
	// that failed to verify.
	gen, err := os.ReadFile("../receipt/testdata/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	_, status, _ := a.do(http.MethodGet, "/v1/status", nil)
	for _, b := range []string{"{}", `{"valid":true,"stream":"sensor","index":5}`, string(gen), string(status), "[" + string(raw) + "]"} {
		if res := a.postVerify(strings.NewReader(b), "application/json", http.StatusBadRequest); !strings.Contains(res.Error, "not a receipt") {
			t.Fatalf("%.40q: error %q does not say it is not a receipt", b, res.Error)
		}
		body, ct := form(t, [2]string{"receipt", b})
		if res := a.postVerify(body, ct, http.StatusBadRequest); !strings.Contains(res.Error, "not a receipt") {
			t.Fatalf("%.40q as a form: error %q does not say it is not a receipt", b, res.Error)
		}
	}
	body, ct := form(t, [2]string{"data", string(data)})
	a.postVerify(body, ct, http.StatusBadRequest) // no receipt part
	body, ct = form(t, [2]string{"receipt", string(raw)}, [2]string{"receipt", string(raw)})
	a.postVerify(body, ct, http.StatusBadRequest)
	body, ct = form(t, [2]string{"receipt", string(raw)}, [2]string{"data", "x"}, [2]string{"data", "y"})
	a.postVerify(body, ct, http.StatusBadRequest)
	body, ct = form(t, [2]string{"receipt", string(raw)}, [2]string{"other", "x"})
	a.postVerify(body, ct, http.StatusBadRequest)
	body, ct = form(t, [2]string{"receipt", "garbage"})
	a.postVerify(body, ct, http.StatusBadRequest)
	a.postVerify(strings.NewReader("--x\r\nnot a part"), "multipart/form-data; boundary=x", http.StatusBadRequest)
	a.postVerify(strings.NewReader("whatever"), "multipart/form-data", http.StatusBadRequest) // no boundary
	if code, _, hd := a.do(http.MethodGet, "/v1/receipts/verify", nil); code != http.StatusMethodNotAllowed || hd.Get("Allow") != "POST" {
		t.Fatalf("GET: %d allow %q", code, hd.Get("Allow"))
	}

	// Oversized: 413, by Content-Length and while reading a body of
	// unknown length.
	big := bytes.Repeat([]byte(" "), MaxReceiptBytes+1)
	copy(big, raw)
	a.postVerify(bytes.NewReader(big), "application/json", http.StatusRequestEntityTooLarge)
	req := httptest.NewRequest(http.MethodPost, "/v1/receipts/verify", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body of unknown length: %d %s", w.Code, w.Body)
	}
	// Parts over their limits (lowered here; the real ones are 16 and 80 MiB).
	a.h.maxReceipt, a.h.maxData = int64(len(raw)), int64(len(data))
	body, ct = form(t, [2]string{"receipt", string(raw)}, [2]string{"data", string(data) + " "})
	a.postVerify(body, ct, http.StatusRequestEntityTooLarge)
	body, ct = form(t, [2]string{"receipt", string(raw) + " "})
	a.postVerify(body, ct, http.StatusRequestEntityTooLarge)
	body, ct = form(t, [2]string{"receipt", string(raw)}, [2]string{"data", string(data)})
	if res := a.postVerify(body, ct, 200); !res.Valid {
		t.Fatalf("at the limits: %+v", res)
	}
	// The whole request over the sum of the limits, by Content-Length and
	// while reading.
	huge := strings.Repeat("x", int(a.h.maxReceipt+a.h.maxData+multipartOverhead))
	body, ct = form(t, [2]string{"receipt", string(raw)}, [2]string{"data", huge})
	a.postVerify(body, ct, http.StatusRequestEntityTooLarge)
	body, ct = form(t, [2]string{"receipt", string(raw)}, [2]string{"data", huge})
	req = httptest.NewRequest(http.MethodPost, "/v1/receipts/verify", io.MultiReader(body))
	req.Header.Set("Content-Type", ct)
	req.ContentLength = -1
	w = httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized form of unknown length: %d %s", w.Code, w.Body)
	}
}

// TestReceiptVerifyBusy: receipts share the verification slots of
// /v1/zk/verify; with every slot taken the answer is 503 at once.
func TestReceiptVerifyBusy(t *testing.T) {
	raw, genesis, _ := receiptFixture(t)
	a := newTestAPI(t, func(c *Config) { c.Genesis = genesis; c.MaxVerifications = 1 })
	a.h.verifies <- struct{}{}
	req := httptest.NewRequest(http.MethodPost, "/v1/receipts/verify", bytes.NewReader(raw))
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("busy: %d %s", w.Code, w.Body)
	}
	<-a.h.verifies
	if res := a.postVerify(bytes.NewReader(raw), "", 200); !res.Valid {
		t.Fatalf("after the slot is free: %+v", res)
	}
}
