package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/datadragon/datadragon/zk/chain"
	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
	"github.com/datadragon/datadragon/zk/stark"
)

// Input bounds: files are read whole, so their size is checked first.
const (
	maxWitnessFile = 64 << 20                 // bytes of witness JSON chain-prove reads
	maxProofFile   = 16 << 20                 // bytes of proof chain-verify reads
	defaultMinBits = stark.DefaultMinSecurity // the verifier's default floor, in conjectured bits
)

var zkSubcommands = []*command{rescueHashCmd, chainProveCmd, chainVerifyCmd, zkSignCmd, zkVerifyCmd}

func printZKHelp(w io.Writer) {
	fmt.Fprintf(w, `Usage: datadragon zk <command> [arguments]

Zero-knowledge proofs made with DataDragon's own zk-STARK engine, over the
prime field p = 2^61 + 20*2^32 + 1 (%#x) with challenges drawn from
its cubic extension, and the Rescue hash of ethSTARK/Ziggy (state 12, rate 8,
capacity 4, 10 rounds, alpha 3).

A hash chain of length n over inputs w_0 ... w_n (4 field elements each) is
  out = H(...H(H(w_0, w_1), w_2)..., w_n)
and a chain proof convinces anyone that the prover knows inputs giving out,
without the verifier redoing the hashes. Proofs carry their statement
(length, out) and their options, and default to 128 bits of conjectured
security; the verifier refuses anything under 100 bits unless told otherwise.

A Ziggy signature (sign, verify) is a zero-knowledge proof that the signer
knows the secret preimage of its public key under Rescue, bound to the signed
message: post-quantum, 128 bits conjectured. Keys come from 'datadragon keys'.

Commands:
`, field.Modulus)
	for _, c := range zkSubcommands {
		fmt.Fprintf(w, "  %-13s %s\n  %13s datadragon %s %s\n", strings.TrimPrefix(c.path, "zk "), c.summary, "", c.path, c.synopsis)
	}
	fmt.Fprint(w, `
Examples:
  datadragon zk rescue-hash 1 2 3 4 5 6 7 8
  datadragon zk chain-prove --length 6144 --out chain.proof
  datadragon zk chain-verify chain.proof
  datadragon zk sign --key keys/ziggy.key --in report.csv --out report.csv.sig
  datadragon zk verify --pub keys/ziggy.pub --in report.csv --sig report.csv.sig

Run 'datadragon zk <command> --help' for every flag with its default.
`)
}

func runZK(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printZKHelp(stderr)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		printZKHelp(stdout)
		return exitOK
	case "rescue-hash":
		return runRescueHash(rest, stdout, stderr)
	case "chain-prove":
		return runChainProve(rest, stdout, stderr)
	case "chain-verify":
		return runChainVerify(rest, stdout, stderr)
	case "sign":
		return runZKSign(rest, stdout, stderr)
	case "verify":
		return runZKVerify(rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "datadragon zk: unknown command %q\nRun 'datadragon zk --help' to see the zk commands.\n", cmd)
		return exitUsage
	}
}

// ---- rescue-hash ----

var rescueHashCmd = &command{
	path:     "zk rescue-hash",
	synopsis: "X0 X1 X2 X3 X4 X5 X6 X7",
	summary:  "hash 8 field elements with Rescue, print the 4-element digest",
	about: fmt.Sprintf(`Hash 8 field elements with Rescue (state 12, rate 8, capacity 4, 10 rounds,
alpha 3: the ethSTARK/Ziggy parameters) and print the 4 output elements as
lowercase 0x hex without leading zeros, space-separated, on one line.

Each input is 0x-prefixed hex or decimal and must be below the field modulus
p = %#x. Exactly 8 inputs are required.`, field.Modulus),
	examples: []string{
		"datadragon zk rescue-hash 1 2 3 4 5 6 7 8",
		"datadragon zk rescue-hash 0x1f9b7739a7ace732 0xb18e22328f00481 0x1827919eda679f81 0x1e1f0372f960063 0x67549a512e74f7b 0x365e0afcdc83011 0x15e5a99c482c590e 0x2e0289553a12945",
	},
}

