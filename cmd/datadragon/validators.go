package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/node"
)

var validatorsListCmd = &command{
	path:     "validators list",
	synopsis: "[--node URL] [--json]",
	summary:  "show the validator set, its history and the open proposals",
	about: `Show every validator the chain has registered with the power it holds now
(0: removed) and its governance nonce, the validator set's history (who
joined, left or changed power, from which height, approved by whom) and
the proposals still waiting for approvals.`,
	examples: []string{"datadragon validators list --node http://127.0.0.1:8080"},
}

var validatorsProposeCmd = &command{
	path:     "validators propose",
	synopsis: "--home DIR (--add HOME [--power N] | --remove INDEX | --set-power INDEX --power N) [--seq N] [--node URL]",
	summary:  "propose adding, removing or re-weighting a validator (your first approval)",
	about: `Propose a change of the validator set, signed with the Ziggy key of the
validator whose home is --home; the proposal is this validator's first
approval. It runs once validators holding more than 2/3 of the power of
the set in force have approved it, and is in force two blocks later.

  --add HOME        add the node whose home is HOME (made with 'datadragon
                    join'; its CometBFT and Ziggy public keys are read
                    from it), with --power (default 10)
  --remove INDEX    remove validator INDEX (see 'datadragon validators list')
  --set-power INDEX give validator INDEX the power --power

One change moves less than a third of the total power; make larger ones
in steps. The command prints the proposal's id, which the other
validators approve with 'datadragon validators approve --id ID'.`,
	examples: []string{
		"datadragon validators propose --home net/node0 --add newnode --power 10",
		"datadragon validators propose --home net/node0 --remove 3",
		"datadragon validators propose --home net/node0 --set-power 2 --power 15",
	},
}

var validatorsApproveCmd = &command{
	path:     "validators approve",
	synopsis: "--home DIR --id ID [--node URL]",
	summary:  "approve an open proposal to change the validator set",
	about: `Approve the open proposal ID (from 'datadragon validators propose' or
'datadragon validators list'), signed with the Ziggy key of the validator
whose home is --home, its next governance nonce and the chain id.`,
	examples: []string{"datadragon validators approve --home net/node1 --id 3f2a…"},
}

var validatorsSubcommands = []*command{validatorsListCmd, validatorsProposeCmd, validatorsApproveCmd}

func printValidatorsHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: datadragon validators <command> [arguments]

The validators govern their own set: a change (add, remove, power) runs
when validators holding more than 2/3 of the current power approve it.

