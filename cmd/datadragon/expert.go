package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/gateway/client"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/zk/ziggy"
)

var expertEndorseCmd = &command{
	path:     "expert endorse",
	synopsis: "--key EXPERT_KEY --stream ID --index N [--note TEXT] [--node URL]",
	summary:  "endorse an accepted record as one of its stream's experts",
	about: `Endorse the accepted record of chunk N of a stream, as one of the experts
its owner registered. The endorsement is signed with the expert's Ziggy key
over the chain id, the stream, the index, the record's digest and the note,
so it vouches for exactly that data. It is submitted as a transaction; the
command waits up to 30 seconds until the record lists it under "experts".
A later judgement by the same expert replaces the earlier one.`,
	examples: []string{
		"datadragon expert endorse --key keys/ziggy.key --stream lab --index 12",
		"datadragon expert endorse --key keys/ziggy.key --stream lab --index 12 --note \"calibrated, checked against the paper log\"",
	},
}

var expertDisputeCmd = &command{
	path:     "expert dispute",
	synopsis: "--key EXPERT_KEY --stream ID --index N [--note TEXT] [--node URL]",
	summary:  "dispute an accepted record as one of its stream's experts",
	about: `Dispute the accepted record of chunk N of a stream, as one of the experts
its owner registered: the chain keeps the record (the validators did see
that data) and adds the expert's signed dispute, with the note saying why.
The dispute is signed over the chain id, the stream, the index, the
record's digest and the note. The command waits up to 30 seconds until the
record lists it under "experts". A later judgement by the same expert
replaces the earlier one.`,
	examples: []string{
		"datadragon expert dispute --key keys/ziggy.key --stream lab --index 12 --note \"sensor 3 was unplugged\"",
	},
}

var expertSubcommands = []*command{expertEndorseCmd, expertDisputeCmd}

func printExpertHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: datadragon expert <command> [arguments]

Experts are Ziggy keys a stream's owner lists in its spec ("experts"). An
expert can endorse or dispute any accepted record of the stream: a signed
judgement of the record's digest, kept on chain beside the record.

Commands:
`)
	for _, c := range expertSubcommands {
		fmt.Fprintf(w, "  %-8s %s\n  %8s datadragon %s %s\n", strings.TrimPrefix(c.path, "expert "), c.summary, "", c.path, c.synopsis)
	}
	fmt.Fprint(w, `
Examples:
  datadragon expert endorse --key keys/ziggy.key --stream lab --index 12
  datadragon expert dispute --key keys/ziggy.key --stream lab --index 12 --note "sensor 3 was unplugged"

