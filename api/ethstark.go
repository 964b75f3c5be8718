package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/datadragon/datadragon/zk/ethstark"
	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/stark"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// POST /v1/zk/verify with "format":"ethstark" verifies what ethSTARK's
// provers write. The body is ethSTARK's output file with "kind" and
// "format" added: the proof in proof_hex (or proof/proof_b64, or the
// signature fields), the parameter file in proof_parameters and, for a
// chain, the statement in public_input. A signature's public key and
// message come from public_key and the message fields when given, else from
// public_input. The parameter file tells ethSTARK's branch
// (ethstark.ParseParams); a master-branch chain proof claims at most 80
// bits, below the floor a request cannot lower, so the node refuses it.

const formatEthSTARK = "ethstark"

func (h *Handler) verifyEthSTARK(w http.ResponseWriter, req *VerifyRequest) {
	if len(req.ProofParameters) == 0 {
		writeError(w, http.StatusBadRequest, `proof_parameters is missing: ethSTARK's parameter file ({"stark": {...}}), as its output file carries it`)
		return
	}
	params, err := ethstark.ParseParams(req.ProofParameters)
	if err != nil {
		writeError(w, http.StatusBadRequest, "proof_parameters: "+err.Error())
		return
	}
	fields := []byteField{{"proof", req.Proof, anyBytes}, {"proof_b64", req.ProofB64, b64Bytes}, {"proof_hex", req.ProofHex, hexBytes}}
	if req.Kind == "signature" {
		fields = append(fields, byteField{"signature", req.Signature, anyBytes}, byteField{"signature_b64", req.SignatureB64, b64Bytes}, byteField{"signature_hex", req.SignatureHex, hexBytes})
	}
	proof, err := oneOf("proof", fields)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var verify func() (*ethstark.Result, error)
	var res VerifyResult
	switch req.Kind {
	case "signature":
		in, err := ethstarkZiggyInput(req)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		floor := max(req.MinBits, ziggy.MinSecurity)
		res = VerifyResult{Kind: "signature", MinBits: floor, PublicKey: formatWord(in.PublicKey)}
		verify = func() (*ethstark.Result, error) { return ethstark.VerifyZiggy(in, params, proof, floor) }
	case "chain":
		if len(req.PublicInput) == 0 {
			writeError(w, http.StatusBadRequest, `public_input is missing: the chain's statement {"output": [4 elements], "chain_length": n}`)
			return
		}
		in, err := ethstark.ParseChainInput(req.PublicInput)
		if err != nil {
			writeError(w, http.StatusBadRequest, "public_input: "+err.Error())
			return
		}
		floor := max(req.MinBits, stark.DefaultMinSecurity)
		st := &ChainStatement{Length: int(in.ChainLength)}
		for i, e := range in.Output {
			st.Output[i] = fmt.Sprintf("%#x", e.Uint64())
		}
		res = VerifyResult{Kind: "chain", MinBits: floor, Statement: st}
		verify = func() (*ethstark.Result, error) { return ethstark.VerifyChain(in, params, proof, floor) }
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`kind %.32q is unknown; use "signature" (a Ziggy signature) or "chain" (a Rescue hash-chain proof)`, req.Kind))
		return
	}
	res.Format = formatEthSTARK
	if !h.acquire(w) {
		return
	}
	start := time.Now()
	r, err := verify()
	elapsed := time.Since(start)
	h.release()
	if r != nil {
		res.SecurityBits = r.SecurityBits
	}
	h.finishVerify(w, &res, err, elapsed)
}

// ethstarkZiggyInput is the statement of an ethSTARK signature: public_key
// and the message fields, each falling back to public_input.
func ethstarkZiggyInput(req *VerifyRequest) (*ethstark.ZiggyInput, error) {
	var fromFile *ethstark.ZiggyInput
	if len(req.PublicInput) > 0 {
		in, err := ethstark.ParseZiggyInput(req.PublicInput)
		if err != nil {
			return nil, errors.New("public_input: " + err.Error())
		}
		fromFile = in
	}
	in := &ethstark.ZiggyInput{}
	if len(req.PublicKey) > 0 {
		pub, err := parsePublicKey(req.PublicKey)
		if err != nil {
			return nil, err
		}
		in.PublicKey = pub.Elements()
	} else if fromFile != nil {
		in.PublicKey = fromFile.PublicKey
	} else {
		return nil, errors.New(`the public key is missing: set public_key, or public_input as ethSTARK writes it`)
	}
	if req.Message == nil && req.MessageB64 == nil && req.MessageHex == nil && fromFile != nil {
		in.Message = fromFile.Message
		return in, nil
	}
	msg, err := oneOf("message", []byteField{{"message", req.Message, textBytes}, {"message_b64", req.MessageB64, b64Bytes}, {"message_hex", req.MessageHex, hexBytes}})
	if err != nil {
		return nil, err
	}
	in.Message = msg
	return in, nil
}

// formatWord writes four elements as a public key is written: 0x hex,
// space-separated.
func formatWord(w [4]field.Element) string {
	var b strings.Builder
	for i, e := range w {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%#x", e.Uint64())
	}
	return b.String()
}
