// Command datadragon is DataDragon's single binary: it runs a validator
// (node) or a whole local network (devnet), writes a network's homes
// (init), serves demo sources, pushes files and streams (stream), registers
// streams and expert judgements, verifies receipts offline (verify), signs
// and verifies with Ziggy and proves Rescue hash chains (zk, keys), and
// measures all of it (bench). Each command is one file here; the work is
// done by the packages ARCHITECTURE.md lists.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at link time for releases:
//
//	go build -ldflags "-X main.version=v0.1.0" ./cmd/datadragon
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line (without the program name) and returns
// the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printTopHelp(stderr)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		return runHelp(rest, stdout, stderr)
	case "version", "--version":
		return runVersion(rest, stdout, stderr)
	case "zk":
		return runZK(rest, stdout, stderr)
	case "keys":
		return runKeys(rest, stdout, stderr)
	case "bench":
		return runBench(rest, stdout, stderr)
	case "source":
		return runSource(rest, stdout, stderr)
	case "join":
		return runJoin(rest, stdout, stderr)
	case "init":
		return runInit(rest, stdout, stderr)
	case "node":
		return runNode(rest, stdout, stderr)
	case "devnet":
		return runDevnet(rest, stdout, stderr)
	case "verify":
		return runVerify(rest, stdout, stderr)
	case "stream":
		return runStream(rest, stdout, stderr)
	case "expert":
		return runExpert(rest, stdout, stderr)
	case "receipt":
		return runReceipt(rest, stdout, stderr)
	case "validators":
		return runValidators(rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "datadragon: unknown command %q\nRun 'datadragon help' to see the commands.\n", cmd)
		return exitUsage
	}
}

func printTopHelp(w io.Writer) {
	fmt.Fprint(w, `DataDragon turns live data streams into verified, timestamped, tamper-evident
records, attested by a network of validators with post-quantum STARK proofs.
'datadragon devnet' runs a whole local network in one process.

Usage: datadragon <command> [arguments]

Commands:
`)
	for _, c := range allCommands() {
		fmt.Fprintf(w, "  %-17s %s\n", c.path, c.summary)
	}
	fmt.Fprint(w, `  version           print the version of this binary
  help [command]    show help for a command

Exit codes: 0 success (a proof is valid), 1 failure or invalid input,
2 usage error.

Run 'datadragon <command> --help' for a command's flags and examples, e.g.
  datadragon zk chain-prove --help
`)
}

// allCommands lists every leaf command, in help order.
func allCommands() []*command {
	return []*command{devnetCmd, initCmd, joinCmd, nodeCmd, sourceCmd, rawSourceCmd, streamCmd, streamRegisterCmd, streamTokenCmd, expertEndorseCmd, expertDisputeCmd, verifyCmd, receiptShowCmd, receiptPackCmd, receiptUpdateCmd, receiptVerifierCmd, rescueHashCmd, chainProveCmd, chainVerifyCmd, zkSignCmd, zkVerifyCmd, keysGenCmd, keysPublicCmd, benchZKCmd, benchSigCmd, benchNetworkCmd, benchPushCmd, benchSoakCmd, benchRawCmd, validatorsListCmd, validatorsProposeCmd, validatorsApproveCmd}
}

// runHelp prints the help of the command named by args, or the overview.
func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || strings.HasPrefix(args[0], "-") {
		printTopHelp(stdout)
		return exitOK
	}
	// Delegate to the command itself, which owns its flags.
	return run(append(args, "--help"), stdout, stderr)
}

var versionCmd = &command{
	path:     "version",
	synopsis: "",
	about:    "Print the version of this binary, the Go release that built it and, when\nbuilt from a git checkout, the commit.",
	examples: []string{"datadragon version"},
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(versionCmd)
	pos, err := parse(fs, versionCmd, args, stdout)
	if err == errHelp {
		return exitOK
	}
	if err == nil && len(pos) > 0 {
		err = usagef("takes no arguments, got %q", strings.Join(pos, " "))
	}
	if err != nil {
		return fail(stderr, versionCmd, err)
	}
	fmt.Fprintf(stdout, "datadragon %s%s %s %s/%s\n", version, vcsInfo(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// vcsInfo returns " (commit abc123def456)" when the build carries version
// control information, with "+modified" for a dirty tree.
func vcsInfo() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return fmt.Sprintf(" (commit %.12s%s)", rev, modified)
}
