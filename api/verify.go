package api

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/datadragon/datadragon/zk/chain"
	"github.com/datadragon/datadragon/zk/stark"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// VerifyRequest is the body of POST /v1/zk/verify. Kind "signature"
// needs PublicKey, one of the message fields and one of the signature
// fields; kind "chain" needs one of the proof fields. Byte fields come as
// base64 (standard or URL alphabet, padded or not) or hex (0x optional);
// the unsuffixed Signature and Proof take either (hex with 0x). Fields
// that do not belong to the kind are ignored.
type VerifyRequest struct {
	Kind string `json:"kind"`
	// PublicKey is a Ziggy public key: the four elements as one string
	// ("0x… 0x… 0x… 0x…", what 'datadragon keys public' prints) or as an
	// array of four strings, its 32 bytes in hex (as /v1/validators shows
	// ziggy_pub_key), or a whole public key file object.
	PublicKey    json.RawMessage `json:"public_key,omitempty"`
	Message      *string         `json:"message,omitempty"` // UTF-8 text, signed as is
	MessageB64   *string         `json:"message_b64,omitempty"`
	MessageHex   *string         `json:"message_hex,omitempty"`
	Signature    *string         `json:"signature,omitempty"`
	SignatureB64 *string         `json:"signature_b64,omitempty"`
	SignatureHex *string         `json:"signature_hex,omitempty"`
	Proof        *string         `json:"proof,omitempty"`
	ProofB64     *string         `json:"proof_b64,omitempty"`
	ProofHex     *string         `json:"proof_hex,omitempty"`
	// MinBits raises the security floor in conjectured bits (never lowers
	// it below 128 for signatures, 100 for chain proofs).
	MinBits int `json:"min_bits,omitempty"`
	// Format is "datadragon" (the default) or "ethstark": a proof made by
	// ethSTARK, sent as its output file's fields (proof_hex,
	// proof_parameters, public_input); see ethstark.go.
	Format          string          `json:"format,omitempty"`
	ProofParameters json.RawMessage `json:"proof_parameters,omitempty"`
	PublicInput     json.RawMessage `json:"public_input,omitempty"`
}

// VerifyResult is the answer of POST /v1/zk/verify.
type VerifyResult struct {
	Valid bool `json:"valid"`
	// Reason says why the signature or proof is invalid ("" when valid).
	Reason string `json:"reason"`
	Kind   string `json:"kind"`
	Format string `json:"format,omitempty"` // "ethstark" for ethSTARK's proofs
	// SecurityBits is the conjectured security of the proof's options
	// (0 when the proof could not be decoded).
	SecurityBits int `json:"security_bits,omitempty"`
	// ProvenBits is the proven security of the proof's options (the
	// ethSTARK bound in the list-decoding regime), far below SecurityBits.
	ProvenBits int `json:"proven_bits,omitempty"`
	// MinBits is the floor that was applied.
	MinBits   int             `json:"min_bits"`
	PublicKey string          `json:"public_key,omitempty"` // the key checked against, canonical form
	Statement *ChainStatement `json:"statement,omitempty"`  // the chain proof's public statement
	VerifyMs  float64         `json:"verify_ms"`
}

// ChainStatement is the public claim of a Rescue hash-chain proof: a chain
// of Length hashes ends at Output.
type ChainStatement struct {
	Length int       `json:"length"`
	Output [4]string `json:"output"` // 0x hex field elements
}

