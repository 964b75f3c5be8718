package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/datadragon/datadragon/app/wire"
)

// Sizes and limits.
const (
	// DefaultPiece is the message size of a push: the gateway's default.
	DefaultPiece = 65536
	// MaxPiece is the largest message: a chunk must hold at least one.
	MaxPiece = wire.MaxChunkDataBytes
	// DefaultPart is the number of bytes one upload request carries.
	DefaultPart = 4 << 20
	// MaxPart is the gateway's limit on one upload request.
	MaxPart = 64 << 20
	// DefaultMessages is a push stream's chunk size in messages when its
	// policy gives none (the chain's default too).
	DefaultMessages = 16
	// MaxReceiptBytes bounds a receipt.
	MaxReceiptBytes = 16 << 20
	// maxJSONBytes bounds every other JSON answer but an upload's chunk
	// list, and maxChunkListBytes that list (about 150 bytes a chunk).
	maxJSONBytes      = 4 << 20
	maxChunkListBytes = 64 << 20
	// maxErrorBytes is how much of a failed answer is read.
	maxErrorBytes = 64 << 10
)

// Client talks to one node's HTTP API.
type Client struct {
	// Base is the node's API address, e.g. http://127.0.0.1:8080.
	Base string
	// Token is the bearer token of unsigned pushes (its SHA-256 is one of
	// the stream's write_tokens); empty for none.
	Token string
	// HTTP is the HTTP client; nil means one with generous timeouts (two
	// minutes for an answer once a request is sent, ten for a whole
	// request).
	HTTP *http.Client
	// Waiting, if set, hears once per call when a call starts waiting for
	// a node that cannot take requests yet (SubmitTx on a node still
	// catching up), with what the node said: a command tells its user
	// why nothing happens.
	Waiting func(reason string)
}

var defaultHTTP = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	return &http.Client{Transport: t, Timeout: 10 * time.Minute}
}()

// ParseBase normalises a node address: "host:port" becomes
// "http://host:port"; the URL must be http or https with a host and no
// query.
func ParseBase(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("no node address: give its API URL, e.g. http://127.0.0.1:8080")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("node address %q: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("node address %q: want an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Error is an answer of the node other than success.
type Error struct {
	Method  string
	Path    string
	Status  int    // HTTP status
	Message string // the node's "error" (or "log"), or the start of its body
	Code    uint32 // a transaction's result code (app.Code*), 0 if none
	// Upload is the upload's state when the node sent one with the error
	// (409: the upload has fewer bytes than the request's offset).
	Upload *UploadStatus
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	switch {
	case e.Status == http.StatusUnauthorized && !strings.Contains(e.Message, "token"):
		s += " (the stream needs a write token: give one whose SHA-256 is in its write_tokens)"
	case e.Status >= 500:
		s += " (the node failed; its log has the details)"
	}
	return s
}

// IsNotFound reports whether err is the node's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// statusOf returns the HTTP status of err, or 0.
func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// retryable reports whether a request that failed with err may succeed
// when sent again: network failures (not ctx's end) and the node's
// temporary failures.
func retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
	}
	var tooLarge *bodyTooLarge
	return !errors.As(err, &tooLarge)
}

// notSent reports whether err shows that a request never reached the node
// (the connection was refused), so sending it again cannot repeat it.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

type bodyTooLarge struct {
	what  string
	limit int64
}

