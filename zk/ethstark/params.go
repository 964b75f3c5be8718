package ethstark

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"github.com/datadragon/datadragon/zk/field"
)

// Params are the "stark" section of an ethSTARK parameter file, and the
// branch of ethSTARK that reads it.
type Params struct {
	Branch               Branch
	LogNCosets           int   // log2 of the blowup factor
	ZeroKnowledge        bool  // enable_zero_knowledge
	FRISteps             []int // fri_step_list
	LastLayerDegreeBound int   // last_layer_degree_bound
	NQueries             int   // n_queries
	PoWBits              int   // proof_of_work_bits
}

// DefaultMinSecurity is the floor Verify applies unless told otherwise: the
// conjectured security of DataDragon's own engine floor.
const DefaultMinSecurity = 100

// maxFileBytes bounds an input file; ethSTARK's largest proofs at 128 bits
// are well under a megabyte of hex.
const maxFileBytes = 8 << 20

// The parameter file nests the STARK options under "stark", FRI's under
// "stark.fri". Pointers tell a missing key from a zero.
type paramsJSON struct {
	Stark *struct {
		LogNCosets    *int  `json:"log_n_cosets"`
		ZeroKnowledge *bool `json:"enable_zero_knowledge"`
		FRI           *struct {
			Steps     []int `json:"fri_step_list"`
			LastLayer *int  `json:"last_layer_degree_bound"`
			NQueries  *int  `json:"n_queries"`
			PoWBits   *int  `json:"proof_of_work_bits"`
		} `json:"fri"`
	} `json:"stark"`
}

// ParseParams reads an ethSTARK parameter file ({"stark": {...}}). Only the
// syntax and ranges that need no statement are checked here; the checks that
// depend on the trace length happen when a proof is verified.
//
// The file tells the branch: the ziggy branch's verifier requires
// stark.enable_zero_knowledge, which the master branch has no notion of
// and whose files lack it. So a file with the key is the ziggy branch's,
// one without it the master branch's. ParseParamsBranch reads a file as a
// given branch's.
func ParseParams(data []byte) (*Params, error) {
	return parseParams(data, nil)
}

// ParseParamsBranch reads a parameter file as the given branch reads it:
// the ziggy branch requires stark.enable_zero_knowledge; the master branch
// ignores it (and makes no zero-knowledge proofs whatever it says).
func ParseParamsBranch(data []byte, b Branch) (*Params, error) {
	if b != BranchZiggy && b != BranchMaster {
		return nil, errUnknownBranch
	}
	return parseParams(data, &b)
}

func parseParams(data []byte, force *Branch) (*Params, error) {
	if len(data) > maxFileBytes {
		return nil, errors.New("ethstark: parameter file too large")
	}
	var pj paramsJSON
	if err := json.Unmarshal(data, &pj); err != nil {
		return nil, fmt.Errorf("ethstark: parameters: %w", err)
	}
	return pj.params(force)
}

