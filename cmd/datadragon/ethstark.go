package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/datadragon/datadragon/zk/ethstark"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// Verification of ethSTARK's own files (--format ethstark): the JSON its
// provers write ({"proof_hex", "proof_parameters", "public_input"}) and
// the public-input files they read.

const (
	formatDataDragon = "datadragon"
	formatEthSTARK   = "ethstark"
	maxEthSTARKFile  = 8 << 20 // bytes of an ethSTARK JSON file

	// A chain proof's file tells its ethSTARK branch (the ziggy branch's
	// parameters have enable_zero_knowledge, master's do not); these read
	// it as one branch's whatever it says.
	formatEthSTARKMaster = "ethstark-master"
	formatEthSTARKZiggy  = "ethstark-ziggy"
)

func checkFormat(f string) error {
	if f != formatDataDragon && f != formatEthSTARK {
		return usagef("--format %q: want %s or %s", f, formatDataDragon, formatEthSTARK)
	}
	return nil
}

// checkChainFormat accepts the formats of a chain proof, which ethSTARK's
// master branch makes too.
func checkChainFormat(f string) error {
	switch f {
	case formatDataDragon, formatEthSTARK, formatEthSTARKMaster, formatEthSTARKZiggy:
		return nil
	}
	return usagef("--format %q: want %s, %s, %s or %s", f, formatDataDragon, formatEthSTARK, formatEthSTARKMaster, formatEthSTARKZiggy)
}

func isEthSTARKFormat(f string) bool {
	return f == formatEthSTARK || f == formatEthSTARKMaster || f == formatEthSTARKZiggy
}

// readEthSTARKFile reads and parses an ethSTARK prover output file, its
// branch the one the file tells or, for ethstark-master and
// ethstark-ziggy, the one the format names. An unreadable file is
// returned as is; a malformed one as errInvalid.
func readEthSTARKFile(path, format string) (*ethstark.File, error) {
	data, err := readFileLimited(path, maxEthSTARKFile)
	if err != nil {
		return nil, err
	}
	var f *ethstark.File
	switch format {
	case formatEthSTARKMaster:
		f, err = ethstark.ParseFileBranch(data, ethstark.BranchMaster)
	case formatEthSTARKZiggy:
		f, err = ethstark.ParseFileBranch(data, ethstark.BranchZiggy)
	default:
		f, err = ethstark.ParseFile(data)
	}
	if err != nil {
		return nil, invalid{err}
	}
	return f, nil
}

// invalid marks an error in the input's content (reported as "invalid:"),
// as opposed to one reading it.
type invalid struct{ error }

func (e invalid) Unwrap() error { return e.error }

// ethstarkZiggyInput builds the statement of an ethSTARK signature: from
// an ethSTARK public-input file ({"public_key", "message"}), whose message
// --in may replace, or from a DataDragon public key and the message of --in.
func ethstarkZiggyInput(pubPath, msgPath string) (*ethstark.ZiggyInput, error) {
	data, err := readFileLimited(pubPath, maxEthSTARKFile)
	if err != nil {
		return nil, err
	}
	var probe struct {
		PublicKey json.RawMessage `json:"public_key"`
	}
	var in *ethstark.ZiggyInput
	if json.Unmarshal(data, &probe) == nil && probe.PublicKey != nil {
		if msgPath != "" { // the message comes from --in; the file may lack one
			data, _ = json.Marshal(map[string]any{"public_key": probe.PublicKey, "message": ""})
		}
		if in, err = ethstark.ParseZiggyInput(data); err != nil {
			return nil, fmt.Errorf("%s: %w", pubPath, err)
		}
	} else {
		pub, err := ziggy.ParsePublicKeyFile(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pubPath, err)
		}
		if msgPath == "" {
			return nil, usagef("--in MESSAGE_FILE is required with a DataDragon public key: ethSTARK binds the message into the signature")
		}
		in = &ethstark.ZiggyInput{PublicKey: pub.Elements()}
	}
	if msgPath != "" {
		msg, err := readMessage(msgPath, os.Stdin)
		if err != nil {
			return nil, err
		}
		in.Message = msg
	}
	return in, nil
}

