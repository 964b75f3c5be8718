package bench

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"

	"github.com/datadragon/datadragon/zk/ziggy"
)

// SigResult is the measurement of one signature scheme: median and 90th
// percentile times of key generation, signing and verifying, and the sizes
// of what a verifier stores and receives.
type SigResult struct {
	Scheme      string `json:"scheme"`
	PostQuantum bool   `json:"post_quantum"`
	Security    string `json:"security"`
	Reps        int    `json:"reps"`

	KeygenMS    float64 `json:"keygen_ms"`
	SignMS      float64 `json:"sign_ms"`
	SignP90MS   float64 `json:"sign_p90_ms"`
	VerifyMS    float64 `json:"verify_ms"`
	VerifyP90MS float64 `json:"verify_p90_ms"`

	PublicKeyBytes  int `json:"public_key_bytes"`
	PrivateKeyBytes int `json:"private_key_bytes"` // as stored: the seed the key is derived from
	// SignatureBytes is the mean size over the signatures made; Ziggy's
	// varies a little with the query positions, the others' are fixed.
	SignatureBytes    int `json:"signature_bytes"`
	SignatureBytesMax int `json:"signature_bytes_max"`
}

// SigReport is the machine-readable output of 'datadragon bench sig'.
type SigReport struct {
	GoVersion    string      `json:"go_version"`
	OS           string      `json:"os"`
	Arch         string      `json:"arch"`
	CPUs         int         `json:"cpus"`
	MessageBytes int         `json:"message_bytes"`
	ZiggyOptions Options     `json:"ziggy_options"`
	Results      []SigResult `json:"results"`
	Started      time.Time   `json:"started"`
}

// sigScheme is what MeasureSignatures needs of a scheme: a fresh key pair
// as sign and verify closures over it, plus static facts.
type sigScheme struct {
	name, security      string
	postQuantum         bool
	pubBytes, privBytes int
	keygen              func() (sign func(msg []byte) ([]byte, error), verify func(msg, sig []byte) error, err error)
}

func ziggyScheme() sigScheme {
	return sigScheme{
		name:        "Ziggy",
		security:    fmt.Sprintf("%d bits conjectured (STARK, hash-based)", ziggy.MinSecurity),
		postQuantum: true,
		pubBytes:    ziggy.PublicKeySize,
		privBytes:   ziggy.PrivateKeySize,
		keygen: func() (func([]byte) ([]byte, error), func([]byte, []byte) error, error) {
			pub, priv, err := ziggy.GenerateKey(nil)
			if err != nil {
				return nil, nil, err
			}
			return func(m []byte) ([]byte, error) { return ziggy.Sign(priv, m) },
				func(m, s []byte) error { return ziggy.Verify(pub, m, s) }, nil
		},
	}
}

func ed25519Scheme() sigScheme {
	return sigScheme{
		name:      "Ed25519",
		security:  "128 bits classical (elliptic curve)",
		pubBytes:  ed25519.PublicKeySize,
		privBytes: ed25519.SeedSize,
		keygen: func() (func([]byte) ([]byte, error), func([]byte, []byte) error, error) {
			pub, priv, err := ed25519.GenerateKey(nil)
			if err != nil {
				return nil, nil, err
			}
			return func(m []byte) ([]byte, error) { return ed25519.Sign(priv, m), nil },
				func(m, s []byte) error {
					if !ed25519.Verify(pub, m, s) {
						return errors.New("invalid Ed25519 signature")
					}
					return nil
				}, nil
		},
	}
}

func mldsa65Scheme() sigScheme {
	return sigScheme{
		name:        "ML-DSA-65",
		security:    "NIST category 3 (lattice, FIPS 204)",
		postQuantum: true,
		pubBytes:    mldsa65.PublicKeySize,
		privBytes:   mldsa65.SeedSize,
		keygen: func() (func([]byte) ([]byte, error), func([]byte, []byte) error, error) {
			pub, priv, err := mldsa65.GenerateKey(nil)
			if err != nil {
				return nil, nil, err
			}
			return func(m []byte) ([]byte, error) {
					sig := make([]byte, mldsa65.SignatureSize)
					// Hedged signing, FIPS 204's default.
					err := mldsa65.SignTo(priv, m, nil, true, sig)
					return sig, err
				},
				func(m, s []byte) error {
					if !mldsa65.Verify(pub, m, nil, s) {
						return errors.New("invalid ML-DSA-65 signature")
					}
					return nil
				}, nil
		},
	}
}