Run 'datadragon expert <command> --help' for every flag.
`)
}

func runExpert(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printExpertHelp(stderr)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		printExpertHelp(stdout)
		return exitOK
	case "endorse":
		return expertMain(ctx, expertEndorseCmd, false, rest, stdout, stderr, txWait)
	case "dispute":
		return expertMain(ctx, expertDisputeCmd, true, rest, stdout, stderr, txWait)
	default:
		fmt.Fprintf(stderr, "datadragon expert: unknown command %q\nRun 'datadragon expert --help' to see the expert commands.\n", cmd)
		return exitUsage
	}
}

// expertMain signs and submits one judgement and waits up to wait until
// the record shows it.
func expertMain(ctx context.Context, c *command, dispute bool, args []string, stdout, stderr io.Writer, wait time.Duration) int {
	fs := newFlagSet(c)
	node := fs.String("node", defaultNode, "the node's API `URL`")
	keyPath := fs.String("key", "", "the expert's Ziggy private key `FILE`; required")
	streamID := fs.String("stream", "", "the record's stream `ID`; required")
	indexFlag := fs.String("index", "", "the record's chunk index `N`; required")
	note := fs.String("note", "", fmt.Sprintf("a `TEXT` kept with the judgement, at most %d bytes", wire.MaxNoteBytes))
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	var base string
	var index uint64
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *keyPath == "":
		err = usagef("--key FILE is required: the expert's private key, which signs the judgement")
	case *streamID == "":
		err = usagef("--stream ID is required")
	case *indexFlag == "":
		err = usagef("--index N is required: the chunk whose record is judged")
	case len(*note) > wire.MaxNoteBytes || !utf8.ValidString(*note):
		err = usagef("--note must be UTF-8 of at most %d bytes", wire.MaxNoteBytes)
	default:
		if verr := wire.ValidateStreamID(*streamID); verr != nil {
			err = usagef("--stream: %v", verr)
		} else if index, err = strconv.ParseUint(*indexFlag, 10, 62); err != nil {
			err = usagef("--index %q: want a chunk index, 0 or more", *indexFlag)
		} else if base, err = client.ParseBase(*node); err != nil {
			err = usagef("--node: %v", err)
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	key, err := loadPrivateKeyFile(*keyPath)
	if err != nil {
		return fail(stderr, c, err)
	}
	pub := key.Public().Bytes()
	cl := &client.Client{Base: base, Waiting: waitingNote(stderr)}
	st, err := cl.Status(ctx)
	if err != nil {
		return fail(stderr, c, err)
	}
	if st.ChainID == "" {
		return fail(stderr, c, fmt.Errorf("the node at %s has not started its chain yet; wait for its first block", base))
	}
	si, err := cl.Stream(ctx, *streamID)
	if err != nil {
		return fail(stderr, c, err)
	}
	if len(si.Experts) > 0 && !si.HasExpert(pub) {
		return fail(stderr, c, fmt.Errorf("your key %x is not an expert of stream %q: its owner lists experts in the stream spec ('datadragon stream register')", pub, *streamID))
	}
	rec, err := cl.Record(ctx, *streamID, index)
	if client.IsNotFound(err) {
		return fail(stderr, c, fmt.Errorf("%s/%d has no record yet: no validator attested that chunk; only an accepted record can be judged", *streamID, index))
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	if rec.Status != "accepted" {
		return fail(stderr, c, fmt.Errorf("the record of %s/%d is %s; only an accepted record can be judged", *streamID, index, rec.Status))
	}
	d, err := digest.Parse(rec.Digest)
	if err != nil {
		return fail(stderr, c, fmt.Errorf("the record of %s/%d: %v", *streamID, index, err))
	}
	sig, err := ziggy.Sign(key, wire.ExpertSignBytes(st.ChainID, *streamID, index, wire.Digest(d), dispute, *note))
	if err != nil {
		return fail(stderr, c, err)
	}
	tx, err := (&wire.ExpertTx{Stream: *streamID, Index: index, Digest: wire.Digest(d), Dispute: dispute, Note: *note,
		Expert: pub, Signature: sig}).Marshal()
	if err != nil {
		return fail(stderr, c, err)
	}
	verb := "endorsement"
	if dispute {
		verb = "dispute"
	}
	if err := cl.SubmitTx(ctx, tx); err != nil {
		return fail(stderr, c, fmt.Errorf("the %s was refused: %w", verb, err))
	}
	fmt.Fprintf(stderr, "%s of %s/%d submitted; waiting for the chain...\n", verb, *streamID, index)
	j, err := waitForJudgement(ctx, cl, *streamID, index, pub, dispute, *note, d.String(), wait)
	if err != nil {
		return fail(stderr, c, err)
	}
	fmt.Fprintf(stdout, "%s of %s/%d (digest %s) by expert %x is on chain at height %d\n", verb, *streamID, index, d, pub, j.Height)
	return exitOK
}

// waitForJudgement polls the record until it lists the expert's
// judgement as signed.
func waitForJudgement(ctx context.Context, cl *client.Client, stream string, index uint64, pub []byte, dispute bool, note, dig string, wait time.Duration) (*client.Judgement, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		rec, err := cl.Record(ctx, stream, index)
		if err == nil {
			for i := range rec.Experts {
				j := &rec.Experts[i]
				if bytes.Equal(j.Expert, pub) && j.Dispute == dispute && j.Note == note && strings.EqualFold(j.Digest, dig) {
					return j, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("the judgement was submitted but the record of %s/%d did not list it within %v: the block may be slow, or the chain refused it; check GET /v1/records/%s/%d later, and the node's log", stream, index, wait, stream, index)
			}
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
