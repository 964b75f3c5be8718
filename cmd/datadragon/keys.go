package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/datadragon/datadragon/zk/ziggy"
)

// Key file names inside the directory of 'keys gen'.
const (
	privateKeyFile = "ziggy.key"
	publicKeyFile  = "ziggy.pub"
)

var keysSubcommands = []*command{keysGenCmd, keysPublicCmd}

func printKeysHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: datadragon keys <command> [arguments]

Ziggy keys. A Ziggy private key is 32 random bytes; from it the key
derivation of the seed's Ziggy (BLAKE2s) draws a secret of 8 field elements,
and the public key is the Rescue hash of that secret: 4 field elements. A
Ziggy signature proves knowledge of the secret with a zero-knowledge STARK
proof, so it stays secure against quantum computers ('datadragon zk sign').

Commands:
`)
	for _, c := range keysSubcommands {
		fmt.Fprintf(w, "  %-7s %s\n  %7s datadragon %s %s\n", strings.TrimPrefix(c.path, "keys "), c.summary, "", c.path, c.synopsis)
	}
	fmt.Fprint(w, `
Examples:
  datadragon keys gen --out keys/
  datadragon keys public --key keys/ziggy.key

Run 'datadragon keys <command> --help' for every flag.
`)
}

func runKeys(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printKeysHelp(stderr)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		printKeysHelp(stdout)
		return exitOK
	case "gen":
		return runKeysGen(rest, stdout, stderr)
	case "public":
		return runKeysPublic(rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "datadragon keys: unknown command %q\nRun 'datadragon keys --help' to see the keys commands.\n", cmd)
		return exitUsage
	}
}

// ---- keys gen ----

var keysGenCmd = &command{
	path:     "keys gen",
	synopsis: "--out DIR",
	summary:  "generate a Ziggy key pair: DIR/ziggy.key and DIR/ziggy.pub",
	about: `Generate a new Ziggy key pair from the operating system's random generator
and write it to the directory DIR (created with mode 0700 if missing):

  ziggy.key  the private key, mode 0600. Anyone who reads it can sign as you:
             keep it secret and back it up. It is JSON:
             {"type": "datadragon/ziggy/private-key", "version": 1,
              "private_key": "0x<64 hex digits>", "public_key": [4 elements]}
  ziggy.pub  the public key, mode 0644, to give to whoever verifies:
             {"type": "datadragon/ziggy/public-key", "version": 1,
              "public_key": ["0x...", "0x...", "0x...", "0x..."]}

Existing key files are never overwritten: the command fails instead. The
public key is printed; the private key is never printed.`,
	examples: []string{
		"datadragon keys gen --out keys/",
		"datadragon zk sign --key keys/ziggy.key --in message.txt --out message.sig",
	},
}

func runKeysGen(args []string, stdout, stderr io.Writer) int {
	c := keysGenCmd
	fs := newFlagSet(c)
	out := fs.String("out", "", "write ziggy.key and ziggy.pub into the directory `DIR`; required")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *out == "":
		err = usagef("--out DIR is required: name the directory to write ziggy.key and ziggy.pub to")
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	keyPath, pubPath := filepath.Join(*out, privateKeyFile), filepath.Join(*out, publicKeyFile)
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fail(stderr, c, err)
	}
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fail(stderr, c, fmt.Errorf("%s already exists; keys are never overwritten: move it away or choose another --out", p))
		}
	}
	pub, priv, err := ziggy.GenerateKey(nil)
	if err == nil {
		err = ziggy.SavePrivateKey(keyPath, priv)
	}
	if err != nil {
		return fail(stderr, c, fmt.Errorf("writing the private key: %w", err))
	}
	if err := ziggy.SavePublicKey(pubPath, pub); err != nil {
		os.Remove(keyPath) // never used: leave no half pair behind
		return fail(stderr, c, fmt.Errorf("writing the public key: %w", err))
	}
	fmt.Fprintf(stdout, "public key: %s\n", pub)
	fmt.Fprintf(stdout, "private key written to %s (mode 0600: keep it secret, back it up)\n", keyPath)
	fmt.Fprintf(stdout, "public key written to %s\n", pubPath)
	return exitOK
}

// ---- keys public ----

var keysPublicCmd = &command{
	path:     "keys public",
	synopsis: "--private-key 0x<64 hex> | --key FILE",
	summary:  "print the public key of a private key",
	about: `Print the Ziggy public key of a private key: its 4 field elements as
lowercase 0x hex, space-separated, on one line (the form 'datadragon zk verify
--pub' also reads from a file).

The private key comes from --private-key, as 0x and 64 hex digits (the
"private_key" of a key file, or a ziggy_key_vectors entry of the test vectors),
or from --key, a private key file. Prefer --key for real keys: a key on the
command line can end up in the shell history and in process listings.

With --hex it prints the key as the 64 hex digits of its 32-byte encoding:
the form a stream spec's "producers" and "experts", and the genesis's
"ziggy_pub_key", take.`,
	examples: []string{
		"datadragon keys public --private-key 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"datadragon keys public --key producer/ziggy.key --hex",
		"datadragon keys public --key keys/ziggy.key > keys/public.txt",
	},
}

func runKeysPublic(args []string, stdout, stderr io.Writer) int {
	c := keysPublicCmd
	fs := newFlagSet(c)
	hexKey := fs.String("private-key", "", "the private key `0xHEX`: 0x and 64 hex digits")
	asHex := fs.Bool("hex", false, "print the 32-byte encoding as 64 hex digits (for stream specs and the genesis)")
	keyPath := fs.String("key", "", "read the private key from the key `FILE` instead")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		// Never echo what might be a private key.
		err = usagef("unexpected argument; give the key with --private-key 0x<64 hex> or --key FILE")
	case (*hexKey == "") == (*keyPath == ""):
		err = usagef("give exactly one of --private-key 0x<64 hex> and --key FILE")
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	var priv *ziggy.PrivateKey
	if *hexKey != "" {
		if priv, err = ziggy.ParsePrivateKeyHex(*hexKey); err != nil {
			return fail(stderr, c, usagef("--private-key: %v", err))
		}
	} else if priv, err = ziggy.LoadPrivateKey(*keyPath); err != nil {
		return fail(stderr, c, err)
	}
	if *asHex {
		fmt.Fprintln(stdout, hex.EncodeToString(priv.Public().Bytes()))
		return exitOK
	}
	fmt.Fprintln(stdout, priv.Public())
	return exitOK
}

// loadPrivateKeyFile loads a private key for a command, with a hint when
// the file is missing.
func loadPrivateKeyFile(path string) (*ziggy.PrivateKey, error) {
	priv, err := ziggy.LoadPrivateKey(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (create a key pair with 'datadragon keys gen --out DIR')", err)
	}
	return priv, err
}
