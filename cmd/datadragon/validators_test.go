package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/p2p"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/node"
)

// TestValidatorsCLIAddsAJoinedNode: a node made with 'datadragon join'
// becomes the fifth validator through 'validators propose' and two
// 'validators approve'; 'validators list' shows the change.
func TestValidatorsCLIAddsAJoinedNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 4-validator network")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- devnetMain(ctx, []string{"--dir", dir, "--http", "127.0.0.1:18580", "--p2p-port", "24756", "--status-every", "1s"}, &out, &errOut)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the devnet did not stop")
		}
	}()
	api := "http://127.0.0.1:18580"
	wait := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\nstderr:\n%s", what, errOut.String())
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	gov := func() *app.GovernanceView {
		var g app.GovernanceView
		if govGet(ctx, api, "/v1/governance", &g) != nil {
			return nil
		}
		return &g
	}
	wait("the devnet's API", time.Minute, func() bool { g := gov(); return g != nil && len(g.Validators) == 4 })

	nk, err := p2p.LoadNodeKey(filepath.Join(dir, "node0", "config", "node_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	fhome := filepath.Join(t.TempDir(), "node4")
	var so, se strings.Builder
	if code := runJoin([]string{"--home", fhome, "--genesis", filepath.Join(dir, "genesis.json"), "--peer", string(nk.ID()) + "@127.0.0.1:24756",
		"--p2p-listen", "127.0.0.1:24990", "--moniker", "node4"}, &so, &se); code != exitOK {
		t.Fatalf("join: %d %s", code, se.String())
	}
	f, err := node.Open(fhome, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	defer f.Stop()

	run := func(args ...string) string {
		t.Helper()
		var so, se strings.Builder
		if code := runValidators(append(args, "--node", api), &so, &se); code != exitOK {
			t.Fatalf("validators %v: exit %d: %s", args, code, se.String())
		}
		return so.String()
	}
	res := run("propose", "--home", filepath.Join(dir, "node0"), "--add", fhome, "--power", "10")
	m := regexp.MustCompile(`proposal ([0-9a-f]{64})`).FindStringSubmatch(res)
	if m == nil {
		t.Fatalf("propose printed %q", res)
	}
	wait("the proposal to be open", 30*time.Second, func() bool { g := gov(); return g != nil && len(g.Open) == 1 })
	run("approve", "--home", filepath.Join(dir, "node1"), "--id", m[1])
	wait("the second approval", 30*time.Second, func() bool { g := gov(); return g != nil && len(g.Open) == 1 && len(g.Open[0].Approvals) == 2 })
	run("approve", "--home", filepath.Join(dir, "node2"), "--id", m[1])
	wait("the fifth validator", time.Minute, func() bool {
		g := gov()
		return g != nil && len(g.Validators) == 5 && g.Validators[4].Power == 10 && len(g.History) == 1
	})
	list := run("list")
	if !strings.Contains(list, "add node4 with power 10") || !strings.Contains(list, "30 of 40 power") {
		t.Fatalf("validators list:\n%s", list)
	}
	// A proposal that is not open cannot be approved.
	var so2, se2 strings.Builder
	if code := runValidators([]string{"approve", "--home", filepath.Join(dir, "node3"), "--id", m[1], "--node", api}, &so2, &se2); code != exitFail {
		t.Fatalf("approving a proposal that ran: exit %d", code)
	}
}
