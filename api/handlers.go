package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
)

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	s, err := h.app.Status()
	var out Status
	switch {
	case err == nil:
		out = statusFrom(s)
	case errors.Is(err, app.ErrNotInitialised):
		out = Status{}
	default:
		h.appError(w, r, err, "")
		return
	}
	out.Node = h.nodeStatus()
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) nodeStatus() NodeStatus {
	ns := NodeStatus{Moniker: h.node.Moniker, Version: h.node.Version}
	if h.node.Height != nil {
		ch := h.node.Height()
		ns.ConsensusHeight = &ch
	}
	return ns
}

func (h *Handler) validators(w http.ResponseWriter, r *http.Request) {
	vs, err := h.app.Validators()
	if err != nil {
		h.appError(w, r, err, "")
		return
	}
	out := ValidatorList{Validators: make([]Validator, 0, len(vs))}
	for _, v := range vs {
		out.Validators = append(out.Validators, validatorFrom(v))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) streams(w http.ResponseWriter, r *http.Request) {
	ss, err := h.app.Streams()
	if err != nil {
		h.appError(w, r, err, "")
		return
	}
	out := StreamList{Streams: make([]Stream, 0, len(ss))}
	src, errs := h.sourceStatus(), h.pushErrors()
	for _, s := range ss {
		v := streamFrom(s)
		v.SourceStatus, v.GatewayError = src[s.ID], errs[s.ID]
		out.Streams = append(out.Streams, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) stream(w http.ResponseWriter, r *http.Request) {
	id, ok := streamID(w, r.PathValue("id"))
	if !ok {
		return
	}
	s, err := h.app.Stream(id)
	if err != nil {
		h.appError(w, r, err, unknownStream(id))
		return
	}
	v := streamFrom(s)
	v.SourceStatus, v.GatewayError = h.sourceStatus()[id], h.pushErrors()[id]
	writeJSON(w, http.StatusOK, v)
}

// sourceStatus returns what the observers say of their sources (nil if
// nothing).
func (h *Handler) sourceStatus() map[string]string {
	if h.srcStat == nil {
		return nil
	}
	return h.srcStat()
}

// pushErrors returns the streams the gateway takes no pushes for (nil if
// none).
func (h *Handler) pushErrors() map[string]string {
	if h.pushErrs == nil {
		return nil
	}
	return h.pushErrs()
}

func (h *Handler) records(w http.ResponseWriter, r *http.Request) {
	id, ok := streamID(w, r.PathValue("id"))
	if !ok {
		return
	}
	from, limit, err := parsePage(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	recs, next, err := h.app.Records(id, from, limit)
	if err != nil {
		h.appError(w, r, err, unknownStream(id))
		return
	}
	out := RecordPage{Stream: id, Records: make([]Record, 0, len(recs))}
	for _, rv := range recs {
		if rv != nil {
			out.Records = append(out.Records, recordFromView(rv))
		}
	}
	if next != nil {
		n := *next
		out.Next = &n
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) record(w http.ResponseWriter, r *http.Request) {
	id, ok := streamID(w, r.PathValue("stream"))
	if !ok {
		return
	}
	index, err := parseIndex(r.PathValue("index"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rv, err := h.app.Record(id, index)
	if err == nil && rv == nil {
		err = app.ErrNotFound
	}
	if err != nil {
		msg := fmt.Sprintf("stream %q has no record at index %d yet; GET /v1/streams/%s/records lists the decided ones", id, index, id)
		if errors.Is(err, app.ErrNotFound) {
			if _, serr := h.app.Stream(id); errors.Is(serr, app.ErrNotFound) {
				msg = unknownStream(id)
			}
		}
		h.appError(w, r, err, msg)
		return
	}
	rec := recordFromView(rv)
	if h.fetchFinding != nil && rv.Push != nil {
		rec.LocalFetch = h.fetchFinding(id, index)
	}
	writeJSON(w, http.StatusOK, rec)
}

func (h *Handler) receipt(w http.ResponseWriter, r *http.Request) {
	if h.receipts == nil {
		writeError(w, http.StatusNotImplemented, "this server does not build receipts")
		return
	}
	id, ok := streamID(w, r.PathValue("stream"))
	if !ok {
		return
	}
	index, err := parseIndex(r.PathValue("index"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rc, err := h.receipts.Receipt(id, index)
	if err != nil {
		msg := fmt.Sprintf("no receipt for %s/%d: only accepted records have one, from the block after the one that decided them (%v)", id, index, err)
		if errors.Is(err, app.ErrNotFound) {
			if _, serr := h.app.Stream(id); errors.Is(serr, app.ErrNotFound) {
				msg = unknownStream(id)
			}
		}
		h.appError(w, r, err, msg)
		return
	}
	if f := r.URL.Query().Get("format"); f == "ddr" {
		// The same receipt as a file receipt: binary, signatures as bytes,
		// only the attestations the threshold needs.
		var th ddr.Threshold
		if st, err := h.app.Status(); err == nil {
			th = ddr.Threshold{Numerator: st.Threshold.Numerator, Denominator: st.Threshold.Denominator}
		}
		fr, err := ddr.From([]*receipt.Receipt{rc}, th)
		var b []byte
		if err == nil {
			b, err = ddr.Encode(fr)
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, "the receipt does not pack into a file receipt: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%d.ddr"`, id, index))
		w.Write(b)
		return
	} else if f != "" && f != "json" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("format %q: want json (the default) or ddr", f))
		return
	}
	writeJSON(w, http.StatusOK, rc)
}

func (h *Handler) block(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("height")
	var height int64
	if raw == "latest" {
		s, err := h.app.Status()
		if err != nil {
			h.appError(w, r, err, "")
			return
		}
		if s.Height < 1 {
			writeError(w, http.StatusNotFound, "no block has been committed yet; retry in a moment")
			return
		}
		height = s.Height
	} else {
		var err error
		if height, err = parseHeight(raw); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	b, err := h.app.Block(height)
	if err == nil && b == nil {
		err = app.ErrNotFound
	}
	if err != nil {
		h.appError(w, r, err, fmt.Sprintf("block %d is not committed (yet); GET /v1/status gives the current height", height))
		return
	}
	writeJSON(w, http.StatusOK, blockFrom(b))
}

func unknownStream(id string) string {
	return fmt.Sprintf("unknown stream %q; GET /v1/streams lists the registered streams", id)
}

// streamID validates a stream id from the path, answering 400 if it
// cannot be one.
func streamID(w http.ResponseWriter, id string) (string, bool) {
	if err := wire.ValidateStreamID(id); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad stream id: %v", err))
		return "", false
	}
	return id, true
}

// parseIndex reads a chunk index: decimal digits, at most 2^64−1.
func parseIndex(s string) (uint64, error) {
	if !allDigits(s) {
		return 0, fmt.Errorf("index %.32q is not a chunk index; use a decimal number from 0", s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("index %.32q is too large; chunk indexes are below 2^64", s)
	}
	return v, nil
}

// parseHeight reads a block height: decimal, from 1.
func parseHeight(s string) (int64, error) {
	if !allDigits(s) {
		return 0, fmt.Errorf("height %.32q is not a block height; use a decimal number from 1 or 'latest'", s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("height %.32q is out of range; block heights start at 1", s)
	}
	return v, nil
}

func allDigits(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parsePage reads ?from=INDEX&limit=N of a records page. Other parameters,
// even malformed ones, are ignored; an empty value means the default; the
// first of repeated parameters counts.
func parsePage(rawQuery string) (from uint64, limit int, err error) {
	limit = DefaultPageSize
	var fromV, limitV string
	var haveFrom, haveLimit bool
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if key, kerr := url.QueryUnescape(k); kerr == nil {
			k = key
		}
		if k != "from" && k != "limit" || k == "from" && haveFrom || k == "limit" && haveLimit {
			continue
		}
		val, verr := url.QueryUnescape(v)
		if verr != nil {
			return 0, 0, fmt.Errorf("%s: the value %.32q is not properly URL-encoded", k, v)
		}
		if k == "from" {
			fromV, haveFrom = val, true
		} else {
			limitV, haveLimit = val, true
		}
	}
	if fromV != "" {
		if from, err = parseIndex(fromV); err != nil {
			return 0, 0, fmt.Errorf("from: %v", err)
		}
	}
	if limitV != "" {
		n, perr := strconv.Atoi(limitV)
		if !allDigits(limitV) || perr != nil || n < 1 || n > MaxPageSize {
			return 0, 0, fmt.Errorf("limit %.32q must be a number from 1 to %d (default %d)", limitV, MaxPageSize, DefaultPageSize)
		}
		limit = n
	}
	return from, limit, nil
}