// runZKVerifyEthSTARK verifies an ethSTARK Ziggy signature file.
func runZKVerifyEthSTARK(c *command, sigPath, pubPath, msgPath string, minBits int, stdout, stderr io.Writer) int {
	in, err := ethstarkZiggyInput(pubPath, msgPath)
	if err != nil {
		return fail(stderr, c, err)
	}
	f, err := readEthSTARKFile(sigPath, formatEthSTARK)
	var bad invalid
	if errors.As(err, &bad) {
		fmt.Fprintf(stdout, "invalid: %v\n", err)
		return exitFail
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	start := time.Now()
	res, err := ethstark.VerifyZiggy(in, f.Params, f.Proof, minBits)
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintf(stdout, "invalid: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(stdout, "valid")
	fmt.Fprintln(stdout, "format: ethSTARK Ziggy signature")
	fmt.Fprintf(stdout, "public key: %s\n", formatElements(in.PublicKey[:]))
	fmt.Fprintf(stdout, "message: %d bytes\n", len(in.Message))
	fmt.Fprintf(stdout, "signature: %d bytes, %d bits (as ethSTARK's parameters claim), floor %d\n", len(f.Proof), res.SecurityBits, minBits)
	fmt.Fprintf(stdout, "parameters: %s\n", f.Params)
	fmt.Fprintf(stdout, "time: %s\n", roundDuration(elapsed))
	return exitOK
}

// runChainVerifyEthSTARK verifies an ethSTARK Rescue hash-chain proof file
// against its own public input, or against the public-input file pubPath.
func runChainVerifyEthSTARK(c *command, proofPath, pubPath, format string, minBits int, stdout, stderr io.Writer) int {
	var in *ethstark.ChainInput
	if pubPath != "" {
		data, err := readFileLimited(pubPath, maxEthSTARKFile)
		if err != nil {
			return fail(stderr, c, err)
		}
		if in, err = ethstark.ParseChainInput(data); err != nil {
			return fail(stderr, c, fmt.Errorf("%s: %w", pubPath, err))
		}
	}
	f, err := readEthSTARKFile(proofPath, format)
	var bad invalid
	if errors.As(err, &bad) {
		fmt.Fprintf(stdout, "invalid: %v\n", err)
		return exitFail
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	if in == nil {
		if in, err = ethstark.ParseChainInput(f.PublicInput); err != nil {
			fmt.Fprintf(stdout, "invalid: public_input: %v\n", err)
			return exitFail
		}
	}
	start := time.Now()
	res, err := ethstark.VerifyChain(in, f.Params, f.Proof, minBits)
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintf(stdout, "invalid: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(stdout, "valid")
	fmt.Fprintf(stdout, "format: ethSTARK Rescue hash-chain proof (%s branch)\n", f.Params.Branch)
	fmt.Fprintf(stdout, "length: %d hashes\n", in.ChainLength)
	fmt.Fprintf(stdout, "output: %s\n", formatElements(in.Output[:]))
	fmt.Fprintf(stdout, "security: %d bits (as ethSTARK's parameters claim), floor %d\n", res.SecurityBits, minBits)
	fmt.Fprintf(stdout, "parameters: %s\n", f.Params)
	fmt.Fprintf(stdout, "proof: %d bytes, trace 2^%d rows\n", len(f.Proof), res.LogTrace)
	fmt.Fprintf(stdout, "time: %s\n", roundDuration(elapsed))
	return exitOK
}

// runZKSignEthSTARK writes ethSTARK's Ziggy signature of msg: DataDragon's
// private key is ethSTARK's 32-byte private key, so the signature is the
// one ziggy_prover makes.
func runZKSignEthSTARK(c *command, priv *ziggy.PrivateKey, msg []byte, out string, stdout, stderr io.Writer) int {
	params := ethstark.ZiggyParams128()
	start := time.Now()
	in, sig, err := ethstark.SignZiggy(priv.Seed(), msg, params)
	elapsed := time.Since(start)
	if err != nil {
		return fail(stderr, c, err)
	}
	data, err := ethstark.MarshalZiggyFile(sig, params, in)
	if err != nil {
		return fail(stderr, c, err)
	}
	res, err := ethstark.VerifyZiggy(in, params, sig, ziggy.MinSecurity)
	if err != nil { // never: a failure here is a bug, not bad input
		return fail(stderr, c, fmt.Errorf("the signature made does not verify: %w", err))
	}
	report := stdout
	if out == "-" {
		if _, err := stdout.Write(data); err != nil {
			return fail(stderr, c, err)
		}
		report = stderr
	} else if err := writeFileAtomic(out, data); err != nil {
		return fail(stderr, c, fmt.Errorf("writing the signature: %w", err))
	}
	fmt.Fprintf(report, "public key: %s\n", priv.Public())
	fmt.Fprintf(report, "message: %d bytes\n", len(msg))
	fmt.Fprintf(report, "signature: %d bytes (ethSTARK JSON) written to %s\n", len(sig), out)
	fmt.Fprintf(report, "security: %d bits (as ethSTARK's parameters claim), zero knowledge\n", res.SecurityBits)
	fmt.Fprintf(report, "time: %s\n", roundDuration(elapsed))
	return exitOK
}