func (pj *paramsJSON) params(force *Branch) (*Params, error) {
	s := pj.Stark
	if s == nil || s.LogNCosets == nil || s.FRI == nil {
		return nil, errors.New("ethstark: parameters need stark.log_n_cosets and stark.fri")
	}
	branch := BranchMaster
	if s.ZeroKnowledge != nil {
		branch = BranchZiggy
	}
	if force != nil {
		branch = *force
	}
	zk := false
	switch {
	case branch == BranchMaster:
		// The master branch has no zero knowledge and never reads the key.
	case s.ZeroKnowledge == nil:
		return nil, errors.New("ethstark: the ziggy branch's parameters need stark.enable_zero_knowledge")
	default:
		zk = *s.ZeroKnowledge
	}
	f := s.FRI
	if f.Steps == nil || f.LastLayer == nil || f.NQueries == nil || f.PoWBits == nil {
		return nil, errors.New("ethstark: parameters need fri_step_list, last_layer_degree_bound, n_queries and proof_of_work_bits")
	}
	p := &Params{
		Branch:               branch,
		LogNCosets:           *s.LogNCosets,
		ZeroKnowledge:        zk,
		FRISteps:             append([]int(nil), f.Steps...),
		LastLayerDegreeBound: *f.LastLayer,
		NQueries:             *f.NQueries,
		PoWBits:              *f.PoWBits,
	}
	if err := p.checkShape(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkShape applies ethSTARK's range checks on the parameters alone.
func (p *Params) checkShape() error {
	if p.Branch != BranchZiggy && p.Branch != BranchMaster {
		return errUnknownBranch
	}
	sp := p.Branch.spec()
	if p.LogNCosets < 0 || p.LogNCosets > sp.maxLogCosets {
		return fmt.Errorf("ethstark: log_n_cosets must be in [0, %d]", sp.maxLogCosets)
	}
	if p.ZeroKnowledge && p.Branch == BranchMaster {
		return errors.New("ethstark: ethSTARK's master branch has no zero knowledge")
	}
	if len(p.FRISteps) == 0 || len(p.FRISteps) > 64 {
		return errors.New("ethstark: fri_step_list must not be empty")
	}
	for i, s := range p.FRISteps {
		if s < 0 || (s == 0 && i > 0) {
			return errors.New("ethstark: fri_step_list at each layer must be at least 1")
		}
		if s > 10 {
			return errors.New("ethstark: fri_step_list at each layer cannot be greater than 10")
		}
	}
	b := p.LastLayerDegreeBound
	if b <= 0 || b > 1<<14 || b&(b-1) != 0 {
		return errors.New("ethstark: last_layer_degree_bound must be a power of two in [1, 2^14]")
	}
	if p.NQueries < 1 || p.NQueries > 256 {
		return errors.New("ethstark: n_queries must be in [1, 256]")
	}
	if p.PoWBits < 0 || p.PoWBits > 50 {
		return errors.New("ethstark: proof_of_work_bits must be in [0, 50]")
	}
	if p.ZeroKnowledge && p.FRISteps[0] != 0 {
		return errors.New("ethstark: for zero knowledge the first fri step must be 0")
	}
	return nil
}

func (p *Params) stepSum() int {
	s := 0
	for _, v := range p.FRISteps {
		s += v
	}
	return s
}

// check applies the checks that need the statement's trace length (a power
// of two, given as its log) and composition degree (log of degree/trace).
func (p *Params) check(logTrace, logConstraintDegree int) error {
	if err := p.checkShape(); err != nil {
		return err
	}
	if p.LogNCosets < logConstraintDegree {
		return fmt.Errorf("ethstark: the blowup factor must be at least %d", 1<<logConstraintDegree)
	}
	sum := p.stepSum()
	if sum > logTrace {
		return errors.New("ethstark: FRI total reduction cannot be greater than the trace length")
	}
	if bits.TrailingZeros(uint(p.LastLayerDegreeBound))+sum != logTrace {
		return fmt.Errorf("ethstark: last_layer_degree_bound %d and FRI total reduction 2^%d do not match the trace length 2^%d",
			p.LastLayerDegreeBound, sum, logTrace)
	}
	// Query indices are drawn below the second layer's size, which
	// ethSTARK bounds by 2^48.
	if logTrace+p.LogNCosets-p.FRISteps[0] >= 48 {
		return errors.New("ethstark: evaluation domain too large")
	}
	return nil
}

// Security is the conjectured security, in bits, that the parameters claim
// for a trace of 2^logTrace rows, computed as the branch's documentation
// does: each query adds log2(blowup) bits and grinding adds its bits; a
// Blake2s digest of d bits gives d/2 (128 on the ziggy branch, 80 on
// master); the DEEP and FRI challenges drawn from the extension field cap
// it at log2 of the field's size, rounded down, minus log2(trace length)
// (183 on the ziggy branch's cubic extension, 122 on master's quadratic).
func (p *Params) Security(logTrace int) int {
	sp := p.Branch.spec()
	s := p.LogNCosets*p.NQueries + p.PoWBits
	s = min(s, 8*sp.digest/2)
	s = min(s, sp.extBits-logTrace)
	return s
}

// File is an ethSTARK prover output file: the proof bytes, the parameters
// they were made with and the public input.
type File struct {
	Proof       []byte
	Params      *Params
	PublicInput json.RawMessage
}

// ParseFile reads ethSTARK's output JSON: {"proof_hex": "0x…",
// "proof_parameters": {...}, "public_input": {...}}. The branch is the
// one the parameters tell (see ParseParams).
func ParseFile(data []byte) (*File, error) {
	return parseFile(data, nil)
}

// ParseFileBranch reads ethSTARK's output JSON with the parameters read as
// the given branch's (see ParseParamsBranch).
func ParseFileBranch(data []byte, b Branch) (*File, error) {
	if b != BranchZiggy && b != BranchMaster {
		return nil, errUnknownBranch
	}
	return parseFile(data, &b)
}

func parseFile(data []byte, force *Branch) (*File, error) {
	if len(data) > maxFileBytes {
		return nil, errors.New("ethstark: file too large")
	}
	var fj struct {
		ProofHex    *string         `json:"proof_hex"`
		Params      json.RawMessage `json:"proof_parameters"`
		PublicInput json.RawMessage `json:"public_input"`
	}
	if err := json.Unmarshal(data, &fj); err != nil {
		return nil, fmt.Errorf("ethstark: %w", err)
	}
	if fj.ProofHex == nil {
		return nil, errors.New("ethstark: no proof_hex")
	}
	if fj.Params == nil {
		return nil, errors.New("ethstark: no proof_parameters")
	}
	h := strings.TrimPrefix(*fj.ProofHex, "0x")
	if h == "" {
		return nil, errors.New("ethstark: proof must not be empty")
	}
	proof, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("ethstark: proof_hex: %w", err)
	}
	params, err := parseParams(fj.Params, force)
	if err != nil {
		return nil, err
	}
	return &File{Proof: proof, Params: params, PublicInput: fj.PublicInput}, nil
}

// parseElement reads a field element as ethSTARK writes one in JSON: a hex
// string of the standard value, "0x" first, at most 16 digits. ethSTARK
// reduces a value ≥ p modulo p; so does this.
func parseElement(s string) (field.Element, error) {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || h == "" || len(h) > 16 {
		return field.Element{}, fmt.Errorf("ethstark: %q is not a 0x-prefixed hex field element", s)
	}
	var v uint64
	for _, c := range []byte(h) {
		d, ok := hexDigit(c)
		if !ok {
			return field.Element{}, fmt.Errorf("ethstark: %q is not a 0x-prefixed hex field element", s)
		}
		v = v<<4 | uint64(d)
	}
	return field.New(v % field.Modulus), nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func parseWord(v []string, what string) ([4]field.Element, error) {
	var w [4]field.Element
	if len(v) != 4 {
		return w, fmt.Errorf("ethstark: %s must have 4 elements", what)
	}
	for i, s := range v {
		e, err := parseElement(s)
		if err != nil {
			return w, err
		}
		w[i] = e
	}
	return w, nil
}

// ChainInput is the public input of ethSTARK's Rescue hash-chain statement.
type ChainInput struct {
	Output      [4]field.Element
	ChainLength uint64
}

// maxChainLength bounds the statement so every size derived from it fits:
// 2^40 rows of trace is far beyond any proof ethSTARK can make.
const maxChainLength = 3 << 35

// ParseChainInput reads {"output": [4 hex], "chain_length": n}.
func ParseChainInput(data []byte) (*ChainInput, error) {
	var j struct {
		Output      []string `json:"output"`
		ChainLength *uint64  `json:"chain_length"`
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("ethstark: chain public input: %w", err)
	}
	if j.ChainLength == nil {
		return nil, errors.New("ethstark: chain public input needs chain_length")
	}
	out, err := parseWord(j.Output, "output")
	if err != nil {
		return nil, err
	}
	in := &ChainInput{Output: out, ChainLength: *j.ChainLength}
	return in, in.check()
}

func (in *ChainInput) check() error {
	if in.ChainLength == 0 {
		return errors.New("ethstark: chain length must be positive")
	}
	if in.ChainLength%3 != 0 {
		return errors.New("ethstark: chain length must be divisible by 3")
	}
	if in.ChainLength > maxChainLength {
		return errors.New("ethstark: chain length too large")
	}
	return nil
}

// ZiggyInput is the public input of an ethSTARK Ziggy signature: the
// signer's public key and the message, which ethSTARK binds only through
// the Fiat–Shamir seed.
type ZiggyInput struct {
	PublicKey [4]field.Element
	Message   []byte
}

// maxMessage bounds a message read from JSON.
const maxMessage = 1 << 20

// ParseZiggyInput reads {"public_key": [4 hex], "message": "…"}.
func ParseZiggyInput(data []byte) (*ZiggyInput, error) {
	var j struct {
		PublicKey []string `json:"public_key"`
		Message   *string  `json:"message"`
	}
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&j); err != nil {
		return nil, fmt.Errorf("ethstark: ziggy public input: %w", err)
	}
	if j.Message == nil {
		return nil, errors.New("ethstark: ziggy public input needs message")
	}
	if len(*j.Message) > maxMessage {
		return nil, errors.New("ethstark: message too long")
	}
	pk, err := parseWord(j.PublicKey, "public_key")
	if err != nil {
		return nil, err
	}
	return &ZiggyInput{PublicKey: pk, Message: []byte(*j.Message)}, nil
}

// String describes the parameters as a user reads them.
func (p *Params) String() string {
	zk := "zero knowledge"
	if !p.ZeroKnowledge {
		zk = "no zero knowledge"
	}
	return fmt.Sprintf("ethSTARK %s branch, blowup %d, %d queries, %d proof-of-work bits, FRI steps %v, last layer degree bound %d, %s",
		p.Branch, 1<<p.LogNCosets, p.NQueries, p.PoWBits, p.FRISteps, p.LastLayerDegreeBound, zk)
}