// maxMinBits bounds the min_bits a request may ask for.
const maxMinBits = 256

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > h.maxBody {
		h.tooLarge(w)
		return
	}
	body := http.MaxBytesReader(w, r.Body, h.maxBody)
	dec := json.NewDecoder(body)
	var req VerifyRequest
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.tooLarge(w)
			return
		}
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`the body must be one JSON object such as {"kind":"signature","public_key":…,"message":…,"signature":…} or {"kind":"chain","proof_b64":…}: %v`, err))
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.tooLarge(w)
			return
		}
		writeError(w, http.StatusBadRequest, "the body must hold exactly one JSON object; remove what follows it")
		return
	}
	if req.MinBits < 0 || req.MinBits > maxMinBits {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("min_bits %d is outside 0..%d", req.MinBits, maxMinBits))
		return
	}
	switch req.Format {
	case "", "datadragon":
	case formatEthSTARK:
		h.verifyEthSTARK(w, &req)
		return
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`format %.32q is unknown; use "datadragon" (the default) or "ethstark"`, req.Format))
		return
	}
	switch req.Kind {
	case "signature":
		h.verifySignature(w, &req)
	case "chain":
		h.verifyChain(w, &req)
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`kind %.32q is unknown; use "signature" (a Ziggy signature) or "chain" (a Rescue hash-chain proof)`, req.Kind))
	}
}

func (h *Handler) tooLarge(w http.ResponseWriter) {
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes; send at most that (binary fields as base64 are the most compact)", h.maxBody))
}

// acquire takes a verification slot, or answers 503 and returns false.
func (h *Handler) acquire(w http.ResponseWriter) bool {
	select {
	case h.verifies <- struct{}{}:
		return true
	default:
		h.metrics.verifyBusy.Inc()
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("all %d verification slots of this node are busy; retry in a second", cap(h.verifies)))
		return false
	}
}

func (h *Handler) release() { <-h.verifies }

func (h *Handler) verifySignature(w http.ResponseWriter, req *VerifyRequest) {
	pub, err := parsePublicKey(req.PublicKey)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	msg, err := oneOf("message", []byteField{{"message", req.Message, textBytes}, {"message_b64", req.MessageB64, b64Bytes}, {"message_hex", req.MessageHex, hexBytes}})
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sig, err := oneOf("signature", []byteField{{"signature", req.Signature, anyBytes}, {"signature_b64", req.SignatureB64, b64Bytes}, {"signature_hex", req.SignatureHex, hexBytes}})
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	floor := max(req.MinBits, ziggy.MinSecurity)
	res := VerifyResult{Kind: "signature", MinBits: floor, PublicKey: pub.String()}
	if !h.acquire(w) {
		return
	}
	start := time.Now()
	if s, perr := ziggy.ParseSignature(sig); perr == nil {
		res.SecurityBits, res.ProvenBits = s.SecurityBits(), s.ProvenSecurityBits()
	}
	err = ziggy.VerifyWithFloor(pub, msg, sig, floor)
	elapsed := time.Since(start)
	h.release()
	h.finishVerify(w, &res, err, elapsed)
}

func (h *Handler) verifyChain(w http.ResponseWriter, req *VerifyRequest) {
	raw, err := oneOf("proof", []byteField{{"proof", req.Proof, anyBytes}, {"proof_b64", req.ProofB64, b64Bytes}, {"proof_hex", req.ProofHex, hexBytes}})
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	floor := max(req.MinBits, stark.DefaultMinSecurity)
	res := VerifyResult{Kind: "chain", MinBits: floor}
	if !h.acquire(w) {
		return
	}
	start := time.Now()
	p, err := chain.ParseProof(raw)
	if err == nil {
		res.SecurityBits, res.ProvenBits = p.SecurityBits(), p.ProvenSecurityBits()
		st := &ChainStatement{Length: p.Statement.Length}
		for i, e := range p.Statement.Output {
			st.Output[i] = fmt.Sprintf("%#x", e.Uint64())
		}
		res.Statement = st
		err = chain.Verify(p, floor)
	}
	elapsed := time.Since(start)
	h.release()
	h.finishVerify(w, &res, err, elapsed)
}

