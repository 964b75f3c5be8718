package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/stark"
)

// Proof is a proof of a hash-chain statement: the statement itself (its
// public inputs) and the STARK proof, which carries its options.
type Proof struct {
	Statement Statement
	STARK     *stark.Proof
}

// Prove proves knowledge of witness (n+1 words for a chain of n hashes)
// under opts and returns the proof with the computed public output.
func Prove(witness [][4]field.Element, opts stark.Options) (*Proof, error) {
	p, _, err := ProveTimed(witness, opts)
	return p, err
}

// Verify checks the proof of its own statement, refusing options weaker
// than minBits conjectured bits (0 means stark.DefaultMinSecurity).
func Verify(p *Proof, minBits int) error {
	if p == nil || p.STARK == nil {
		return errors.New("chain: no proof")
	}
	st := p.Statement
	if st.Length < 1 || st.Length > MaxLength {
		return fmt.Errorf("chain: chain length %d outside 1..%d", st.Length, MaxLength)
	}
	if err := p.STARK.Options.Validate(); err != nil {
		return err
	}
	air, err := NewAirFor(st, p.STARK.Options)
	if err != nil {
		return err
	}
	return stark.Verify(air, p.STARK, minBits)
}

// Options returns the options the proof was made with.
func (p *Proof) Options() stark.Options { return p.STARK.Options }

// SecurityBits returns the proof's conjectured security in bits.
func (p *Proof) SecurityBits() int {
	return p.STARK.Options.ConjecturedSecurity(1 << p.STARK.LogTraceLength)
}

// ProvenSecurityBits returns the proof's proven security in bits
// (stark.Options.ProvenSecurity).
func (p *Proof) ProvenSecurityBits() int {
	return p.STARK.Options.ProvenSecurity(1 << p.STARK.LogTraceLength)
}

// fileMagic starts an encoded chain proof; the last byte is the version.
var fileMagic = [8]byte{'D', 'D', 'C', 'H', 'A', 'I', 'N', 1}

// MarshalBinary encodes the proof: magic, chain length (8 bytes LE), the
// four output elements (8 bytes LE each), then the STARK proof.
func (p *Proof) MarshalBinary() ([]byte, error) {
	if p.STARK == nil {
		return nil, errors.New("chain: no proof")
	}
	sp, err := p.STARK.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := append([]byte(nil), fileMagic[:]...)
	b = append(b, p.Statement.PublicInputs()...)
	return append(b, sp...), nil
}

// ParseProof decodes a proof written by MarshalBinary. It never panics.
func ParseProof(b []byte) (*Proof, error) {
	const head = len(fileMagic) + 8 + 4*field.Bytes
	if len(b) < head {
		return nil, errors.New("chain: not a hash-chain proof (too short)")
	}
	if [8]byte(b[:8]) != fileMagic {
		if string(b[:7]) == string(fileMagic[:7]) {
			return nil, fmt.Errorf("chain: proof file version %d is not supported (this build reads version %d)", b[7], fileMagic[7])
		}
		return nil, errors.New("chain: not a hash-chain proof (bad magic)")
	}
	length := binary.LittleEndian.Uint64(b[8:])
	if length < 1 || length > MaxLength {
		return nil, fmt.Errorf("chain: chain length %d outside 1..%d", length, MaxLength)
	}
	st := Statement{Length: int(length)}
	for i := range st.Output {
		e, err := field.FromBytes(b[16+8*i:])
		if err != nil {
			return nil, fmt.Errorf("chain: output element %d: %w", i, err)
		}
		st.Output[i] = e
	}
	sp, err := stark.ParseProof(b[head:])
	if err != nil {
		return nil, err
	}
	return &Proof{Statement: st, STARK: sp}, nil
}

// ProveTimed is Prove that also reports the time of each prover step,
// trace generation first.
func ProveTimed(witness [][4]field.Element, opts stark.Options) (*Proof, []stark.Phase, error) {
	if err := opts.Validate(); err != nil {
		return nil, nil, err
	}
	n := len(witness) - 1
	if n < 1 || n > MaxLength {
		return nil, nil, fmt.Errorf("chain: a witness of %d words gives a chain of %d hashes; want 1 to %d", len(witness), n, MaxLength)
	}
	start := time.Now()
	traceLen := stark.TraceLengthFor(RowsFor(n), opts)
	trace, st, err := BuildTrace(witness, traceLen)
	if err != nil {
		return nil, nil, err
	}
	air, err := NewAirFor(st, opts)
	if err != nil {
		return nil, nil, err
	}
	phases := []stark.Phase{{Name: "trace generation", Duration: time.Since(start)}}
	p, more, err := stark.ProveTimed(air, trace, opts)
	if err != nil {
		return nil, nil, err
	}
	return &Proof{Statement: st, STARK: p}, append(phases, more...), nil
}