// MeasureSignatures measures Ziggy (with its default options), Ed25519 and
// ML-DSA-65 on a random message of msgBytes bytes, reps times each
// operation, in this process. progress, if not nil, gets a line per scheme.
func MeasureSignatures(reps, msgBytes int, progress io.Writer) (*SigReport, error) {
	if reps < 1 {
		return nil, errors.New("bench: reps must be at least 1")
	}
	if msgBytes < 0 {
		return nil, errors.New("bench: the message size must not be negative")
	}
	msg := make([]byte, msgBytes)
	rand.Read(msg)
	o := ziggy.DefaultOptions()
	report := &SigReport{
		GoVersion:    runtime.Version(),
		OS:           runtime.GOOS,
		Arch:         runtime.GOARCH,
		CPUs:         runtime.GOMAXPROCS(0),
		MessageBytes: msgBytes,
		ZiggyOptions: Options{
			Blowup:          o.Blowup,
			Queries:         o.Queries,
			GrindingBits:    o.GrindingBits,
			FoldingFactor:   o.FoldingFactor,
			LastLayerDegree: o.LastLayerDegree,
			ZeroKnowledge:   o.ZeroKnowledge,
		},
		Started: time.Now().UTC().Truncate(time.Second),
	}
	for _, s := range []sigScheme{ziggyScheme(), ed25519Scheme(), mldsa65Scheme()} {
		r, err := measureScheme(s, reps, msg)
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", s.name, err)
		}
		if progress != nil {
			fmt.Fprintf(progress, "bench sig: %-9s keygen %s, sign %s, verify %s, signature %d bytes\n",
				s.name, formatDuration(r.KeygenMS), formatDuration(r.SignMS), formatDuration(r.VerifyMS), r.SignatureBytes)
		}
		report.Results = append(report.Results, r)
	}
	return report, nil
}

// measureScheme times reps key generations, then reps signatures with the
// last key and reps verifications of them (each signature is verified).
func measureScheme(s sigScheme, reps int, msg []byte) (SigResult, error) {
	runtime.GC()
	keygen := make([]time.Duration, reps)
	var sign func([]byte) ([]byte, error)
	var verify func([]byte, []byte) error
	for i := range keygen {
		start := time.Now()
		sg, vf, err := s.keygen()
		keygen[i] = time.Since(start)
		if err != nil {
			return SigResult{}, err
		}
		sign, verify = sg, vf
	}
	signT := make([]time.Duration, reps)
	sigs := make([][]byte, reps)
	total, largest := 0, 0
	for i := range signT {
		start := time.Now()
		sig, err := sign(msg)
		signT[i] = time.Since(start)
		if err != nil {
			return SigResult{}, err
		}
		sigs[i] = sig
		total += len(sig)
		largest = max(largest, len(sig))
	}
	verifyT := make([]time.Duration, reps)
	for i := range verifyT {
		start := time.Now()
		err := verify(msg, sigs[i])
		verifyT[i] = time.Since(start)
		if err != nil {
			return SigResult{}, fmt.Errorf("a fresh signature does not verify: %w", err)
		}
	}
	return SigResult{
		Scheme:            s.name,
		PostQuantum:       s.postQuantum,
		Security:          s.security,
		Reps:              reps,
		KeygenMS:          ms(median(keygen)),
		SignMS:            ms(median(signT)),
		SignP90MS:         ms(percentile(signT, 90)),
		VerifyMS:          ms(median(verifyT)),
		VerifyP90MS:       ms(percentile(verifyT, 90)),
		PublicKeyBytes:    s.pubBytes,
		PrivateKeyBytes:   s.privBytes,
		SignatureBytes:    (total + reps/2) / reps,
		SignatureBytesMax: largest,
	}, nil
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	k := (len(s)*p + 99) / 100 // ceil(len·p/100)
	return s[max(k, 1)-1]
}

// WriteSigTable prints the results of MeasureSignatures as an aligned table.
func WriteSigTable(w io.Writer, rs []SigResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scheme\tpost-quantum\tkeygen\tsign\tsign p90\tverify\tverify p90\tpublic key\tsignature\t\n")
	for _, r := range rs {
		pq := "no"
		if r.PostQuantum {
			pq = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d B\t%d B\t\n", r.Scheme, pq,
			formatDuration(r.KeygenMS), formatDuration(r.SignMS), formatDuration(r.SignP90MS),
			formatDuration(r.VerifyMS), formatDuration(r.VerifyP90MS), r.PublicKeyBytes, r.SignatureBytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, r := range rs {
		fmt.Fprintf(w, "%-9s %s\n", r.Scheme, r.Security)
	}
	return nil
}

// formatDuration prints milliseconds with a unit that keeps three or four
// significant digits.
func formatDuration(msv float64) string {
	switch {
	case msv >= 1000:
		return fmt.Sprintf("%.2f s", msv/1000)
	case msv >= 1:
		return fmt.Sprintf("%.2f ms", msv)
	default:
		return fmt.Sprintf("%.1f µs", msv*1000)
	}
}