func runRescueHash(args []string, stdout, stderr io.Writer) int {
	c := rescueHashCmd
	fs := newFlagSet(c)
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	var in [rescue.Rate]field.Element
	if err == nil {
		in, err = parseRescueInput(pos)
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	out := rescue.Hash(in)
	fmt.Fprintln(stdout, formatElements(out[:]))
	return exitOK
}

func parseRescueInput(args []string) ([rescue.Rate]field.Element, error) {
	var in [rescue.Rate]field.Element
	if len(args) != len(in) {
		return in, usagef("want exactly %d field elements X0 ... X7, got %d", len(in), len(args))
	}
	for i, s := range args {
		e, err := parseElement(s)
		if err != nil {
			return in, usagef("X%d: %v", i, err)
		}
		in[i] = e
	}
	return in, nil
}

// ---- proof options ----

// addOptionFlags defines the STARK option flags, defaulting to
// stark.DefaultOptions, and returns the options they fill in.
func addOptionFlags(fs *flag.FlagSet) *stark.Options {
	o := stark.DefaultOptions()
	fs.IntVar(&o.Blowup, "blowup", o.Blowup, fmt.Sprintf("low-degree extension blowup `FACTOR`, a power of two from 2 to %d; each query is worth log2(FACTOR) bits", stark.MaxBlowup))
	fs.IntVar(&o.Queries, "queries", o.Queries, fmt.Sprintf("`COUNT` of FRI query positions, 1 to %d", stark.MaxQueries))
	fs.IntVar(&o.GrindingBits, "grinding", o.GrindingBits, fmt.Sprintf("proof-of-work `BITS` done before the queries are drawn, 0 to %d; each adds one bit", stark.MaxGrindingBits))
	fs.IntVar(&o.FoldingFactor, "folding", o.FoldingFactor, "FRI folding `FACTOR`: 2, 4, 8 or 16")
	fs.IntVar(&o.LastLayerDegree, "last-layer", o.LastLayerDegree, fmt.Sprintf("`DEGREE` bound of the last FRI layer, sent in the clear: a power of two from 1 to %d", stark.MaxLastLayer))
	fs.BoolVar(&o.ZeroKnowledge, "zk", o.ZeroKnowledge, "make the proof zero-knowledge: randomise the trace and mask the composition")
	return &o
}

func describeOptions(o stark.Options) string {
	zk := "off"
	if o.ZeroKnowledge {
		zk = "on"
	}
	return fmt.Sprintf("blowup %d, %d queries, %d grinding bits, folding %d, last layer degree %d, zero knowledge %s",
		o.Blowup, o.Queries, o.GrindingBits, o.FoldingFactor, o.LastLayerDegree, zk)
}

// ---- chain-prove ----

var chainProveCmd = &command{
	path:     "zk chain-prove",
	synopsis: "--length N [--witness FILE | --seed S] --out PROOF [options]",
	summary:  "prove knowledge of the inputs of a Rescue hash chain",
	about: fmt.Sprintf(`Prove "I know w_0 ... w_n such that H(...H(H(w_0, w_1), w_2)..., w_n) = out"
for a Rescue hash chain of n = --length hashes, and write the proof to PROOF.
The proof carries the statement (length and out) and its options, so
'datadragon zk chain-verify PROOF' needs nothing else.

The witness comes from --witness FILE, a JSON file of n+1 entries of 4 field
elements each (0x hex or decimal strings), as in the test-vector file:
  {"witness": [["0x1a82...", "0xbe2d...", "0xa418...", "0x9581..."], ...]}
("chain_length" and "output" may be present too; they are then checked), or
else is generated deterministically from --seed. Chains of 1 to %d hashes
are accepted; the witness file may be up to %s.

Prints the public output, the conjectured and the proven security, the
proof size and the proving time. Proven security is far lower than
conjectured for the same options (about 72 bits for the defaults);
--queries 57 (stark.ProvenOptions) gives at least 100 proven bits.`, chain.MaxLength, formatBytes(maxWitnessFile)),
	examples: []string{
		"datadragon zk chain-prove --length 6144 --out chain.proof",
		"datadragon zk chain-prove --witness witness.json --out chain.proof --zk",
	},
}

func runChainProve(args []string, stdout, stderr io.Writer) int {
	c := chainProveCmd
	fs := newFlagSet(c)
	length := fs.Int("length", 0, fmt.Sprintf("number of hashes `N` in the chain, 1 to %d; optional with --witness, which then must hold N+1 entries", chain.MaxLength))
	witnessPath := fs.String("witness", "", "read the witness from the JSON `FILE`")
	seed := fs.Uint64("seed", 1, "`SEED` of the deterministic random witness used when there is no --witness")
	out := fs.String("out", "", "write the proof to the file `PROOF`; required")
	fs.Lookup("length").DefValue = "none"
	opts := addOptionFlags(fs)

	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	if err == nil {
		err = checkProveArgs(fs, pos, *length, *witnessPath, *out, *opts)
	}
	var witness [][4]field.Element
	var want *[4]field.Element
	if err == nil {
		if *witnessPath != "" {
			witness, want, err = loadWitness(*witnessPath, *length, isSet(fs, "length"))
		} else {
			witness = chain.RandomWitness(*length, *seed)
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}

	n := len(witness) - 1
	fmt.Fprintf(stderr, "proving a Rescue hash chain of %d hashes (%s)...\n", n, describeOptions(*opts))
	start := time.Now()
	proof, err := chain.Prove(witness, *opts)
	elapsed := time.Since(start)
	if err != nil {
		return fail(stderr, c, fmt.Errorf("proving failed: %w", err))
	}
	if want != nil && proof.Statement.Output != *want {
		return fail(stderr, c, fmt.Errorf("%s: the file says the output is %s but its witness hashes to %s; fix or drop its \"output\"",
			*witnessPath, formatElements(want[:]), formatElements(proof.Statement.Output[:])))
	}
	data, err := proof.MarshalBinary()
	if err == nil {
		err = writeFileAtomic(*out, data)
	}
	if err != nil {
		return fail(stderr, c, fmt.Errorf("writing the proof: %w", err))
	}

	bits := proof.SecurityBits()
	fmt.Fprintf(stdout, "output: %s\n", formatElements(proof.Statement.Output[:]))
	fmt.Fprintf(stdout, "length: %d hashes\n", proof.Statement.Length)
	fmt.Fprintf(stdout, "security: %d bits (conjectured)\n", bits)
	fmt.Fprintf(stdout, "proven security: %d bits (ethSTARK eq. 20, list decoding)\n", proof.ProvenSecurityBits())
	fmt.Fprintf(stdout, "proof: %d bytes written to %s\n", len(data), *out)
	fmt.Fprintf(stdout, "time: %s\n", roundDuration(elapsed))
	if bits < defaultMinBits {
		fmt.Fprintf(stderr, "warning: %d bits is below the verifier's default floor of %d bits, so chain-verify will reject this proof;\n"+
			"raise --queries, --grinding or --blowup, or verify with 'datadragon zk chain-verify --min-bits %d %s'\n",
			bits, defaultMinBits, bits, *out)
	}
	return exitOK
}

// checkProveArgs checks the chain-prove command line before any work.
func checkProveArgs(fs *flag.FlagSet, pos []string, length int, witnessPath, out string, opts stark.Options) error {
	switch {
	case len(pos) > 0:
		return unexpectedArg(pos[0])
	case out == "":
		return usagef("--out PROOF is required: name the file to write the proof to")
	case witnessPath != "" && isSet(fs, "seed"):
		return usagef("--witness and --seed exclude each other: a witness file fixes the chain's inputs")
	case witnessPath == "" && !isSet(fs, "length"):
		return usagef("give --length N (with an optional --seed) or --witness FILE")
	case isSet(fs, "length") && (length < 1 || length > chain.MaxLength):
		return usagef("--length %d is outside 1 to %d", length, chain.MaxLength)
	}
	if err := opts.Validate(); err != nil {
		return usagef("%v", err)
	}
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return usagef("--out %s: directory %s does not exist", out, filepath.Dir(out))
	}
	return nil
}

// witnessFile is the JSON layout of a chain witness, a subset of a
// chain_vectors entry of the test-vector file.
type witnessFile struct {
	ChainLength *int              `json:"chain_length"`
	Witness     []json.RawMessage `json:"witness"`
	Output      json.RawMessage   `json:"output"`
}

// loadWitness reads and checks a witness file. It returns the expected
// output when the file states one. length is checked against the file
// when lengthSet.
func loadWitness(path string, length int, lengthSet bool) ([][4]field.Element, *[4]field.Element, error) {
	data, err := readFileLimited(path, maxWitnessFile)
	if err != nil {
		return nil, nil, err
	}
	w, want, err := parseWitness(data, chain.MaxLength)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if lengthSet && length != len(w)-1 {
		return nil, nil, fmt.Errorf("--length %d disagrees with %s, which holds %d entries (a chain of %d hashes); drop --length or fix the file",
			length, path, len(w), len(w)-1)
	}
	return w, want, nil
}

// parseWitness decodes witness JSON of a chain of at most maxLength
// hashes, naming the entry and element of any error.
func parseWitness(data []byte, maxLength int) ([][4]field.Element, *[4]field.Element, error) {
	const shape = `expected JSON {"witness": [[4 field elements], ...]}`
	var f witnessFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", shape, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%s: extra data after the JSON object", shape)
	}
	if f.Witness == nil {
		return nil, nil, fmt.Errorf(`%s: no "witness" field`, shape)
	}
	n := len(f.Witness) - 1
	if n < 1 {
		return nil, nil, fmt.Errorf("the witness has %d entries; a chain needs at least 2 (w_0 and one more per hash)", len(f.Witness))
	}
	if n > maxLength {
		return nil, nil, fmt.Errorf("the witness has %d entries, a chain of %d hashes; at most %d hashes are supported", len(f.Witness), n, maxLength)
	}
	if f.ChainLength != nil && *f.ChainLength != n {
		return nil, nil, fmt.Errorf(`"chain_length" is %d but "witness" holds %d entries (a chain of %d hashes)`, *f.ChainLength, len(f.Witness), n)
	}
	w := make([][4]field.Element, len(f.Witness))
	for i, raw := range f.Witness {
		if err := parseWord(raw, &w[i]); err != nil {
			return nil, nil, fmt.Errorf("witness entry %d: %w", i, err)
		}
	}
	var want *[4]field.Element
	if f.Output != nil {
		want = new([4]field.Element)
		if err := parseWord(f.Output, want); err != nil {
			return nil, nil, fmt.Errorf(`"output": %w`, err)
		}
	}
	return w, want, nil
}