func (e *bodyTooLarge) Error() string {
	return fmt.Sprintf("the node's answer to %s is larger than %d bytes; is the address that of a DataDragon node?", e.what, e.limit)
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

// request sends one request and returns the status and the body, read up
// to limit bytes (maxErrorBytes for an unsuccessful status). err is only
// for failures to get an answer. body may be nil; it is sent through
// wrap when wrap is not nil (to count what the transport reads).
func (c *Client) request(ctx context.Context, method, path string, q url.Values, body []byte, auth bool, limit int64, wrap func(io.Reader) io.Reader) (int, []byte, error) {
	u := strings.TrimRight(c.Base, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		if wrap != nil {
			rd = wrap(rd)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		b := body
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	req.Header.Set("Accept", "application/json")
	if auth && c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		if notSent(err) {
			return 0, nil, fmt.Errorf("%s %s: %w (is a node's API listening at %s?)", method, path, err, c.Base)
		}
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		limit = min(limit, maxErrorBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if int64(len(data)) > limit {
		if resp.StatusCode/100 != 2 {
			data = data[:limit]
		} else {
			return 0, nil, &bodyTooLarge{what: method + " " + path, limit: limit}
		}
	}
	return resp.StatusCode, data, nil
}

// errorFrom builds the Error of an unsuccessful answer.
func errorFrom(method, path string, status int, body []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status}
	var m struct {
		Error string  `json:"error"`
		Log   string  `json:"log"`
		Code  *uint32 `json:"code"`
	}
	if json.Unmarshal(body, &m) == nil {
		e.Message = m.Error
		if e.Message == "" {
			e.Message = m.Log
		}
		if m.Code != nil {
			e.Code = *m.Code
		}
		var st UploadStatus
		if status == http.StatusConflict && json.Unmarshal(body, &st) == nil && st.Upload != "" {
			e.Upload = &st
		}
	}
	if e.Message == "" && e.Upload == nil {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}

// getJSON GETs path and decodes a successful answer into v.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, limit int64, v any) error {
	status, body, err := c.request(ctx, http.MethodGet, path, q, nil, false, limit, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return errorFrom(http.MethodGet, path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: the answer is not the expected JSON (%v); is the address that of a DataDragon node?", path, err)
	}
	return nil
}

// backoff spaces the retries of one operation.
type backoff struct {
	first, max time.Duration
	limit      int // consecutive failures allowed
	n          int
}

// wait sleeps before the next attempt after err, or returns an error when
// the attempts are used up or ctx ends.
func (b *backoff) wait(ctx context.Context, err error) error {
	b.n++
	if b.n > b.limit {
		return fmt.Errorf("giving up after %d attempts: %w", b.n, err)
	}
	d := b.first << min(b.n-1, 20)
	if d > b.max || d <= 0 {
		d = b.max
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (b *backoff) reset() { b.n = 0 }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ---- reading the chain ----

// Hex is a byte string written in JSON as hex.
type Hex []byte

// UnmarshalText reads hex, with or without 0x.
func (h *Hex) UnmarshalText(b []byte) error {
	s := strings.TrimPrefix(strings.TrimPrefix(string(b), "0x"), "0X")
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("not hex: %w", err)
	}
	*h = d
	return nil
}

// MarshalText writes lowercase hex.
func (h Hex) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// String returns lowercase hex.
func (h Hex) String() string { return hex.EncodeToString(h) }

// Status is the part of GET /v1/status a client needs.
type Status struct {
	Initialised bool   `json:"initialised"`
	ChainID     string `json:"chain_id"`
	Height      int64  `json:"height"`
	// Threshold is the acceptance threshold: more than Numerator /
	// Denominator of the voting power.
	Threshold struct {
		Numerator   uint64 `json:"numerator"`
		Denominator uint64 `json:"denominator"`
	} `json:"threshold"`
}

// Status returns the node's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	if err := c.getJSON(ctx, "/v1/status", nil, maxJSONBytes, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// chainID returns the node's chain id, or an error saying the chain has
// not started.
func (c *Client) chainID(ctx context.Context) (string, error) {
	var s *Status
	err := c.retry(ctx, func() (err error) { s, err = c.Status(ctx); return err })
	if err != nil {
		return "", err
	}
	if s.ChainID == "" {
		return "", fmt.Errorf("the node at %s has not started its chain yet (no chain id); wait for its first block", c.Base)
	}
	return s.ChainID, nil
}

// StreamInfo is a stream as GET /v1/streams/{id} serves it: its spec and
// its counts. Raw is the whole answer.
type StreamInfo struct {
	ID          string          `json:"id"`
	Mode        string          `json:"mode"`
	Source      string          `json:"source"`
	Chunk       ChunkPolicy     `json:"chunk"`
	Description string          `json:"description"`
	Rules       json.RawMessage `json:"rules"`
	Owner       Hex             `json:"owner"`
	Producers   []Hex           `json:"producers"`
	Experts     []Hex           `json:"experts"`
	WriteTokens []Hex           `json:"write_tokens"`
	OpenLoop    bool            `json:"open_loopback"`
	Accepted    uint64          `json:"accepted"`
	Disputed    uint64          `json:"disputed"`
	LastIndex   *uint64         `json:"last_index"`
	NextIndex   *uint64         `json:"next_index"`

	Raw json.RawMessage `json:"-"`
}

// ChunkPolicy is a stream's chunk rule.
type ChunkPolicy struct {
	Messages uint64 `json:"messages"`
	WindowMs uint64 `json:"window_ms"`
}

// Messages returns the stream's chunk size in messages for a push.
func (s *StreamInfo) Messages() int {
	if s.Chunk.Messages == 0 {
		return DefaultMessages
	}
	return int(min(s.Chunk.Messages, wire.MaxChunkMessages))
}

// HasProducer reports whether key is one of the stream's producers.
func (s *StreamInfo) HasProducer(key []byte) bool { return hasKey(s.Producers, key) }

// HasExpert reports whether key is one of the stream's experts.
func (s *StreamInfo) HasExpert(key []byte) bool { return hasKey(s.Experts, key) }

func hasKey(keys []Hex, k []byte) bool {
	for _, x := range keys {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// Stream returns a stream (an *Error with Status 404 if there is none).
func (c *Client) Stream(ctx context.Context, id string) (*StreamInfo, error) {
	if err := wire.ValidateStreamID(id); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := c.getJSON(ctx, "/v1/streams/"+url.PathEscape(id), nil, maxJSONBytes, &raw); err != nil {
		return nil, err
	}
	var s StreamInfo
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("GET /v1/streams/%s: %v", id, err)
	}
	s.Raw = raw
	return &s, nil
}

// Record is a chunk's record as GET /v1/records/{stream}/{index} serves
// it (the fields a client uses; Raw is the whole answer).
type Record struct {
	Stream    string      `json:"stream"`
	Index     uint64      `json:"index"`
	Status    string      `json:"status"` // pending, accepted or disputed
	Digest    string      `json:"digest"` // hex; "" unless accepted
	Verdict   string      `json:"verdict"`
	Timestamp *time.Time  `json:"timestamp"`
	Height    int64       `json:"height"`
	Push      *PushInfo   `json:"push"`
	Experts   []Judgement `json:"experts"`

	Raw json.RawMessage `json:"-"`
}

// PushInfo is the push section of a pushed chunk's record.
type PushInfo struct {
	FirstSeq uint64   `json:"first_seq"`
	Messages int      `json:"messages"`
	Offset   uint64   `json:"offset"`
	Bytes    uint64   `json:"bytes"`
	Lengths  []uint32 `json:"lengths"`
	Private  bool     `json:"private"`
	Producer Hex      `json:"producer"`
}

// Judgement is an expert's endorsement or dispute of a record.
type Judgement struct {
	Expert  Hex    `json:"expert"`
	Dispute bool   `json:"dispute"`
	Note    string `json:"note"`
	Digest  string `json:"digest"`
	Height  int64  `json:"height"`
	// Signature is the expert's Ziggy signature (wire.ExpertSignBytes).
	Signature Hex `json:"signature"`
}

// Record returns a chunk's record (an *Error with Status 404 before any
// validator attested it).
func (c *Client) Record(ctx context.Context, stream string, index uint64) (*Record, error) {
	if err := wire.ValidateStreamID(stream); err != nil {
		return nil, err
	}
	path := fmt.Sprintf("/v1/records/%s/%d", url.PathEscape(stream), index)
	var raw json.RawMessage
	if err := c.getJSON(ctx, path, nil, maxJSONBytes, &raw); err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("GET %s: %v", path, err)
	}
	r.Raw = raw
	return &r, nil
}

// Receipt returns the receipt of an accepted record: JSON, at most
// MaxReceiptBytes. Before the record is accepted and its block committed
// the node answers 404 or 409 (an *Error).
func (c *Client) Receipt(ctx context.Context, stream string, index uint64) ([]byte, error) {
	if err := wire.ValidateStreamID(stream); err != nil {
		return nil, err
	}
	path := fmt.Sprintf("/v1/receipts/%s/%d", url.PathEscape(stream), index)
	status, body, err := c.request(ctx, http.MethodGet, path, nil, nil, false, MaxReceiptBytes, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, errorFrom(http.MethodGet, path, status, body)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("GET %s: the receipt is not JSON", path)
	}
	return body, nil
}

// WaitReceipt fetches a receipt, waiting while the node has none yet (the
// record is pending, or its block's successor is not committed) and
// retrying network failures, until ctx ends: bound ctx.
func (c *Client) WaitReceipt(ctx context.Context, stream string, index uint64) ([]byte, error) {
	wait := 100 * time.Millisecond
	for {
		r, err := c.Receipt(ctx, stream, index)
		if err == nil {
			return r, nil
		}
		if s := statusOf(err); s != http.StatusNotFound && s != http.StatusConflict && !retryable(ctx, err) {
			return nil, err
		}
		if serr := sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("no receipt for %s/%d yet: %w (last answer: %v)", stream, index, serr, err)
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// SubmitTx posts a registration or expert transaction (its binary
// encoding) to POST /v1/tx. A refused transaction is an *Error whose Code
// is the app's result code and whose Message says why. It is sent again
// only when it cannot have arrived (the connection was refused, or the
// node answered 503), so a success is never reported as a duplicate.
func (c *Client) SubmitTx(ctx context.Context, tx []byte) error {
	if len(tx) == 0 || len(tx) > wire.MaxTxBytes {
		return fmt.Errorf("transaction of %d bytes, want 1 to %d", len(tx), wire.MaxTxBytes)
	}
	// A node that has just started answers 503 until it has caught up with
	// its peers, which can take tens of seconds: retried for txUnavailable
	// in all, unlike a failure to reach the node, which is retried a few
	// times only.
	b := backoff{first: txRetryFirst, max: txRetryMax, limit: 5}
	var unavailableSince time.Time
	for {
		status, body, err := c.request(ctx, http.MethodPost, "/v1/tx", nil, tx, false, maxJSONBytes, nil)
		if err == nil && status == http.StatusOK {
			return nil
		}
		if err == nil {
			err = errorFrom(http.MethodPost, "/v1/tx", status, body)
		}
		if ctx.Err() != nil {
			return err
		}
		switch {
		case statusOf(err) == http.StatusServiceUnavailable:
			if unavailableSince.IsZero() {
				unavailableSince = time.Now()
				if c.Waiting != nil {
					c.Waiting(err.Error())
				}
			}
			if time.Since(unavailableSince) > txUnavailable {
				return fmt.Errorf("the node could not take the transaction for %v: %w", txUnavailable, err)
			}
			b.reset() // bounded by time, not by count
		case !notSent(err):
			return err
		}
		if werr := b.wait(ctx, err); werr != nil {
			return werr
		}
	}
}

// SubmitTx's retry timing (tests shorten it).
var (
	txRetryFirst  = 200 * time.Millisecond
	txRetryMax    = 2 * time.Second
	txUnavailable = time.Minute
)

// retry runs f until it succeeds, fails for good, or fails too often.
func (c *Client) retry(ctx context.Context, f func() error) error {
	b := backoff{first: 200 * time.Millisecond, max: 5 * time.Second, limit: 8}
	for {
		err := f()
		if err == nil || !retryable(ctx, err) {
			return err
		}
		if werr := b.wait(ctx, err); werr != nil {
			return werr
		}
	}
}
