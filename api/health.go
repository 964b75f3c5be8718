package api

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/zk/chain"
	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
	"github.com/datadragon/datadragon/zk/stark"
)

// Health is GET /healthz.
type Health struct {
	// OK: the chain is initialised and readable and the self-check
	// passed. The status code is 200 when OK, 503 otherwise.
	OK        bool        `json:"ok"`
	Chain     HealthChain `json:"chain"`
	SelfCheck SelfCheck   `json:"self_check"`
	Node      NodeStatus  `json:"node"`
	// GatewayErrors lists, by stream, the push streams this node's
	// gateway takes no pushes for, and why (Config.PushErrors). They do
	// not make the node unhealthy, which validates and serves every other
	// stream, so the status code stays 200; each reason says what to do.
	GatewayErrors map[string]string `json:"gateway_errors,omitempty"`
}

// HealthChain is the app's side of /healthz.
type HealthChain struct {
	Initialised bool   `json:"initialised"`
	ChainID     string `json:"chain_id,omitempty"`
	Height      int64  `json:"height"`
	// Damaged: the node found its state file damaged and serves none of
	// it; Error names the file and says what to do.
	Damaged bool   `json:"damaged,omitempty"`
	Error   string `json:"error,omitempty"`
}

// SelfCheck is the result of the STARK self-check: prove a Rescue hash
// chain of SelfCheckLength hashes with fast options, check the statement
// against Rescue computed directly, verify the proof after an encode and
// decode round trip, and check that the verifier rejects the same proof
// of a wrong output. It is cached for Config.HealthTTL, so /healthz
// cannot be used to burn the node's CPU.
type SelfCheck struct {
	OK        bool      `json:"ok"`
	Statement string    `json:"statement"`
	ProveMs   float64   `json:"prove_ms"`
	VerifyMs  float64   `json:"verify_ms"`
	CheckedAt time.Time `json:"checked_at"`
	Error     string    `json:"error,omitempty"`
}

// SelfCheckLength is the chain length of the self-check.
const SelfCheckLength = 3

// selfCheckOptions are fast, weak options (about 34 conjectured bits):
// the self-check shows that the prover and verifier work, not security.
var selfCheckOptions = stark.Options{Blowup: 4, Queries: 16, GrindingBits: 2, FoldingFactor: 4, LastLayerDegree: 8}

type selfCheck struct {
	ttl  time.Duration
	mu   sync.Mutex
	last SelfCheck
	runs atomic.Uint64
	seed uint64
}

// get returns the cached result, or runs the check if it is older than
// the TTL. Concurrent callers wait for one run.
func (s *selfCheck) get() SelfCheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.CheckedAt.IsZero() && time.Since(s.last.CheckedAt) < s.ttl {
		return s.last
	}
	s.seed++
	s.last = runSelfCheck(s.seed)
	s.runs.Add(1)
	return s.last
}

// cached returns the last result without running the check.
func (s *selfCheck) cached() (SelfCheck, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, !s.last.CheckedAt.IsZero()
}

func runSelfCheck(seed uint64) (res SelfCheck) {
	res.Statement = fmt.Sprintf("rescue-chain length %d, %d conjectured bits", SelfCheckLength, selfCheckOptions.ConjecturedSecurity(stark.TraceLengthFor(chain.RowsFor(SelfCheckLength), selfCheckOptions)))
	defer func() {
		if v := recover(); v != nil {
			res.OK, res.Error = false, fmt.Sprintf("panic: %v", v)
		}
		res.CheckedAt = time.Now().UTC()
	}()
	w := chain.RandomWitness(SelfCheckLength, seed)
	start := time.Now()
	p, err := chain.Prove(w, selfCheckOptions)
	res.ProveMs = ms(time.Since(start))
	if err != nil {
		res.Error = "prove: " + err.Error()
		return res
	}
	want, err := rescue.Chain(w)
	if err != nil {
		res.Error = "rescue: " + err.Error()
		return res
	}
	if p.Statement.Length != SelfCheckLength || p.Statement.Output != want {
		res.Error = "the proved statement differs from Rescue computed directly"
		return res
	}
	enc, err := p.MarshalBinary()
	if err != nil {
		res.Error = "encode: " + err.Error()
		return res
	}
	start = time.Now()
	dec, err := chain.ParseProof(enc)
	if err == nil {
		err = chain.Verify(dec, 1)
	}
	res.VerifyMs = ms(time.Since(start))
	if err != nil {
		res.Error = "verify: " + err.Error()
		return res
	}
	bad := *dec
	bad.Statement.Output[0] = bad.Statement.Output[0].Add(field.One())
	if chain.Verify(&bad, 1) == nil {
		res.Error = "the verifier accepted a proof of a wrong output"
		return res
	}
	res.OK = true
	return res
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	out := Health{Node: h.nodeStatus()}
	s, err := h.app.Status()
	switch {
	case err == nil:
		out.Chain = HealthChain{Initialised: true, ChainID: s.ChainID, Height: s.Height}
	case errors.Is(err, app.ErrNotInitialised):
		out.Chain.Error = "the chain is not initialised yet"
	case errors.Is(err, app.ErrCorrupt):
		h.log.Error("api: healthz: the state file is damaged", "err", err)
		out.Chain.Damaged, out.Chain.Error = true, damagedMessage(err)
	default:
		h.log.Error("api: healthz reading state", "err", err)
		out.Chain.Error = "reading the state failed; the node's log has the details"
	}
	out.SelfCheck = h.health.get()
	if errs := h.pushErrors(); len(errs) > 0 {
		out.GatewayErrors = errs
	}
	out.OK = out.Chain.Initialised && out.SelfCheck.OK
	code := http.StatusOK
	if !out.OK {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, out)
}