// parseWord decodes a JSON array of 4 field elements, each a hex or
// decimal string or a plain JSON integer.
func parseWord(raw json.RawMessage, dst *[4]field.Element) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return fmt.Errorf("want an array of %d field elements, got %s", len(dst), abbreviate(raw))
	}
	if len(elems) != len(dst) {
		return fmt.Errorf("has %d elements, want %d", len(elems), len(dst))
	}
	for j, e := range elems {
		s := string(e)
		if len(e) > 0 && e[0] == '"' {
			if err := json.Unmarshal(e, &s); err != nil {
				return fmt.Errorf("element %d: %v", j, err)
			}
		}
		v, err := parseElement(s)
		if err != nil {
			return fmt.Errorf("element %d: %w", j, err)
		}
		dst[j] = v
	}
	return nil
}

// abbreviate shortens a JSON fragment for an error message.
func abbreviate(raw []byte) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "..."
	}
	return string(raw)
}

// ---- chain-verify ----

var chainVerifyCmd = &command{
	path:     "zk chain-verify",
	synopsis: "[--min-bits B] [--format datadragon|ethstark|ethstark-master|ethstark-ziggy] [--pub PUBLIC_INPUT.json] PROOF",
	summary:  "verify a Rescue hash-chain proof",
	about: fmt.Sprintf(`Verify the hash-chain proof in the file PROOF (at most %s). If it is valid,
print "valid" and the statement it proves (chain length, output, security,
options) and exit 0. Otherwise print "invalid: <reason>" and exit 1.

A proof whose options give fewer than --min-bits bits of conjectured security
is invalid, so a prover cannot weaken the parameters unnoticed.

--format ethstark verifies a proof made by ethSTARK's rescue_prover: PROOF is
its JSON output file, which carries the parameters and public input; --pub
names a public-input file ({"output": [...], "chain_length": n}) to verify
against instead. The security printed is what ethSTARK's parameters claim.

ethSTARK has two branches with different proofs: the ziggy branch (128 bits,
Blake2s-256, a cubic extension field) and the master branch (at most 80 bits,
Blake2s-160, a quadratic extension). --format ethstark reads the branch from
the file: the ziggy branch's parameters have enable_zero_knowledge, master's
do not. --format ethstark-master or ethstark-ziggy reads the file as that
branch's whatever it says. A master-branch proof claims at most 80 bits, so
it is invalid unless --min-bits is 80 or less.`, formatBytes(maxProofFile)),
	examples: []string{
		"datadragon zk chain-verify chain.proof",
		"datadragon zk chain-verify --min-bits 128 chain.proof",
		"datadragon zk chain-verify --format ethstark chain_proof.json",
		"datadragon zk chain-verify --format ethstark --min-bits 80 master_proof.json",
	},
}