Commands:
`)
	for _, c := range validatorsSubcommands {
		fmt.Fprintf(w, "  %-8s %s\n  %8s datadragon %s %s\n", strings.TrimPrefix(c.path, "validators "), c.summary, "", c.path, c.synopsis)
	}
}

func runValidators(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printValidatorsHelp(stderr)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		printValidatorsHelp(stdout)
		return exitOK
	case "list":
		return validatorsList(ctx, rest, stdout, stderr)
	case "propose":
		return validatorsPropose(ctx, rest, stdout, stderr)
	case "approve":
		return validatorsApprove(ctx, rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "datadragon validators: unknown command %q\nRun 'datadragon validators --help' to see the commands.\n", args[0])
	return exitUsage
}

// govGet reads a JSON answer of the node's API, bounded in time and size.
func govGet(ctx context.Context, base, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s: %w (is the node running, and --node its API address?)", base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s%s answered %s: %s", base, path, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, v)
}

// govSubmit posts a governance transaction to the node's /v1/tx,
// retrying while the node answers 503 (it is catching up) for up to 30
// seconds.
func govSubmit(ctx context.Context, base string, tx []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/v1/tx", bytes.NewReader(tx))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("submitting to %s: %w", base, err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode != http.StatusServiceUnavailable:
			return fmt.Errorf("the node refused the approval (%s): %s", resp.Status, bytes.TrimSpace(b))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the node could not take the approval for 30 seconds (%s): %s", resp.Status, bytes.TrimSpace(b))
		case <-time.After(time.Second):
		}
	}
}

func validatorsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := validatorsListCmd
	fs := newFlagSet(c)
	nodeURL := fs.String("node", defaultNode, "the node's API `URL`")
	asJSON := fs.Bool("json", false, "print the node's JSON answer")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	if err == nil && len(pos) > 0 {
		err = unexpectedArg(pos[0])
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	var g app.GovernanceView
	if err := govGet(ctx, *nodeURL, "/v1/governance", &g); err != nil {
		return fail(stderr, c, err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(g, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	var total int64
	for _, v := range g.Validators {
		total += v.Power
	}
	fmt.Fprintf(stdout, "validators (total power %d):\n", total)
	for _, v := range g.Validators {
		state := ""
		if v.Power == 0 {
			state = "  (not in the set)"
		}
		fmt.Fprintf(stdout, "  %3d  %-16s %X  power %d  nonce %d%s\n", v.Index, v.Name, []byte(v.Address), v.Power, v.Nonce, state)
	}
	fmt.Fprintf(stdout, "history (%d changes):\n", len(g.History))
	for _, h := range g.History {
		fmt.Fprintf(stdout, "  from height %d: %s\n", h.From, describeChange(h))
	}
	if len(g.Open) > 0 {
		fmt.Fprintln(stdout, "open proposals:")
		for _, o := range g.Open {
			fmt.Fprintf(stdout, "  %x: %s\n", []byte(o.ID), describeChange(o))
		}
	}
	return exitOK
}

func describeChange(h app.GovChangeView) string {
	who := h.Name
	if who == "" {
		who = fmt.Sprintf("%X", []byte(h.Address))
	}
	var what string
	switch h.Action {
	case "add":
		what = fmt.Sprintf("add %s with power %d", who, h.Power)
	case "remove":
		what = "remove " + who
	default:
		what = fmt.Sprintf("%s's power becomes %d", who, h.Power)
	}
	var by []string
	for _, a := range h.Approvals {
		n := a.Name
		if n == "" {
			n = fmt.Sprint(a.Validator)
		}
		by = append(by, n)
	}
	return fmt.Sprintf("%s — approved by %s (%d of %d power)", what, strings.Join(by, ", "), h.Approved, h.Total)
}

// approve signs p as the validator of home and submits it.
func approve(ctx context.Context, nodeURL, home string, p wire.Proposal, stdout io.Writer) error {
	keys, err := node.ReadHomeKeys(home)
	if err != nil {
		return err
	}
	var st struct {
		ChainID string `json:"chain_id"`
	}
	if err := govGet(ctx, nodeURL, "/v1/status", &st); err != nil {
		return err
	}
	var g app.GovernanceView
	if err := govGet(ctx, nodeURL, "/v1/governance", &g); err != nil {
		return err
	}
	me := -1
	var nonce uint64
	for _, v := range g.Validators {
		if bytes.Equal(v.ZiggyPubKey, keys.ZiggyKey) {
			me, nonce = v.Index, v.Nonce
		}
	}
	if me < 0 || g.Validators[me].Power == 0 {
		return fmt.Errorf("the Ziggy key of %s is no validator's in the set in force: only validators approve changes", home)
	}
	tx, err := node.SignGovernance(home, st.ChainID, me, nonce+1, p)
	if err != nil {
		return err
	}
	if err := govSubmit(ctx, nodeURL, tx); err != nil {
		return err
	}
	id := p.ID(st.ChainID)
	fmt.Fprintf(stdout, "approved as validator %d (nonce %d): proposal %x\n", me, nonce+1, id[:])
	return nil
}

func validatorsPropose(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := validatorsProposeCmd
	fs := newFlagSet(c)
	nodeURL := fs.String("node", defaultNode, "the node's API `URL`")
	home := fs.String("home", "", "your validator's home `DIR` (its Ziggy key signs)")
	addHome := fs.String("add", "", "add the node whose home is `HOME`")
	remove := fs.Int("remove", -1, "remove validator `INDEX`")
	setPower := fs.Int("set-power", -1, "change the power of validator `INDEX`")
	power := fs.Int64("power", 10, "the new validator's, or the changed, `POWER`")
	seq := fs.Uint64("seq", 0, "a `NUMBER` that tells this proposal from an earlier equal one")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	n := 0
	for _, set := range []bool{*addHome != "", *remove >= 0, *setPower >= 0} {
		if set {
			n++
		}
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *home == "":
		err = usagef("--home DIR is required: the home of the validator that proposes")
	case n != 1:
		err = usagef("give exactly one of --add HOME, --remove INDEX and --set-power INDEX")
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	p := wire.Proposal{Seq: *seq}
	if *addHome != "" {
		k, err := node.ReadHomeKeys(*addHome)
		if err != nil {
			return fail(stderr, c, err)
		}
		p.Action, p.KeyType, p.CometKey, p.ZiggyKey, p.Power, p.Moniker = wire.GovAdd, k.KeyType, k.CometKey, k.ZiggyKey, *power, k.Moniker
	} else {
		idx := *remove
		p.Action = wire.GovRemove
		if *setPower >= 0 {
			idx, p.Action, p.Power = *setPower, wire.GovPower, *power
		}
		var g app.GovernanceView
		if err := govGet(ctx, *nodeURL, "/v1/governance", &g); err != nil {
			return fail(stderr, c, err)
		}
		if idx >= len(g.Validators) {
			return fail(stderr, c, fmt.Errorf("no validator %d: the chain has registered %d (see 'datadragon validators list')", idx, len(g.Validators)))
		}
		v := g.Validators[idx]
		p.KeyType, p.CometKey = v.PubKey.Type, v.PubKey.Value
	}
	if err := p.Validate(); err != nil {
		return fail(stderr, c, usagef("%v", err))
	}
	if err := approve(ctx, *nodeURL, *home, p, stdout); err != nil {
		return fail(stderr, c, err)
	}
	return exitOK
}

func validatorsApprove(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := validatorsApproveCmd
	fs := newFlagSet(c)
	nodeURL := fs.String("node", defaultNode, "the node's API `URL`")
	home := fs.String("home", "", "your validator's home `DIR` (its Ziggy key signs)")
	idHex := fs.String("id", "", "the proposal's `ID` (hex)")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *home == "":
		err = usagef("--home DIR is required: the home of the validator that approves")
	case *idHex == "":
		err = usagef("--id ID is required: the proposal to approve (see 'datadragon validators list')")
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	id, err := hex.DecodeString(strings.TrimPrefix(*idHex, "0x"))
	if err != nil || len(id) != 32 {
		return fail(stderr, c, usagef("--id must be the proposal's 64 hex digits"))
	}
	var g app.GovernanceView
	if err := govGet(ctx, *nodeURL, "/v1/governance", &g); err != nil {
		return fail(stderr, c, err)
	}
	for _, o := range g.Open {
		if bytes.Equal(o.ID, id) {
			p, err := proposalOf(o)
			if err != nil {
				return fail(stderr, c, err)
			}
			if err := approve(ctx, *nodeURL, *home, p, stdout); err != nil {
				return fail(stderr, c, err)
			}
			return exitOK
		}
	}
	return fail(stderr, c, errors.New("no open proposal has that id: it ran already, or was never made (see 'datadragon validators list')"))
}

// proposalOf rebuilds a proposal from the node's view of it.
func proposalOf(o app.GovChangeView) (wire.Proposal, error) {
	acts := map[string]wire.GovAction{"add": wire.GovAdd, "remove": wire.GovRemove, "power": wire.GovPower}
	a, ok := acts[o.Action]
	if !ok {
		return wire.Proposal{}, fmt.Errorf("the node shows a proposal with action %q", o.Action)
	}
	p := wire.Proposal{Action: a, KeyType: o.PubKey.Type, CometKey: o.PubKey.Value, ZiggyKey: o.ZiggyKey, Power: o.Power, Seq: o.Seq}
	p.Moniker = o.Moniker
	return p, p.Validate()
}
