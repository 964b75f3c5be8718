package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for datadragon when a test runs
// it as a child process (bench zk measures each length in a child).
func TestMain(m *testing.M) {
	if os.Getenv("DATADRAGON_AS_CLI") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// runCLI runs one command line in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func wantCode(t *testing.T, args []string, code, want int, stdout, stderr string) {
	t.Helper()
	if code != want {
		t.Fatalf("datadragon %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
}

func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "help"}} {
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		for _, want := range []string{"zk rescue-hash", "zk chain-prove", "zk chain-verify", "bench zk", "version", "Exit codes", "devnet", "init", "node", "source"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: help lacks %q:\n%s", args, want, out)
			}
		}
	}
	// No command at all is a usage error; the overview goes to stderr.
	code, out, errOut := runCLI(t)
	wantCode(t, nil, code, exitUsage, out, errOut)
	if out != "" || !strings.Contains(errOut, "Usage: datadragon <command>") {
		t.Errorf("bare datadragon: stdout %q, stderr %q", out, errOut)
	}
}

func TestUnknownCommands(t *testing.T) {
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"frobnicate"}, "datadragon help"},
		{[]string{"receipts"}, "datadragon help"}, // planned, not built: must not pretend
		{[]string{"zk", "frobnicate"}, "datadragon zk --help"},
		{[]string{"bench", "disk"}, "datadragon bench --help"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		wantCode(t, tc.args, code, exitUsage, out, errOut)
		if !strings.Contains(errOut, "unknown") || !strings.Contains(errOut, tc.hint) {
			t.Errorf("%v: stderr %q should name the problem and point to %q", tc.args, errOut, tc.hint)
		}
	}
	// Groups without a command print their overview as a usage error.
	for _, args := range [][]string{{"zk"}, {"bench"}} {
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitUsage, out, errOut)
		if !strings.Contains(errOut, "Usage: datadragon "+args[0]) {
			t.Errorf("%v: stderr %q", args, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := runCLI(t, "version")
	wantCode(t, []string{"version"}, code, exitOK, out, errOut)
	if !regexp.MustCompile(`^datadragon \S+.* go1\.\d+`).MatchString(out) {
		t.Errorf("version printed %q", out)
	}
	code, out, errOut = runCLI(t, "version", "extra")
	wantCode(t, []string{"version", "extra"}, code, exitUsage, out, errOut)
}

// Every command's help page must list every flag with its default and
// show an example; "datadragon help CMD" must show the same page.
func TestHelpListsEveryFlag(t *testing.T) {
	options := []string{"blowup", "queries", "grinding", "folding", "last-layer", "zk"}
	pages := map[string][]string{
		"zk rescue-hash":  nil,
		"zk chain-prove":  append([]string{"length", "witness", "seed", "out"}, options...),
		"zk chain-verify": {"min-bits", "format", "pub"},
		"bench zk":        append([]string{"json", "min-k", "max-k", "reps", "in-process", "one"}, options...),
		"version":         nil,
	}
	for path, flags := range pages {
		args := append(strings.Fields(path), "--help")
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		if !strings.HasPrefix(out, "Usage: datadragon "+path) {
			t.Errorf("%s --help starts %q", path, out[:min(len(out), 60)])
		}
		if !strings.Contains(out, "Example") {
			t.Errorf("%s --help has no example", path)
		}
		entries := flagEntries(out)
		for _, f := range flags {
			if !regexp.MustCompile(`\(default [^)]+\)$`).MatchString(entries[f]) {
				t.Errorf("%s --help does not list --%s with its default:\n%s", path, f, out)
			}
		}
		if len(entries) != len(flags) {
			t.Errorf("%s --help lists %d flags, want %d", path, len(entries), len(flags))
		}
		if got := strings.Count(out, "(default "); got != len(flags) {
			t.Errorf("%s --help shows %d defaults for %d flags", path, got, len(flags))
		}
		code, viaHelp, errOut := runCLI(t, append([]string{"help"}, strings.Fields(path)...)...)
		wantCode(t, []string{"help", path}, code, exitOK, viaHelp, errOut)
		if viaHelp != out {
			t.Errorf("'help %s' differs from '%s --help'", path, path)
		}
	}
}

func TestGroupHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"zk", "--help"}, []string{"rescue-hash", "chain-prove", "chain-verify", "Examples:", "datadragon zk chain-verify chain.proof", "--help"}},
		{[]string{"help", "zk"}, []string{"rescue-hash", "chain-prove", "chain-verify"}},
		{[]string{"bench", "--help"}, []string{"zk", "sig", "network", "datadragon bench TARGET --help"}},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		wantCode(t, tc.args, code, exitOK, out, errOut)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
}

func TestBadFlag(t *testing.T) {
	args := []string{"zk", "chain-verify", "--no-such-flag", "x"}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitUsage, out, errOut)
	if !strings.Contains(errOut, "no-such-flag") || !strings.Contains(errOut, "datadragon zk chain-verify --help") {
		t.Errorf("stderr %q", errOut)
	}
}

// flagEntries maps each flag of a help page to its description, joined
// across wrapped lines.
func flagEntries(help string) map[string]string {
	entries := map[string]string{}
	name := ""
	for _, line := range strings.Split(help, "\n") {
		switch {
		case strings.HasPrefix(line, "  --"):
			fields := strings.Fields(line)
			name = strings.TrimPrefix(fields[0], "--")
			entries[name] = strings.Join(fields[1:], " ")
		case name != "" && strings.HasPrefix(line, "    "):
			entries[name] += " " + strings.TrimSpace(line)
		default:
			name = ""
		}
	}
	return entries
}

// TestHelpListsEveryCommand: every command defined in this package is in
// the overview 'datadragon help' prints.
func TestHelpListsEveryCommand(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	def := regexp.MustCompile(`(?m)^\s+path:\s+"([^"]+)",`)
	var defined []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range def.FindAllStringSubmatch(string(b), -1) {
			defined = append(defined, m[1])
		}
	}
	if len(defined) < 20 {
		t.Fatalf("found only %d command definitions: %v", len(defined), defined)
	}
	var help bytes.Buffer
	printTopHelp(&help)
	for _, p := range defined {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(p) + `\s`).MatchString(help.String()) {
			t.Errorf("'datadragon help' does not list %q", p)
		}
	}
}
