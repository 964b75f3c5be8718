package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
)

// Limits of POST /v1/receipts/verify.
const (
	// MaxReceiptBytes bounds the receipt (the JSON body, or the multipart
	// "receipt" part).
	MaxReceiptBytes = 16 << 20
	// MaxReceiptDataBytes bounds the multipart "data" part: the whole
	// pushed file, the chunk's bytes, or an observed chunk's JSON list of
	// messages.
	MaxReceiptDataBytes = 80 << 20
	// multipartOverhead is what the boundaries and part headers of a
	// request may add to its two parts.
	multipartOverhead = 1 << 20
)

// ReceiptVerifyResult is the answer of POST /v1/receipts/verify. A receipt
// that does not verify is a result too: Valid false, Link naming the first
// link that does not hold (receipt.LinkError) and Error saying why.
type ReceiptVerifyResult struct {
	Valid bool `json:"valid"`
	// Stream and Index are what the receipt claims to be a receipt of.
	Stream string `json:"stream"`
	Index  uint64 `json:"index"`
	// ChainID is the chain of the genesis the receipt was checked against.
	ChainID string `json:"chain_id"`
	// Digest is the accepted chunk digest, hex; set when valid.
	Digest string `json:"digest,omitempty"`
	// Checked lists the links that were verified, in order; "data" ends it
	// when the chunk's data was sent and hashes to Digest.
	Checked []string `json:"checked,omitempty"`
	Link    string   `json:"link,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// receiptLinks are the links receipt.Verify checks on every receipt.
var receiptLinks = []string{"chain_id", "validators", "record", "record_proof", "block", "header", "commit", "attestations"}

// verifyReceipt serves POST /v1/receipts/verify: the receipt as the JSON
// body, or multipart/form-data with a "receipt" part and an optional
// "data" part (streamed to a temporary file; only the chunk's bytes are
// read back into memory when the data is a pushed file).
func (h *Handler) verifyReceipt(w http.ResponseWriter, r *http.Request) {
	if h.genesis == nil {
		writeError(w, http.StatusNotImplemented, "this server cannot verify receipts (it has no genesis); verify offline with 'datadragon verify RECEIPT --genesis genesis.json'")
		return
	}
	var raw []byte
	var data *os.File
	defer func() {
		if data != nil {
			data.Close()
			os.Remove(data.Name())
		}
	}()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		var code int
		var err error
		raw, data, code, err = h.readReceiptForm(w, r)
		if err != nil {
			writeError(w, code, err.Error())
			return
		}
	} else {
		if r.ContentLength > h.maxReceipt {
			h.receiptTooLarge(w, "the receipt", h.maxReceipt)
			return
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxReceipt))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				h.receiptTooLarge(w, "the receipt", h.maxReceipt)
				return
			}
			writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
			return
		}
		raw = b
	}
	rc, err := parseReceipt(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	gen, err := h.genesis()
	if err != nil {
		h.log.Error("api: reading the genesis to verify a receipt", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error reading the node's genesis; the node's log has the details")
		return
	}
	if !h.acquire(w) {
		return
	}
	res, err := checkReceipt(rc, gen, data)
	h.release()
	if err != nil {
		h.log.Error("api: reading the uploaded data of a receipt", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error reading the uploaded data; the node's log has the details")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *Handler) receiptTooLarge(w http.ResponseWriter, what string, limit int64) {
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s is larger than %d bytes, the most this node verifies; verify it offline with 'datadragon verify'", what, limit))
}

// readReceiptForm reads the multipart form: the receipt into memory, the
// data into a temporary file. On error it returns the status to answer
// (the error message is the body).
func (h *Handler) readReceiptForm(w http.ResponseWriter, r *http.Request) ([]byte, *os.File, int, error) {
	limit := h.maxReceipt + h.maxData + multipartOverhead
	if r.ContentLength > limit {
		return nil, nil, http.StatusRequestEntityTooLarge, fmt.Errorf("the request is larger than %d bytes: the receipt may have %d and the data %d", limit, h.maxReceipt, h.maxData)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, http.StatusBadRequest, fmt.Errorf("the body is not multipart/form-data: %v", err)
	}
	var raw []byte
	var data *os.File
	fail := func(code int, err error) ([]byte, *os.File, int, error) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			code, err = http.StatusRequestEntityTooLarge, fmt.Errorf("the request is larger than %d bytes: the receipt may have %d and the data %d", limit, h.maxReceipt, h.maxData)
		}
		if data != nil {
			data.Close()
			os.Remove(data.Name())
		}
		return nil, nil, code, err
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(http.StatusBadRequest, fmt.Errorf("reading the form: %v", err))
		}
		switch name := p.FormName(); name {
		case "receipt":
			if raw != nil {
				return fail(http.StatusBadRequest, errors.New(`the form has two "receipt" parts; send one`))
			}
			b, err := io.ReadAll(io.LimitReader(p, h.maxReceipt+1))
			if err != nil {
				return fail(http.StatusBadRequest, fmt.Errorf("reading the receipt part: %v", err))
			}
			if int64(len(b)) > h.maxReceipt {
				return fail(http.StatusRequestEntityTooLarge, fmt.Errorf("the receipt is larger than %d bytes, the most this node verifies; verify it offline with 'datadragon verify'", h.maxReceipt))
			}
			raw = b
		case "data":
			if data != nil {
				return fail(http.StatusBadRequest, errors.New(`the form has two "data" parts; send one`))
			}
			f, err := os.CreateTemp("", "datadragon-verify-*")
			if err != nil {
				return fail(http.StatusInternalServerError, errors.New("internal error: no room for the data"))
			}
			data = f
			n, err := io.Copy(f, io.LimitReader(p, h.maxData+1))
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return fail(http.StatusRequestEntityTooLarge, err)
				}
				if _, ok := err.(*os.PathError); ok {
					h.log.Error("api: storing the data of a receipt", "err", err)
					return fail(http.StatusInternalServerError, errors.New("internal error storing the data; the node's log has the details"))
				}
				return fail(http.StatusBadRequest, fmt.Errorf("reading the data part: %v", err))
			}
			if n > h.maxData {
				return fail(http.StatusRequestEntityTooLarge, fmt.Errorf("the data is larger than %d bytes, the most this node verifies; verify it offline with 'datadragon verify --data'", h.maxData))
			}
		default:
			return fail(http.StatusBadRequest, fmt.Errorf(`unknown form part %.64q: send "receipt" and optionally "data"`, name))
		}
	}
	if raw == nil {
		return fail(http.StatusBadRequest, errors.New(`the form has no "receipt" part`))
	}
	return raw, data, 0, nil
}

// parseReceipt decodes a receipt file: one JSON object.
func parseReceipt(raw []byte) (*receipt.Receipt, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return nil, errors.New("not a receipt: a receipt is one JSON object, as GET /v1/receipts/STREAM/INDEX answers (a bundle of several is verified offline with 'datadragon verify')")
	}
	rc, err := receipt.Parse(t)
	if err != nil {
		return nil, fmt.Errorf("the receipt cannot be read: %v", err)
	}
	return rc, nil
}

// checkReceipt verifies rc against gen and, when data is not nil, the
// chunk's data in it. For a pushed chunk only the chunk's bytes are read
// from data. The error is for failures reading data, never for a receipt
// that does not verify.
func checkReceipt(rc *receipt.Receipt, gen *cmttypes.GenesisDoc, data *os.File) (*ReceiptVerifyResult, error) {
	res := &ReceiptVerifyResult{Stream: rc.Stream, Index: rc.Index, ChainID: gen.ChainID}
	rec, _ := wire.UnmarshalRecord(rc.Record) // Verify reports a bad record
	var err error
	switch {
	case data == nil || rec == nil:
		err = receipt.Verify(rc, gen, nil)
	case rec.Push != nil:
		st, serr := data.Stat()
		if serr != nil {
			return nil, serr
		}
		size, n, off := uint64(st.Size()), rec.Push.Bytes(), rec.Push.Offset
		switch {
		case size == n:
			off = 0
			fallthrough
		case size > n && off <= size-n:
			chunk := make([]byte, n)
			if _, rerr := data.ReadAt(chunk, int64(off)); rerr != nil && !(rerr == io.EOF && n == 0) {
				return nil, rerr
			}
			err = receipt.Verify(rc, gen, chunk)
		default:
			// Check every other link before blaming the data, as Verify does.
			if err = receipt.Verify(rc, gen, nil); err == nil {
				err = &receipt.LinkError{Link: "data", Err: fmt.Errorf("%d bytes: neither the chunk (%d bytes) nor a file holding it at offset %d", size, n, off)}
			}
		}
	default:
		// An observed chunk: its messages as a JSON list, read whole.
		if _, serr := data.Seek(0, io.SeekStart); serr != nil {
			return nil, serr
		}
		b, rerr := io.ReadAll(data)
		if rerr != nil {
			return nil, rerr
		}
		err = receipt.Verify(rc, gen, b)
	}
	if err != nil {
		res.Link, res.Error = receipt.BrokenLink(err), err.Error()
		if res.Link == "" {
			res.Link = "receipt"
		}
		return res, nil
	}
	res.Valid, res.Digest = true, rec.Digest.String()
	res.Checked = append([]string{}, receiptLinks...)
	if rec.Push != nil && len(rec.Push.Producer) > 0 {
		res.Checked = append(res.Checked, "producer_signature")
	}
	if data != nil {
		res.Checked = append(res.Checked, "data")
	}
	return res, nil
}
