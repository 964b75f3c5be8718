package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/datadragon/datadragon/zk/ziggy"
)

// Input bounds of zk sign and zk verify. Messages are read whole (they are
// hashed once with SHA-256), so their size is checked first.
const (
	maxMessageFile   = 64 << 20                         // bytes of message
	maxSignatureFile = 2*ziggy.MaxSignatureSize + 1<<10 // bytes of signature file (hex is twice the binary size)
)

// signatureMagic is how a binary signature file starts ("DDZIGGY");
// anything else is read as hex or base64 text.
var signatureMagic = []byte("DDZIGGY")

// readMessage reads a message file, or standard input for "-", refusing
// anything over maxMessageFile.
func readMessage(path string, stdin io.Reader) ([]byte, error) {
	if path != "-" {
		// A regular file too large is refused without reading it.
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() > maxMessageFile {
			return nil, fmt.Errorf("%s: %w: it is larger than the %s limit", path, errTooLarge, formatBytes(maxMessageFile))
		}
		return readFileLimited(path, maxMessageFile)
	}
	b, err := io.ReadAll(io.LimitReader(stdin, maxMessageFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading standard input: %w", err)
	}
	if len(b) > maxMessageFile {
		return nil, fmt.Errorf("standard input: %w: it is larger than the %s limit", errTooLarge, formatBytes(maxMessageFile))
	}
	return b, nil
}

// ---- zk sign ----

var zkSignCmd = &command{
	path:     "zk sign",
	synopsis: "--key FILE --in MESSAGE_FILE --out SIG_FILE [--format binary|hex|base64|ethstark]",
	summary:  "sign a file with a Ziggy private key (post-quantum, zero-knowledge)",
	about: fmt.Sprintf(`Sign the message in MESSAGE_FILE (any bytes, at most %s; "-" reads standard
input) with the Ziggy private key in FILE (from 'datadragon keys gen') and
write the signature to SIG_FILE.

A Ziggy signature is a zero-knowledge STARK proof that the signer knows the
secret whose Rescue hash is the public key, bound to the message: the proof's
public input is the public key and SHA-256("datadragon/ziggy/v1" || public
key || message). It reveals nothing about the secret, rests only on hash
functions (so quantum computers do not break it) and carries 128 bits of
conjectured security. Signing takes a few milliseconds; a signature is about
20 KB. Each signature is randomised: signing twice gives two different valid
signatures.

--format chooses the file's encoding: binary (the versioned signature
encoding), or hex (0x...) or base64 text, e.g. for JSON. 'datadragon zk
verify' reads all three. With --out - and a text format the signature goes
to standard output and the report to standard error.

--format ethstark writes the signature ethSTARK's ziggy_prover makes for the
same key and message, as its JSON output file (128-bit parameters); the
message must be UTF-8 text. Verify it with 'datadragon zk verify --format
ethstark' or ethSTARK's ziggy_verifier.`, formatBytes(maxMessageFile)),
	examples: []string{
		"datadragon zk sign --key keys/ziggy.key --in report.csv --out report.csv.sig",
		"datadragon zk sign --key keys/ziggy.key --in report.csv --out - --format base64",
	},
}

func runZKSign(args []string, stdout, stderr io.Writer) int {
	c := zkSignCmd
	fs := newFlagSet(c)
	keyPath := fs.String("key", "", "the Ziggy private key `FILE` (ziggy.key); required")
	in := fs.String("in", "", "the message `FILE` to sign, - for standard input; required")
	out := fs.String("out", "", "write the signature to `SIG_FILE`, - for standard output (text formats); required")
	format := fs.String("format", "binary", "signature encoding `FORMAT`: binary, hex, base64 or ethstark")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *keyPath == "":
		err = usagef("--key FILE is required: the private key file, e.g. ziggy.key from 'datadragon keys gen'")
	case *in == "":
		err = usagef("--in MESSAGE_FILE is required: the file to sign")
	case *out == "":
		err = usagef("--out SIG_FILE is required: where to write the signature")
	case *format != "binary" && *format != "hex" && *format != "base64" && *format != formatEthSTARK:
		err = usagef("--format %q: want binary, hex, base64 or ethstark", *format)
	case *out == "-" && *format == "binary":
		err = usagef("--out - writes to standard output, which needs --format hex or base64")
	}
	if err == nil && *out != "-" {
		if fi, serr := os.Stat(filepath.Dir(*out)); serr != nil || !fi.IsDir() {
			err = usagef("--out %s: directory %s does not exist", *out, filepath.Dir(*out))
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}

	priv, err := loadPrivateKeyFile(*keyPath)
	if err != nil {
		return fail(stderr, c, err)
	}
	msg, err := readMessage(*in, os.Stdin)
	if err != nil {
		return fail(stderr, c, err)
	}
	if *format == formatEthSTARK {
		return runZKSignEthSTARK(c, priv, msg, *out, stdout, stderr)
	}
	start := time.Now()
	sig, err := ziggy.Sign(priv, msg)
	elapsed := time.Since(start)
	if err != nil {
		return fail(stderr, c, err)
	}
	data := sig
	switch *format {
	case "hex":
		data = []byte(ziggy.EncodeHex(sig) + "\n")
	case "base64":
		data = []byte(ziggy.EncodeBase64(sig) + "\n")
	}
	report := stdout
	if *out == "-" {
		if _, err := stdout.Write(data); err != nil {
			return fail(stderr, c, err)
		}
		report = stderr
	} else if err := writeFileAtomic(*out, data); err != nil {
		return fail(stderr, c, fmt.Errorf("writing the signature: %w", err))
	}
	s, _ := ziggy.ParseSignature(sig)
	fmt.Fprintf(report, "public key: %s\n", priv.Public())
	fmt.Fprintf(report, "message: %d bytes\n", len(msg))
	fmt.Fprintf(report, "signature: %d bytes (%s) written to %s\n", len(sig), *format, *out)
	fmt.Fprintf(report, "security: %d bits (conjectured), zero knowledge\n", s.SecurityBits())
	fmt.Fprintf(report, "time: %s\n", roundDuration(elapsed))
	return exitOK
}

// ---- zk verify ----

var zkVerifyCmd = &command{
	path:     "zk verify",
	synopsis: "--pub FILE --in MESSAGE_FILE --sig SIG_FILE [--min-bits B] | --format ethstark SIG.json --pub PUB.json",
	summary:  "verify a Ziggy signature of a file",
	about: fmt.Sprintf(`Verify that SIG_FILE holds a Ziggy signature of the message in MESSAGE_FILE
(at most %s; "-" reads standard input) by the public key in FILE. If it
does, print "valid" and details and exit 0; otherwise print "invalid: <reason>"
and exit 1 (also for unreadable files, with the reason on standard error).

FILE is a public key file (ziggy.pub from 'datadragon keys gen') or a line of
4 elements as 'datadragon keys public' prints it. SIG_FILE may be binary, hex
(0x...) or base64, as 'datadragon zk sign --format' writes it.

Signatures whose options give fewer than --min-bits bits of conjectured
security are invalid (default %d; the STARK verifier never goes below %d).

--format ethstark verifies a signature made by ethSTARK's ziggy_prover: SIG
(positional or --sig) is its JSON output file and --pub its public-input file
({"public_key": [...], "message": "..."}), or a DataDragon public key with the
message in --in. The security printed is what ethSTARK's parameters claim;
below --min-bits the signature is invalid.`,
		formatBytes(maxMessageFile), ziggy.MinSecurity, defaultMinBits),
	examples: []string{
		"datadragon zk verify --pub keys/ziggy.pub --in report.csv --sig report.csv.sig",
		"datadragon zk verify --format ethstark sig1_signature.json --pub sig1_public_input.json",
	},
}

func runZKVerify(args []string, stdout, stderr io.Writer) int {
	c := zkVerifyCmd
	fs := newFlagSet(c)
	pubPath := fs.String("pub", "", "the Ziggy public key `FILE` (ziggy.pub); required")
	in := fs.String("in", "", "the signed message `FILE`, - for standard input; required")
	sigPath := fs.String("sig", "", "the signature `SIG_FILE`; required")
	minBits := fs.Int("min-bits", ziggy.MinSecurity, "reject signatures with fewer than `BITS` bits of conjectured security")
	format := fs.String("format", formatDataDragon, "signature `FORMAT`: datadragon or ethstark")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	if err == nil && *format == formatEthSTARK {
		switch {
		case len(pos) == 1 && *sigPath == "":
			*sigPath = pos[0]
		case len(pos) > 0:
			err = unexpectedArg(pos[len(pos)-1])
		}
		switch {
		case err != nil:
		case *sigPath == "":
			err = usagef("the signature file is required: ethSTARK's JSON output, as SIG or --sig SIG")
		case *pubPath == "":
			err = usagef("--pub FILE is required: ethSTARK's public-input file, or a public key with --in")
		case *minBits < 1:
			err = usagef("--min-bits %d must be at least 1", *minBits)
		}
		if err != nil {
			return fail(stderr, c, err)
		}
		return runZKVerifyEthSTARK(c, *sigPath, *pubPath, *in, *minBits, stdout, stderr)
	}
	switch {
	case err != nil:
	case checkFormat(*format) != nil:
		err = checkFormat(*format)
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *pubPath == "":
		err = usagef("--pub FILE is required: the signer's public key file, e.g. ziggy.pub")
	case *in == "":
		err = usagef("--in MESSAGE_FILE is required: the signed file")
	case *sigPath == "":
		err = usagef("--sig SIG_FILE is required: the signature file")
	case *in == "-" && *sigPath == "-":
		err = usagef("only one of --in and --sig can read standard input")
	case *minBits < 1:
		err = usagef("--min-bits %d must be at least 1", *minBits)
	}
	if err != nil {
		return fail(stderr, c, err)
	}

	pub, err := ziggy.LoadPublicKey(*pubPath)
	if err != nil {
		return fail(stderr, c, err)
	}
	msg, err := readMessage(*in, os.Stdin)
	if err != nil {
		return fail(stderr, c, err)
	}
	sig, err := readSignatureFile(*sigPath)
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return fail(stderr, c, err) // the file could not be read at all
	}
	if err != nil {
		fmt.Fprintf(stdout, "invalid: %v\n", err)
		return exitFail
	}
	start := time.Now()
	err = ziggy.VerifyWithFloor(pub, msg, sig, *minBits)
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintf(stdout, "invalid: %v\n", err)
		return exitFail
	}
	s, _ := ziggy.ParseSignature(sig)
	fmt.Fprintln(stdout, "valid")
	fmt.Fprintf(stdout, "public key: %s\n", pub)
	fmt.Fprintf(stdout, "message: %d bytes\n", len(msg))
	fmt.Fprintf(stdout, "signature: %d bytes, %d bits (conjectured), floor %d\n", len(sig), s.SecurityBits(), max(*minBits, defaultMinBits))
	fmt.Fprintf(stdout, "options: %s\n", describeOptions(s.Options()))
	fmt.Fprintf(stdout, "time: %s\n", roundDuration(elapsed))
	return exitOK
}

// readSignatureFile reads a binary, hex or base64 signature file.
func readSignatureFile(path string) ([]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, maxSignatureFile+1))
		if err == nil && len(data) > maxSignatureFile {
			err = fmt.Errorf("standard input: %w: no signature is larger than %s", errTooLarge, formatBytes(maxSignatureFile))
		}
	} else {
		data, err = readFileLimited(path, maxSignatureFile)
	}
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, signatureMagic) {
		return data, nil
	}
	sig, err := ziggy.DecodeText(string(data))
	if err != nil {
		return nil, errors.New("the signature file is neither a binary Ziggy signature nor hex or base64 text")
	}
	return sig, nil
}