func (h *Handler) finishVerify(w http.ResponseWriter, res *VerifyResult, err error, elapsed time.Duration) {
	res.Valid = err == nil
	if err != nil {
		res.Reason = err.Error()
	}
	res.VerifyMs = float64(elapsed.Microseconds()) / 1000
	result := "valid"
	if !res.Valid {
		result = "invalid"
	}
	h.metrics.verify.WithLabelValues(res.Kind, result).Observe(elapsed.Seconds())
	writeJSON(w, http.StatusOK, res)
}

// byteField is one of the alternative encodings of a byte field.
type byteField struct {
	name   string
	value  *string
	decode func(string) ([]byte, error)
}

// oneOf decodes the one field of fs that is present.
func oneOf(what string, fs []byteField) ([]byte, error) {
	var got *byteField
	var names []string
	for i := range fs {
		names = append(names, fs[i].name)
		if fs[i].value != nil {
			if got != nil {
				return nil, fmt.Errorf("give the %s once: both %s and %s are set", what, got.name, fs[i].name)
			}
			got = &fs[i]
		}
	}
	if got == nil {
		return nil, fmt.Errorf("the %s is missing: set one of %s", what, strings.Join(names, ", "))
	}
	b, err := got.decode(*got.value)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", got.name, err)
	}
	return b, nil
}

func textBytes(s string) ([]byte, error) { return []byte(s), nil }

func hexBytes(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("not hex (an even number of hex digits, 0x optional)")
	}
	return b, nil
}

func b64Bytes(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64 (standard or URL alphabet, padded or not)")
}

// anyBytes reads 0x hex or base64.
func anyBytes(s string) ([]byte, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
		return hexBytes(t)
	}
	b, err := b64Bytes(t)
	if err != nil {
		return nil, errors.New("neither 0x hex nor base64")
	}
	return b, nil
}

// maxPublicKeyJSON bounds the public_key field.
const maxPublicKeyJSON = 4096

// parsePublicKey reads the forms VerifyRequest.PublicKey documents.
func parsePublicKey(raw json.RawMessage) (ziggy.PublicKey, error) {
	const forms = `public_key: give the Ziggy public key as "0x… 0x… 0x… 0x…", an array of four such elements, or its 32 bytes in hex`
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ziggy.PublicKey{}, errors.New("the public key is missing; " + forms)
	}
	if len(raw) > maxPublicKeyJSON {
		return ziggy.PublicKey{}, fmt.Errorf("public_key is %d bytes of JSON; a key is far smaller", len(raw))
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return ziggy.PublicKey{}, errors.New(forms)
		}
		if f := strings.Fields(s); len(f) == ziggy.PublicLen {
			pub, err := ziggy.ParsePublicKey(s)
			if err != nil {
				return ziggy.PublicKey{}, fmt.Errorf("public_key: %v", err)
			}
			return pub, nil
		}
		b, err := hexBytes(s)
		if err != nil {
			return ziggy.PublicKey{}, errors.New(forms)
		}
		pub, err := ziggy.PublicKeyFromBytes(b)
		if err != nil {
			return ziggy.PublicKey{}, fmt.Errorf("public_key: %v", err)
		}
		return pub, nil
	case '[':
		var parts []string
		if err := json.Unmarshal(raw, &parts); err != nil || len(parts) != ziggy.PublicLen {
			return ziggy.PublicKey{}, errors.New(forms)
		}
		for _, p := range parts {
			if len(strings.Fields(p)) != 1 {
				return ziggy.PublicKey{}, errors.New(forms)
			}
		}
		pub, err := ziggy.ParsePublicKey(strings.Join(parts, " "))
		if err != nil {
			return ziggy.PublicKey{}, fmt.Errorf("public_key: %v", err)
		}
		return pub, nil
	case '{':
		pub, err := ziggy.ParsePublicKeyFile(raw)
		if err != nil {
			return ziggy.PublicKey{}, fmt.Errorf("public_key: %v", err)
		}
		return pub, nil
	}
	return ziggy.PublicKey{}, errors.New(forms)
}
