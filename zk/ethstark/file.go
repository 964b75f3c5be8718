package ethstark

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/datadragon/datadragon/zk/field"
)

// ZiggyParams128 are the parameters of ethSTARK's 128-bit Ziggy signatures
// (its ziggy_params file): blowup 16, 29 queries, 15 bits of grinding,
// FRI folding by 2 from the first layer down to a constant.
func ZiggyParams128() *Params {
	return &Params{LogNCosets: 4, ZeroKnowledge: true, FRISteps: []int{0, 1, 1, 1, 1, 1, 1},
		LastLayerDegreeBound: 1, NQueries: 29, PoWBits: 15}
}

// MarshalJSON writes the parameters as the branch's parameter file.
func (p *Params) MarshalJSON() ([]byte, error) {
	type fri struct {
		Steps     []int `json:"fri_step_list"`
		LastLayer int   `json:"last_layer_degree_bound"`
		NQueries  int   `json:"n_queries"`
		PoWBits   int   `json:"proof_of_work_bits"`
	}
	type stark struct {
		LogNCosets    int   `json:"log_n_cosets"`
		ZeroKnowledge *bool `json:"enable_zero_knowledge,omitempty"`
		FRI           fri   `json:"fri"`
	}
	// The master branch's files have no enable_zero_knowledge, which is how
	// ParseParams tells them from the ziggy branch's.
	var zk *bool
	if p.Branch != BranchMaster {
		zk = &p.ZeroKnowledge
	}
	return json.Marshal(struct {
		Stark stark `json:"stark"`
	}{stark{p.LogNCosets, zk, fri{p.FRISteps, p.LastLayerDegreeBound, p.NQueries, p.PoWBits}}})
}

func hexElements(w [4]field.Element) []string {
	out := make([]string, 4)
	for i, e := range w {
		out[i] = fmt.Sprintf("%#x", e.Uint64())
	}
	return out
}

func marshalFile(proof []byte, params *Params, public any) []byte {
	b, err := json.MarshalIndent(struct {
		ProofHex string  `json:"proof_hex"`
		Params   *Params `json:"proof_parameters"`
		Public   any     `json:"public_input"`
	}{fmt.Sprintf("0x%x", proof), params, public}, "", "    ")
	if err != nil {
		panic(err) // only strings, numbers and slices: cannot fail
	}
	return append(b, '\n')
}

// MarshalChainFile writes a chain proof as ethSTARK's rescue_prover writes
// its output file.
func MarshalChainFile(proof []byte, params *Params, in *ChainInput) []byte {
	return marshalFile(proof, params, struct {
		Output      []string `json:"output"`
		ChainLength uint64   `json:"chain_length"`
	}{hexElements(in.Output), in.ChainLength})
}

// MarshalZiggyFile writes a signature as ethSTARK's ziggy_prover writes its
// output file. ethSTARK's message is a JSON string, so the message must be
// UTF-8 text.
func MarshalZiggyFile(sig []byte, params *Params, in *ZiggyInput) ([]byte, error) {
	if !utf8.Valid(in.Message) {
		return nil, errors.New("ethstark: the message is not UTF-8 text, which ethSTARK's JSON files need")
	}
	return marshalFile(sig, params, struct {
		Message   string   `json:"message"`
		PublicKey []string `json:"public_key"`
	}{string(in.Message), hexElements(in.PublicKey)}), nil
}
