package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/datadragon/datadragon/zk/field"
)

// Exit codes shared by every command.
const (
	exitOK    = 0 // success; for chain-verify: the proof is valid
	exitFail  = 1 // the work failed or the input was invalid (a bad proof, a bad file)
	exitUsage = 2 // the command line itself was wrong: unknown command, bad flag, wrong argument count
)

// command is the help page of one leaf command.
type command struct {
	path     string   // words after "datadragon", e.g. "zk chain-prove"
	synopsis string   // what follows the path in the usage line
	summary  string   // one line for command listings
	about    string   // what the command does, in full
	examples []string // complete command lines
}

// usageError is a mistake on the command line; it exits with code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

// fail reports err on stderr, with a pointer to the command's help for a
// usage error, and returns the matching exit code.
func fail(stderr io.Writer, c *command, err error) int {
	fmt.Fprintf(stderr, "datadragon %s: %v\n", c.path, err)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "Run 'datadragon %s --help' for usage.\n", c.path)
		return exitUsage
	}
	return exitFail
}

// newFlagSet returns a flag set that reports nothing itself: parse errors
// and --help are turned into our own messages by parse.
func newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("datadragon "+c.path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// errHelp means the user asked for the help page, which has been printed.
var errHelp = errors.New("help requested")

// parse parses flags and positional arguments in any order (the standard
// flag package stops at the first positional argument; people type
// "chain-verify proof.bin --min-bits 90" too). Everything after "--" is
// positional. On --help it prints the help page to stdout and returns
// errHelp.
func parse(fs *flag.FlagSet, c *command, args []string, stdout io.Writer) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printHelp(stdout, c, fs)
				return nil, errHelp
			}
			return nil, &usageError{err.Error()}
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// unexpectedArg reports a stray positional argument, with a hint when it
// looks like the value of a boolean flag written with a space.
func unexpectedArg(arg string) error {
	if arg == "true" || arg == "false" {
		return usagef("unexpected argument %q: boolean flags take their value with '=', e.g. --zk=%s", arg, arg)
	}
	return usagef("unexpected argument %q", arg)
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// optionFlagNames are the proof-option flags of addOptionFlags, listed in
// their own help section in this order.
var optionFlagNames = []string{"blowup", "queries", "grinding", "folding", "last-layer", "zk"}

// helpWidth is the width help text is wrapped to.
const helpWidth = 80

// printHelp writes a command's help page: usage, description, every flag
// with its default, and examples.
func printHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: datadragon %s %s\n\n", c.path, c.synopsis)
	fmt.Fprintf(w, "%s\n", strings.TrimSpace(c.about))
	if fs != nil {
		var general, options []*flag.Flag
		fs.VisitAll(func(f *flag.Flag) {
			if !slices.Contains(optionFlagNames, f.Name) {
				general = append(general, f)
			}
		})
		for _, name := range optionFlagNames {
			if f := fs.Lookup(name); f != nil {
				options = append(options, f)
			}
		}
		printFlags(w, "Flags", general)
		printFlags(w, "Proof options", options)
	}
	if len(c.examples) > 0 {
		fmt.Fprintf(w, "\nExample")
		if len(c.examples) > 1 {
			fmt.Fprintf(w, "s")
		}
		fmt.Fprintf(w, ":\n")
		for _, e := range c.examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// printFlags writes one section of flags: "--name VALUE" and, wrapped
// beside it, the usage text and the default.
func printFlags(w io.Writer, title string, flags []*flag.Flag) {
	if len(flags) == 0 {
		return
	}
	left := make([]string, len(flags))
	width := 0
	for i, f := range flags {
		kind, _ := flag.UnquoteUsage(f)
		left[i] = "--" + f.Name
		if kind != "" {
			left[i] += " " + kind
		}
		width = max(width, len(left[i]))
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for i, f := range flags {
		_, usage := flag.UnquoteUsage(f)
		def := f.DefValue
		if def == "" {
			def = "none"
		}
		text := fmt.Sprintf("%s (default %s)", usage, def)
		for j, line := range wrap(text, helpWidth-width-4) {
			if j == 0 {
				fmt.Fprintf(w, "  %-*s  %s\n", width, left[i], line)
			} else {
				fmt.Fprintf(w, "  %*s  %s\n", width, "", line)
			}
		}
	}
}

// wrap breaks text into lines of at most width characters where it can.
func wrap(text string, width int) []string {
	width = max(width, 30)
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// parseElement reads a field element written as 0x-prefixed hex or as
// decimal, rejecting values that are not below the modulus.
func parseElement(s string) (field.Element, error) {
	digits, base := s, 10
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		digits, base = s[2:], 16
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return field.Element{}, fmt.Errorf("%q is not below the field modulus p = %#x", s, field.Modulus)
		}
		return field.Element{}, fmt.Errorf("%q is not a field element: write 0x-prefixed hex or decimal, below p = %#x", s, field.Modulus)
	}
	e, err := field.FromCanonical(v)
	if err != nil {
		return field.Element{}, fmt.Errorf("%q is not below the field modulus p = %#x", s, field.Modulus)
	}
	return e, nil
}

// formatElements writes elements as lowercase 0x hex without leading
// zeros, space-separated, as in the test-vector file.
func formatElements(es []field.Element) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%#x", e.Uint64())
	}
	return b.String()
}

// errTooLarge is returned by readFileLimited for files over the limit.
var errTooLarge = errors.New("file too large")

// readFileLimited reads a whole file but refuses, without reading it all,
// one larger than limit bytes.
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: it is larger than the %s limit", path, errTooLarge, formatBytes(limit))
	}
	return b, nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, synced before it is renamed over path and the directory
// synced after, so an interrupted run or a crash leaves either the old file
// or the new one, whole, never half of one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// formatBytes prints a byte count in binary units.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
