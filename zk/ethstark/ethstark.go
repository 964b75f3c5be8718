package ethstark

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/datadragon/datadragon/zk/field"
)

// chainSeed is the Rescue statement's initial hash-chain seed:
// "Rescue hash chain\0", the output's four elements (big-endian Montgomery
// form) and the chain length (big-endian).
func chainSeed(in *ChainInput) []byte {
	b := append([]byte(nil), "Rescue hash chain\x00"...)
	for _, e := range in.Output {
		b = appendBase(b, e)
	}
	return binary.BigEndian.AppendUint64(b, in.ChainLength)
}

// ziggySeed is the Ziggy statement's seed: "Ziggy\0", the public key's four
// elements and the message's bytes. This is the only place the message
// enters a signature.
func ziggySeed(in *ZiggyInput) []byte {
	b := append([]byte(nil), "Ziggy\x00"...)
	for _, e := range in.PublicKey {
		b = appendBase(b, e)
	}
	return append(b, in.Message...)
}

// VerifyChain checks an ethSTARK proof that the prover knows a Rescue hash
// chain of in.ChainLength hashes ending in in.Output, made with params. It
// refuses parameters that claim fewer than minSecurity bits.
func VerifyChain(in *ChainInput, params *Params, proof []byte, minSecurity int) (*Result, error) {
	if in == nil || params == nil {
		return nil, errors.New("ethstark: missing public input or parameters")
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	switch params.Branch {
	case BranchZiggy:
		a := newChainAIR[field.Ext, cubicOps](in, params.ZeroKnowledge, params.NQueries)
		return verify[field.Ext, cubicOps](a, params, chainSeed(in), proof, minSecurity)
	case BranchMaster:
		a := newChainAIR[quad, quadOps](in, params.ZeroKnowledge, params.NQueries)
		return verify[quad, quadOps](a, params, chainSeed(in), proof, minSecurity)
	}
	return nil, errUnknownBranch
}

// VerifyZiggy checks an ethSTARK Ziggy signature: a zero-knowledge proof
// of a Rescue preimage of in.PublicKey, bound to in.Message. It refuses
// parameters that claim fewer than minSecurity bits, and, as ethSTARK does,
// signatures made without zero knowledge.
func VerifyZiggy(in *ZiggyInput, params *Params, sig []byte, minSecurity int) (*Result, error) {
	if in == nil || params == nil {
		return nil, errors.New("ethstark: missing public input or parameters")
	}
	if params.Branch != BranchZiggy {
		return nil, fmt.Errorf("ethstark: ethSTARK's %s branch has no Ziggy signatures", params.Branch)
	}
	if !params.ZeroKnowledge {
		return nil, errors.New("ethstark: a Ziggy signature must be zero knowledge")
	}
	if len(in.Message) > maxMessage {
		return nil, errors.New("ethstark: message too long")
	}
	a := newZiggyAIR[field.Ext, cubicOps](in, params.ZeroKnowledge, params.NQueries)
	return verify[field.Ext, cubicOps](a, params, ziggySeed(in), sig, minSecurity)
}
