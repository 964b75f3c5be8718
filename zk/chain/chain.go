package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
	"github.com/datadragon/datadragon/zk/stark"
)

// Name identifies the statement and its AIR version in proofs.
const Name = "datadragon/rescue-chain/v1"

// MaxLength is the longest chain a statement may claim: 2^22 hashes fill
// 44,739,264 rows, which fits the engine's largest trace (2^26 rows).
const MaxLength = 1 << 22

// Width is the number of trace columns: one per Rescue state element.
const Width = rescue.Width

// Layout of a batch: BatchRows rows hold HashesPerBatch hashes.
const (
	BatchRows      = 32
	HashesPerBatch = 3
)

// Word is one chain input or output: four field elements.
type Word = [rescue.DigestLen]field.Element

// Statement is the public claim: a chain of Length hashes ends at Output.
type Statement struct {
	Length int  // n, the number of hashes (the witness has n+1 words)
	Output Word // H(…H(H(w0, w1), w2)…, wn)
}

// PublicInputs returns the canonical encoding of the statement: Length as
// 8 bytes little-endian, then the four output elements (8 bytes each,
// canonical little-endian).
func (s Statement) PublicInputs() []byte {
	b := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+4*field.Bytes), uint64(s.Length))
	for _, e := range s.Output {
		b = e.AppendBytes(b)
	}
	return b
}

// RowsFor returns the number of trace rows a chain of length hashes needs:
// 32 rows for every started batch of three. It returns 0 for length < 1.
func RowsFor(length int) int {
	if length < 1 {
		return 0
	}
	return BatchRows * ((length + HashesPerBatch - 1) / HashesPerBatch)
}

// checkShape validates a chain length against a trace length.
func checkShape(length, traceLength int) error {
	if length < 1 || length > MaxLength {
		return fmt.Errorf("chain: length %d outside 1..%d", length, MaxLength)
	}
	if traceLength <= 0 || traceLength&(traceLength-1) != 0 || bits.Len(uint(traceLength))-1 > stark.MaxLogTraceLength {
		return fmt.Errorf("chain: trace length %d is not a power of two up to 2^%d", traceLength, stark.MaxLogTraceLength)
	}
	if need := RowsFor(length); traceLength < need {
		return fmt.Errorf("chain: %d hashes need %d rows, the trace has %d", length, need, traceLength)
	}
	return nil
}

// BuildTrace computes the execution trace of the chain over witness
// (n+1 words for n hashes) in a trace of traceLength rows, and returns it
// with the statement it proves. Rows past the chain hold padding hashes
// that continue it with zero right inputs, so every constraint holds on
// every row; the statement's output is that of hash n.
func BuildTrace(witness []Word, traceLength int) (stark.Trace, Statement, error) {
	n := len(witness) - 1
	if len(witness) < 2 {
		return nil, Statement{}, errors.New("chain: the witness needs at least two words")
	}
	if err := checkShape(n, traceLength); err != nil {
		return nil, Statement{}, err
	}
	backing := make([]field.Element, Width*traceLength)
	trace := make(stark.Trace, Width)
	for j := range trace {
		trace[j] = backing[j*traceLength : (j+1)*traceLength : (j+1)*traceLength]
	}
	var (
		state  [Width]field.Element
		mid    [rescue.Rounds][Width]field.Element
		output Word
	)
	left := witness[0]
	hash := 0 // hashes done
	for base := 0; base < traceLength; base += BatchRows {
		for q := range HashesPerBatch {
			hash++
			state = [Width]field.Element{}
			copy(state[:4], left[:])
			if hash <= n {
				copy(state[4:8], witness[hash][:])
			}
			if q == 0 {
				for j := range Width {
					trace[j][base] = state[j]
				}
			}
			rescue.PermuteRounds(&state, &mid)
			row := base + 1 + q*rescue.Rounds
			for j := range Width {
				col := trace[j][row : row+rescue.Rounds]
				for r := range rescue.Rounds {
					col[r] = mid[r][j]
				}
			}
			copy(left[:], state[:4])
			if hash == n {
				output = left
			}
		}
		for j := range Width {
			trace[j][base+BatchRows-1] = state[j]
		}
	}
	return trace, Statement{Length: n, Output: output}, nil
}

// RandomWitness returns length+1 pseudo-random words determined by seed,
// for demos, tests and benchmarks (nil for length < 0).
func RandomWitness(length int, seed uint64) []Word {
	if length < 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(seed, 0x6461746164726167)) // "datadrag"
	w := make([]Word, length+1)
	for i := range w {
		for k := range w[i] {
			w[i][k] = field.New(r.Uint64N(field.Modulus))
		}
	}
	return w
}
