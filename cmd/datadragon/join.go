package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/datadragon/datadragon/node"
)

var joinCmd = &command{
	path:     "join",
	synopsis: "--home DIR --genesis FILE (--peer ID@HOST:PORT ... | --peers-from HOME) --p2p-listen HOST:PORT [--rpc-server HOST:PORT ... --trust-height H --trust-hash HEX] [flags]",
	summary:  "write the home of a node that follows a network, joining from a snapshot",
	about: `Write the home of a node that follows an existing network without being
one of its validators (an explorer, a receipt server, a spare): its own
CometBFT and Ziggy keys, the network's genesis, and node.json. It verifies
and stores every block, serves the API, snapshots and receipts, and votes
on nothing.

With --rpc-server (two or more: the CometBFT RPC addresses, rpc_listen, of
nodes of the network), --trust-height and --trust-hash (a recent block you
trust, read from a node you trust:
  curl -s http://HOST:26657/block | jq '.result.block.header.height, .result.block_id.hash')
the node joins by state sync: it restores the newest snapshot its peers
offer, checked against that block through CometBFT's light client, and
block syncs from there, so it needs no peer that still holds block 1.
Without them it replays the chain from block 1 by block sync.

Start it with 'datadragon node --home DIR'. Once the validators add it
('datadragon validators propose --add DIR', then approvals of more than
2/3 of the power) it is a validator: its CometBFT key votes and its Ziggy
key attests, with no restart.`,
	examples: []string{
		"datadragon join --home follower --genesis net/genesis.json --peer 8d7f…@10.0.0.1:26656 --p2p-listen 0.0.0.0:26656 --api 0.0.0.0:8080 --rpc-server 10.0.0.1:26657 --rpc-server 10.0.0.2:26657 --trust-height 123400 --trust-hash 3F2A…",
	},
}

func runJoin(args []string, stdout, stderr io.Writer) int {
	c := joinCmd
	fs := newFlagSet(c)
	home := fs.String("home", "", "write the node's home into `DIR` (must not exist)")
	genesis := fs.String("genesis", "", "the network's genesis `FILE`")
	moniker := fs.String("moniker", "", "the node's `NAME` (default: the home's directory name)")
	p2pListen := fs.String("p2p-listen", "", "listen for peers on `HOST:PORT`")
	p2pExternal := fs.String("p2p-external", "", "the `HOST:PORT` other nodes reach --p2p-listen at, when it is not that address (a node listening on 0.0.0.0 in a container or behind NAT)")
	apiListen := fs.String("api", "", "serve the HTTP API on `HOST:PORT` (default: none)")
	var peers, rpcs listFlag
	fs.Var(&peers, "peer", "a node of the network, `ID@HOST:PORT` (repeatable)")
	fs.Var(&rpcs, "rpc-server", "the CometBFT RPC `HOST:PORT` of a node of the network (repeatable, two or more for state sync)")
	trustHeight := fs.Int64("trust-height", 0, "the `HEIGHT` of a block you trust (state sync)")
	trustHash := fs.String("trust-hash", "", "the block hash at --trust-height, `HEX`")
	trustPeriod := fs.Duration("trust-period", 0, "how long a trusted header stays trusted, `D` (default 168h)")
	peersFrom := fs.String("peers-from", "", "also take the peers of the node whose home is `HOME` (its node.json), e.g. a validator's in the same volume")
	ifMissing := fs.Bool("if-missing", false, "do nothing if --home already holds a node's home (for scripts that run on every start)")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	stateSync := len(rpcs) > 0 || *trustHeight != 0 || *trustHash != ""
	if err == nil && *peersFrom != "" {
		cfg, lerr := node.LoadConfig(*peersFrom)
		if lerr != nil {
			return fail(stderr, c, fmt.Errorf("--peers-from: %w", lerr))
		}
		peers = append(peers, cfg.Peers...)
	}
	if err == nil && *ifMissing && *home != "" {
		if _, lerr := node.LoadConfig(*home); lerr == nil {
			fmt.Fprintf(stdout, "%s already holds a node's home; left as it is.\n", *home)
			return exitOK
		}
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *home == "":
		err = usagef("--home DIR is required: where to write the node's home")
	case *genesis == "":
		err = usagef("--genesis FILE is required: the network's genesis.json")
	case *p2pListen == "":
		err = usagef("--p2p-listen HOST:PORT is required: where the node listens for peers")
	case len(peers) == 0:
		err = usagef("--peer ID@HOST:PORT is required: at least one node of the network to connect to")
	case stateSync && (len(rpcs) < 2 || *trustHeight < 1 || *trustHash == ""):
		err = usagef("state sync needs --rpc-server twice or more, --trust-height and --trust-hash")
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	name := *moniker
	if name == "" {
		name = filepath.Base(filepath.Clean(*home))
	}
	o := node.FollowerOptions{Home: *home, Genesis: *genesis, Moniker: name, P2PListen: *p2pListen, P2PExternal: *p2pExternal, API: *apiListen}
	for _, p := range peers {
		o.Peers = append(o.Peers, strings.Split(p, ",")...)
	}
	if stateSync {
		o.StateSync = &node.StateSyncConfig{TrustHeight: *trustHeight, TrustHash: *trustHash, TrustPeriod: node.Duration(*trustPeriod)}
		for _, r := range rpcs {
			o.StateSync.RPCServers = append(o.StateSync.RPCServers, strings.Split(r, ",")...)
		}
	}
	id, err := node.InitFollower(o)
	if err != nil {
		return fail(stderr, c, err)
	}
	how := "it replays the chain from block 1 by block sync"
	if stateSync {
		how = fmt.Sprintf("it joins by state sync, trusting block %d", *trustHeight)
	}
	fmt.Fprintf(stdout, "wrote %s (node id %s); %s.\nStart it with: datadragon node --home %s\n", *home, id, how, *home)
	return exitOK
}