func runChainVerify(args []string, stdout, stderr io.Writer) int {
	c := chainVerifyCmd
	fs := newFlagSet(c)
	minBits := fs.Int("min-bits", defaultMinBits, "reject proofs with fewer than `BITS` bits of conjectured security")
	format := fs.String("format", formatDataDragon, "proof `FORMAT`: datadragon, ethstark, ethstark-master or ethstark-ziggy")
	pubPath := fs.String("pub", "", "with --format ethstark, verify against the public-input `FILE` instead of the proof's own")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	switch {
	case err != nil:
	case checkChainFormat(*format) != nil:
		err = checkChainFormat(*format)
	case *pubPath != "" && !isEthSTARKFormat(*format):
		err = usagef("--pub is only for --format ethstark: a DataDragon proof carries its statement")
	case len(pos) != 1:
		err = usagef("want exactly one proof file, got %d arguments", len(pos))
	case *minBits < 1:
		err = usagef("--min-bits %d must be at least 1", *minBits)
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	if isEthSTARKFormat(*format) {
		return runChainVerifyEthSTARK(c, pos[0], *pubPath, *format, *minBits, stdout, stderr)
	}

	data, err := readFileLimited(pos[0], maxProofFile)
	if errors.Is(err, errTooLarge) {
		fmt.Fprintf(stdout, "invalid: %v\n", err)
		return exitFail
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	start := time.Now()
	proof, err := chain.ParseProof(data)
	if err == nil {
		err = chain.Verify(proof, *minBits)
	}
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintf(stdout, "invalid: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(stdout, "valid")
	fmt.Fprintf(stdout, "length: %d hashes\n", proof.Statement.Length)
	fmt.Fprintf(stdout, "output: %s\n", formatElements(proof.Statement.Output[:]))
	fmt.Fprintf(stdout, "security: %d bits (conjectured), floor %d\n", proof.SecurityBits(), *minBits)
	fmt.Fprintf(stdout, "options: %s\n", describeOptions(proof.Options()))
	fmt.Fprintf(stdout, "time: %s\n", roundDuration(elapsed))
	return exitOK
}

// roundDuration keeps about four significant digits of a duration.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Millisecond)
	}
}
