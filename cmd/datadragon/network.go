package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/source"
	"github.com/datadragon/datadragon/node"
)

var initCmd = &command{
	path:     "init",
	synopsis: "--validators N --out DIR [--stream ID=URL,POLICY ...] [flags]",
	summary:  "write the homes and the genesis of a new validator network",
	about: `Write N validator homes under DIR (DIR/node0, DIR/node1, ...) and the
genesis they share (DIR/genesis.json, also copied into every home).

Each home holds the validator's CometBFT keys (config/), its Ziggy key pair
(ziggy.key, mode 0600, and ziggy.pub) and node.json, the node's settings:
listen addresses, peers, commit timeout, API address, fault injection.
Every validator gets equal voting power; a chunk is accepted when
validators holding more than half of all voting power attest the same
digest.

Streams to observe are given as ID=URL,POLICY where POLICY is seq:M (a
chunk every M messages) or time:D (source-time windows of D, e.g. 1s).
Without --stream and --push-stream the genesis registers the two demo
sources that 'datadragon source' serves by default (sensors on
127.0.0.1:9001 and ticks on 127.0.0.1:9002), the raw stream raw-ticks
observing 'datadragon source --raw' on 127.0.0.1:9003, and the push stream uploads.
--push-stream ID adds a push stream (chunks of 16 messages) open to pushes
from each node's own machine; --push-token-sha256 adds a write token's hash
to every push stream, so producers elsewhere can push with that token.
Streams can also be registered later by their owner: 'datadragon stream
register'.

Validators listen on and dial each other at --host. For validators on
different hosts (containers, machines) give one name each with --hosts:
validator I is dialled at the I-th; --listen-host 0.0.0.0 makes them listen
on every interface while peers still dial the names.

--if-missing leaves a complete network already in DIR alone and exits 0,
so a start-up script can run init every time.

--tls-cert and --tls-key make every validator serve its API, explorer and
push endpoint over HTTPS only (node.json's tls_cert_file and
tls_key_file; the certificate must name every host clients use, or edit
each node.json). --source-ca adds a CA bundle to the roots observers trust
when they dial wss:// sources (source_ca_file).

Start each validator with 'datadragon node --home DIR/nodeI'.`,
	examples: []string{
		"datadragon init --validators 4 --out net",
		"datadragon init --validators 4 --out /net --hosts node0,node1,node2,node3 --listen-host 0.0.0.0 --if-missing",
		"datadragon init --validators 4 --out net --stream sensors=ws://10.0.0.5:9001/stream,seq:100",
	},
}

var nodeCmd = &command{
	path:     "node",
	synopsis: "--home DIR [--log-level LEVEL]",
	summary:  "run one validator from its home",
	about: `Run the validator whose home is DIR (written by 'datadragon init'):
CometBFT consensus with the DataDragon app in process, observers of every
stream in the genesis, and the HTTP API at node.json's api_listen (HTTPS
only when tls_cert_file and tls_key_file are set). State
lives under DIR/data; a restarted node resumes from its last committed
block. Ctrl-C stops it cleanly: observers first, then consensus, then the
state store.`,
	examples: []string{"datadragon node --home net/node0"},
}

var devnetCmd = &command{
	path:     "devnet",
	synopsis: "[--validators N] [--dir DIR] [--http HOST:PORT] [flags]",
	summary:  "run a whole local network in one process: validators, demo sources, API",
	about: `Run a local DataDragon network in one process: N validators (CometBFT,
the app, observers), two demo data sources (a sensor stream and a price
ticker) and each validator's HTTP API — node 0's at --http, the others on
the following ports. Everything listens on loopback.

The network lives in DIR (DIR/genesis.json is the genesis). Without
--dir it lives in a new temporary directory, removed when the devnet
stops. Run devnet again with the same --dir to resume the same chain: DIR
remembers the number of validators and every port, and the demo sources
resume past the last frame they produced, so observed streams go on at
once (a gap marks what was missed while stopped). Every few seconds it
prints the chain height and the records accepted per stream. Ctrl-C stops
it cleanly.

--fault-node I makes validator I attest wrong digests for --fault-rate of
the chunks, to watch it outvoted and flagged faulty.`,
	examples: []string{
		"datadragon devnet",
		"datadragon devnet --validators 4 --dir ./devnet --http 127.0.0.1:8080",
		"datadragon devnet --fault-node 3 --fault-rate 0.5",
	},
}

// listFlag collects a repeatable flag's values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// streamFlag collects --stream ID=URL,POLICY values.
type streamFlag []app.Stream

func (s *streamFlag) String() string { return "" }

func (s *streamFlag) Set(v string) error {
	id, rest, ok := strings.Cut(v, "=")
	url, policy, ok2 := strings.Cut(rest, ",")
	if !ok || !ok2 || id == "" || url == "" {
		return fmt.Errorf("%q: write ID=URL,POLICY, e.g. sensors=ws://127.0.0.1:9001/stream,seq:100", v)
	}
	st := app.Stream{ID: id, Source: url}
	kind, val, _ := strings.Cut(policy, ":")
	switch kind {
	case "seq":
		m, err := strconv.ParseUint(val, 10, 64)
		if err != nil || m == 0 {
			return fmt.Errorf("%q: seq:M needs a positive message count", policy)
		}
		st.Chunk.Messages = m
	case "time":
		d, err := time.ParseDuration(val)
		if err != nil || d < time.Millisecond {
			return fmt.Errorf("%q: time:D needs a duration of at least 1ms, e.g. time:1s", policy)
		}
		st.Chunk.WindowMs = uint64(d.Milliseconds())
	default:
		return fmt.Errorf("%q: the policy is seq:M or time:D", policy)
	}
	*s = append(*s, st)
	return nil
}

// demoStreams are the streams of the two demo sources at the given ports.
func demoStreams(host string, sensorPort, tickerPort int) []app.Stream {
	return []app.Stream{
		{ID: "sensors", Source: fmt.Sprintf("ws://%s:%d/stream", host, sensorPort), Chunk: app.ChunkPolicy{Messages: 20},
			Description: "demo: readings of 8 sensors, 20 per second"},
		{ID: "ticks", Source: fmt.Sprintf("ws://%s:%d/stream", host, tickerPort), Chunk: app.ChunkPolicy{Messages: 50},
			Description: "demo: price ticks of 8 symbols, 50 per second"},
		{ID: "uploads", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 16}, OpenLoopback: true,
			Description: "demo: files pushed from this machine (loopback, no token); chunks of 16 pieces of 64 KiB"},
	}
}

func runInit(args []string, stdout, stderr io.Writer) int {
	c := initCmd
	fs := newFlagSet(c)
	n := fs.Int("validators", 4, fmt.Sprintf("number of `N` validators, 1 to %d", node.MaxValidators))
	out := fs.String("out", "", "write the network into `DIR` (must not hold homes yet)")
	chainID := fs.String("chain-id", "datadragon", "the chain's `ID`")
	host := fs.String("host", "127.0.0.1", "the `HOST` validators listen on and dial each other at")
	p2p := fs.Int("p2p-port", 26656, "validator I listens for peers on `PORT`+10·I")
	apiPort := fs.Int("api-port", 8080, "validator I serves its HTTP API on `PORT`+I (0: no API)")
	hosts := fs.String("hosts", "", "validator I is dialled at the I-th `NAME` of this comma-separated list (one per validator; overrides --host)")
	listenHost := fs.String("listen-host", "", "validators listen (P2P and API) on `HOST`, e.g. 0.0.0.0 in containers (default: the host they are dialled at)")
	ifMissing := fs.Bool("if-missing", false, "if DIR already holds a complete network of N validators, leave it and exit 0")
	commit := fs.Duration("commit-timeout", 100*time.Millisecond, "CometBFT's pause after each block (`D`); sets the block rate")
	var streams streamFlag
	fs.Var(&streams, "stream", "observe the stream `ID=URL,POLICY` (repeatable); POLICY is seq:M or time:D")
	var pushStreams listFlag
	fs.Var(&pushStreams, "push-stream", "add the push stream `ID` (repeatable): chunks of 16 messages, open to pushes from each node's own machine")
	var tokenHashes listFlag
	fs.Var(&tokenHashes, "push-token-sha256", "let every push stream take pushes bearing the token whose SHA-256 is `HEX` (repeatable; 'datadragon stream token' makes one)")
	tlsCert := fs.String("tls-cert", "", "validators serve their API over HTTPS with the PEM certificate chain in `FILE` (needs --tls-key)")
	tlsKey := fs.String("tls-key", "", "the PEM private key `FILE` of --tls-cert")
	sourceCA := fs.String("source-ca", "", "observers also trust the CA certificates of the PEM bundle `FILE` for wss:// sources")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *out == "":
		err = usagef("--out DIR is required: the directory to write the network into")
	case *n < 1 || *n > node.MaxValidators:
		err = usagef("--validators %d: choose 1 to %d", *n, node.MaxValidators)
	case *tlsCert != "" && *tlsKey == "":
		err = usagef("--tls-cert needs --tls-key FILE: the certificate's private key")
	case *tlsKey != "" && *tlsCert == "":
		err = usagef("--tls-key needs --tls-cert FILE: the certificate it belongs to")
	}
	var hostList []string
	if err == nil && *hosts != "" {
		hostList = strings.Split(*hosts, ",")
		for i := range hostList {
			hostList[i] = strings.TrimSpace(hostList[i])
			if h := hostList[i]; h == "" || strings.ContainsAny(h, "@/ ") || (strings.Contains(h, ":") && net.ParseIP(h) == nil) {
				err = usagef("--hosts %q: give host names without ports, separated by commas", *hosts)
			}
		}
		if err == nil && len(hostList) != *n {
			err = usagef("--hosts names %d hosts for %d validators; give one per validator", len(hostList), *n)
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	if *ifMissing {
		done, err := node.HomesExist(*out, *n)
		if err != nil {
			return fail(stderr, c, err)
		}
		if done {
			fmt.Fprintf(stdout, "%s already holds a network of %d validators; left unchanged\n", *out, *n)
			return exitOK
		}
	}
	if len(streams) == 0 && len(pushStreams) == 0 {
		streams = append(demoStreams(*host, 9001, 9002), demoRawStream(*host, 9003))
	}
	for _, id := range pushStreams {
		if err := wire.ValidateStreamID(id); err != nil {
			return fail(stderr, c, usagef("--push-stream %q: %v", id, err))
		}
		streams = append(streams, app.Stream{ID: id, Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: app.DefaultPushMessages}, OpenLoopback: true,
			Description: "files pushed through any node's gateway"})
	}
	for _, h := range tokenHashes {
		if h == "" {
			continue // an unset variable in a Compose file
		}
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return fail(stderr, c, usagef("--push-token-sha256 %q: give the 64 hex digits 'datadragon stream token' prints after sha256:", h))
		}
		for i := range streams {
			if streams[i].IsPush() {
				streams[i].WriteTokens = append(streams[i].WriteTokens, b)
			}
		}
	}
	// The TLS files are checked now and recorded by absolute path, so
	// every home names the same files wherever the node is started from.
	var tlsFields node.Config
	for _, f := range []struct {
		flag string
		dst  *string
	}{{*tlsCert, &tlsFields.TLSCertFile}, {*tlsKey, &tlsFields.TLSKeyFile}, {*sourceCA, &tlsFields.SourceCAFile}} {
		if f.flag == "" {
			continue
		}
		if *f.dst, err = filepath.Abs(f.flag); err != nil {
			return fail(stderr, c, err)
		}
	}
	if _, err := tlsFields.ServerTLS(""); err != nil {
		return fail(stderr, c, err)
	}
	if _, err := tlsFields.SourceTLS(""); err != nil {
		return fail(stderr, c, err)
	}
	members, err := node.InitHomes(node.InitOptions{
		Dir: *out, Validators: *n, ChainID: *chainID, Host: *host, Hosts: hostList, ListenHost: *listenHost, BasePort: *p2p,
		APIBasePort: *apiPort, Power: 10, CommitTimeout: *commit, AppState: node.AppState(streams, 0),
	})
	if err != nil {
		return fail(stderr, c, err)
	}
	if tlsFields.TLS() || tlsFields.SourceCAFile != "" {
		for _, m := range members {
			cfg, err := node.LoadConfig(m.Home)
			if err == nil {
				cfg.TLSCertFile, cfg.TLSKeyFile, cfg.SourceCAFile = tlsFields.TLSCertFile, tlsFields.TLSKeyFile, tlsFields.SourceCAFile
				err = cfg.Save(m.Home)
			}
			if err != nil {
				return fail(stderr, c, err)
			}
		}
	}
	fmt.Fprintf(stdout, "wrote %d validator homes and %s\n", len(members), filepath.Join(*out, "genesis.json"))
	if tlsFields.TLS() {
		fmt.Fprintf(stdout, "validators serve their API over HTTPS with %s\n", tlsFields.TLSCertFile)
	}
	if tlsFields.SourceCAFile != "" {
		fmt.Fprintf(stdout, "observers also trust the CAs of %s for wss:// sources\n", tlsFields.SourceCAFile)
	}
	for _, m := range members {
		fmt.Fprintf(stdout, "  %s  %s  p2p %s\n", m.Name, m.Home, m.P2PAddr)
	}
	if *listenHost != "" {
		fmt.Fprintf(stdout, "validators listen on %s\n", *listenHost)
	}
	fmt.Fprintf(stdout, "streams:\n")
	for _, s := range streams {
		switch {
		case s.IsPush() && len(s.WriteTokens) > 0:
			fmt.Fprintf(stdout, "  %s  push (loopback, or %d write token(s))\n", s.ID, len(s.WriteTokens))
		case s.IsPush():
			fmt.Fprintf(stdout, "  %s  push (from each node's own machine)\n", s.ID)
		default:
			fmt.Fprintf(stdout, "  %s  %s\n", s.ID, s.Source)
		}
	}
	fmt.Fprintf(stdout, "start each validator with: datadragon node --home %s\n", filepath.Join(*out, "nodeI"))
	return exitOK
}

func runNode(args []string, stdout, stderr io.Writer) int {
	c := nodeCmd
	fs := newFlagSet(c)
	home := fs.String("home", "", "the validator's home `DIR`, written by 'datadragon init'")
	level := fs.String("log-level", "", "also show CometBFT's logs at `LEVEL`: error, info or debug")
	fault := fs.Float64("fault-rate", -1, "fault injection: attest wrong digests for fraction `F` of chunks (tests and demos; overrides node.json)")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *home == "":
		err = usagef("--home DIR is required")
	case *fault > 1:
		err = usagef("--fault-rate %v: choose 0 to 1", *fault)
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	if *fault >= 0 {
		cfg, err := node.LoadConfig(*home)
		if err == nil {
			cfg.FaultRate = *fault
			err = cfg.Save(*home)
		}
		if err != nil {
			return fail(stderr, c, err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n, err := node.Open(*home, node.Options{Logger: logger, CometLogLevel: *level})
	if err != nil {
		return fail(stderr, c, err)
	}
	if err := n.Start(); err != nil {
		n.Stop()
		return fail(stderr, c, err)
	}
	fmt.Fprintf(stdout, "datadragon node %s running (home %s); Ctrl-C stops it\n", n.Config().Moniker, *home)
	if a := n.Config().API; a != "" {
		scheme := "http"
		if n.Config().TLS() {
			scheme = "https"
		}
		fmt.Fprintf(stdout, "  API: %s://%s/v1/status\n", scheme, a)
	}
	if f := n.Config().FaultRate; f > 0 {
		fmt.Fprintf(stdout, "  fault injection: attesting wrong digests for %.0f%% of chunks\n", 100*f)
	}
	<-ctx.Done()
	if err := n.Stop(); err != nil {
		return fail(stderr, c, err)
	}
	fmt.Fprintf(stdout, "stopped at height %d\n", n.Height())
	return exitOK
}

func runDevnet(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return devnetMain(ctx, args, stdout, stderr)
}

// devnetMain runs the devnet until ctx is done.
func devnetMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := devnetCmd
	fs := newFlagSet(c)
	n := fs.Int("validators", 4, "run `N` validators, 1 to 16")
	dir := fs.String("dir", "", "keep the network in `DIR` (default: a new temporary directory)")
	httpAddr := fs.String("http", "127.0.0.1:8080", "node 0's HTTP API at `HOST:PORT`; node I at PORT+I; sources at PORT+50 and PORT+51")
	p2p := fs.Int("p2p-port", 26656, "validator I listens for peers on `PORT`+10·I")
	faultNode := fs.Int("fault-node", -1, "make validator `I` attest wrong digests (fault injection)")
	faultRate := fs.Float64("fault-rate", 0.5, "fraction `F` of chunks the faulty validator lies about")
	status := fs.Duration("status-every", 5*time.Second, "print the chain's progress every `D` (0: never)")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	var host string
	var port int
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *n < 1 || *n > 16:
		err = usagef("--validators %d: choose 1 to 16", *n)
	case *faultNode >= *n:
		err = usagef("--fault-node %d: there are only validators 0 to %d", *faultNode, *n-1)
	case *faultRate < 0 || *faultRate > 1:
		err = usagef("--fault-rate %v: choose 0 to 1", *faultRate)
	default:
		var p string
		host, p, err = net.SplitHostPort(*httpAddr)
		if err == nil {
			port, err = strconv.Atoi(p)
		}
		if err != nil || port < 1024 || port > 65000 {
			err = usagef("--http %q: write HOST:PORT with a port from 1024 to 65000", *httpAddr)
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	temporary := *dir == ""
	if temporary {
		if *dir, err = os.MkdirTemp("", "datadragon-devnet-"); err != nil {
			return fail(stderr, c, err)
		}
		// Nothing of a throwaway network is kept: the directory goes
		// with the process (--dir keeps a network).
		defer func() {
			if err := os.RemoveAll(*dir); err != nil {
				fmt.Fprintf(stderr, "removing %s: %v\n", *dir, err)
				return
			}
			fmt.Fprintf(stdout, "removed %s (use --dir DIR to keep a network and resume it)\n", *dir)
		}()
	}
	// A network kept in DIR keeps its size and its ports: its genesis
	// names its validators and observes its sources' addresses, node 0's
	// node.json holds its API and peer ports. Flags not given take them;
	// a flag that contradicts them is refused before anything starts (a
	// missing validator's power would slow every block, sources on other
	// ports would never be observed).
	if kept, err := loadDevnet(*dir); err != nil {
		return fail(stderr, c, err)
	} else if kept != nil {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		switch {
		case given["validators"] && kept.validators != *n:
			return fail(stderr, c, usagef("%s holds a network of %d validators, not %d: run 'datadragon devnet --dir %s' (or --validators %d), or choose a new --dir for a network of %d", *dir, kept.validators, *n, *dir, kept.validators, *n))
		case given["http"] && (kept.host != host || kept.port != port):
			return fail(stderr, c, usagef("%s holds a network whose node 0 serves at %s:%d, not %s: run 'datadragon devnet --dir %s' (its ports are kept), or choose a new --dir", *dir, kept.host, kept.port, *httpAddr, *dir))
		case given["p2p-port"] && kept.p2p != *p2p:
			return fail(stderr, c, usagef("%s holds a network whose validators listen from port %d, not %d: run 'datadragon devnet --dir %s' (its ports are kept), or choose a new --dir", *dir, kept.p2p, *p2p, *dir))
		}
		*n, host, port, *p2p = kept.validators, kept.host, kept.port, kept.p2p
		if *faultNode >= *n {
			return fail(stderr, c, usagef("--fault-node %d: the network in %s has only validators 0 to %d", *faultNode, *dir, *n-1))
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// The demo sources.
	sensorPort, tickerPort := port+50, port+51
	srcCtx, stopSources := context.WithCancel(context.Background())
	defer stopSources()
	if err := os.MkdirAll(filepath.Join(*dir, "sources"), 0o755); err != nil {
		return fail(stderr, c, err)
	}
	for _, s := range []struct {
		id   string
		port int
		g    gen.Generator
		rate float64
	}{{"sensors", sensorPort, gen.NewSensor(1), 20}, {"ticks", tickerPort, gen.NewTicker(1), 50}} {
		// Each source resumes past every frame it produced before, so a
		// restarted devnet's observers go on at once (with a gap for
		// what was missed) instead of waiting for it to count up again.
		posPath := filepath.Join(*dir, "sources", s.id+".position.json")
		first, err := loadPosition(posPath, s.id)
		if err != nil {
			return fail(stderr, c, err)
		}
		id := s.id
		srv, err := source.New(source.Config{Generator: s.g, Rate: s.rate, First: first,
			Reserve: func(upTo uint64) error { return savePosition(posPath, id, upTo) }})
		if err != nil {
			return fail(stderr, c, err)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(s.port)))
		if err != nil {
			return fail(stderr, c, fmt.Errorf("demo source: %v (choose another --http port)", err))
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln)
		go func() {
			// A source that cannot go on (its position cannot be saved,
			// say) stops producing: say so, the observers will wait.
			if err := srv.Run(srcCtx); err != nil {
				fmt.Fprintf(stderr, "demo source %s stopped: %v\n", id, err)
			}
		}()
		defer hs.Close()
	}
	rawPort := port + 52
	if ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(rawPort))); err != nil {
		return fail(stderr, c, fmt.Errorf("demo raw source: %v (choose another --http port)", err))
	} else if hs, err := startDemoRawSource(srcCtx, ln, stderr); err != nil {
		return fail(stderr, c, err)
	} else {
		defer hs.Close()
	}

	// The validators: created on the first run, reused afterwards.
	genesis := filepath.Join(*dir, "genesis.json")
	if _, err := os.Stat(genesis); errors.Is(err, os.ErrNotExist) {
		_, err := node.InitHomes(node.InitOptions{
			Dir: *dir, Validators: *n, ChainID: "datadragon-devnet", Host: host, BasePort: *p2p,
			APIBasePort: port, Power: 10, CommitTimeout: 100 * time.Millisecond,
			AppState: node.AppState(append(demoStreams(host, sensorPort, tickerPort), demoRawStream(host, rawPort)), 0),
		})
		if err != nil {
			return fail(stderr, c, err)
		}
	} else if err != nil {
		return fail(stderr, c, err)
	}
	var nodes []*node.Node
	stopAll := func() {
		for _, nd := range nodes {
			if err := nd.Stop(); err != nil {
				fmt.Fprintf(stderr, "stopping %s: %v\n", nd.Config().Moniker, err)
			}
		}
	}
	for i := range *n {
		home := filepath.Join(*dir, fmt.Sprintf("node%d", i))
		if i == *faultNode {
			cfg, err := node.LoadConfig(home)
			if err == nil {
				cfg.FaultRate = *faultRate
				err = cfg.Save(home)
			}
			if err != nil {
				stopAll()
				return fail(stderr, c, err)
			}
		}
		nd, err := node.Open(home, node.Options{Logger: logger})
		if err != nil {
			stopAll()
			if errors.Is(err, os.ErrNotExist) { // a home this devnet size expects is missing
				err = fmt.Errorf("%w (a --dir from another devnet size? use a new --dir)", err)
			}
			return fail(stderr, c, fmt.Errorf("%s: %w", home, err))
		}
		nodes = append(nodes, nd)
	}
	for _, nd := range nodes {
		if err := nd.Start(); err != nil {
			stopAll()
			return fail(stderr, c, err)
		}
	}
	fmt.Fprintf(stdout, "DataDragon devnet: %d validators, chain datadragon-devnet\n", *n)
	if temporary {
		fmt.Fprintf(stdout, "  data:     %s (temporary: removed when the devnet stops; --dir DIR keeps a network)\n", *dir)
	} else {
		fmt.Fprintf(stdout, "  data:     %s (genesis: %s)\n", *dir, genesis)
	}
	fmt.Fprintf(stdout, "  sources:  ws://%s:%d/stream (sensors), ws://%s:%d/stream (ticks), ws://%s:%d/feed (raw-ticks, a plain JSON feed)\n", host, sensorPort, host, tickerPort, host, rawPort)
	for i, nd := range nodes {
		fmt.Fprintf(stdout, "  node%d:    http://%s/v1/status\n", i, nd.Config().API)
	}
	if *faultNode >= 0 {
		fmt.Fprintf(stdout, "  node%d attests wrong digests for %.0f%% of chunks\n", *faultNode, 100**faultRate)
	}
	api0 := "http://" + nodes[0].Config().API
	fmt.Fprintf(stdout, "  explorer: %s/\n", api0)
	fmt.Fprintf(stdout, "Push a file and check its receipt offline:\n")
	fmt.Fprintf(stdout, "  datadragon stream --node %s --stream uploads FILE      (writes FILE.ddr beside FILE)\n", api0)
	fmt.Fprintf(stdout, "  datadragon verify FILE.ddr --genesis %s\n", genesis)
	if temporary {
		fmt.Fprintf(stdout, "  (copy %s to check receipts after the devnet stops: its directory is removed then)\n", genesis)
	}
	fmt.Fprintf(stdout, "Press Ctrl-C to stop.\n")

	var tick <-chan time.Time
	if *status > 0 {
		t := time.NewTicker(*status)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			stopAll()
			if temporary {
				fmt.Fprintln(stdout, "devnet stopped")
			} else {
				fmt.Fprintf(stdout, "devnet stopped; its data stays in %s. To resume it (same validators and ports):\n  datadragon devnet --dir %s\n", *dir, *dir)
			}
			return exitOK
		case <-tick:
			fmt.Fprintln(stdout, progressLine(nodes[0]))
		}
	}
}

// progressLine summarises node's view of the chain.
func progressLine(nd *node.Node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s height %d:", time.Now().Format("15:04:05"), nd.Height())
	streams, err := nd.App().Streams()
	if err != nil {
		return b.String() + " (no state yet)"
	}
	for _, s := range streams {
		fmt.Fprintf(&b, " %s %d accepted, %d disputed;", s.ID, s.Accepted, s.Disputed)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// keptDevnet is what a devnet directory says of its network.
type keptDevnet struct {
	validators int
	host       string
	port       int // node 0's API port
	p2p        int // validator 0's peer port
}

// loadDevnet reads the network kept in dir: nil when dir holds none yet.
func loadDevnet(dir string) (*keptDevnet, error) {
	path := filepath.Join(dir, "genesis.json")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	doc, err := cmttypes.GenesisDocFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (is --dir a devnet's directory? choose a new one to start a new network)", path, err)
	}
	if len(doc.Validators) == 0 {
		return nil, fmt.Errorf("%s names no validators; choose a new --dir to start a new network", path)
	}
	home := filepath.Join(dir, "node0")
	cfg, err := node.LoadConfig(home)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (the devnet in %s is incomplete; choose a new --dir)", home, err, dir)
	}
	k := &keptDevnet{validators: len(doc.Validators)}
	var apiPort, p2pPort string
	k.host, apiPort, err = net.SplitHostPort(cfg.API)
	if err == nil {
		k.port, err = strconv.Atoi(apiPort)
	}
	if err == nil {
		_, p2pPort, err = net.SplitHostPort(cfg.P2PListen)
	}
	if err == nil {
		k.p2p, err = strconv.Atoi(p2pPort)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: api_listen %q and p2p_listen %q must be HOST:PORT (%v); choose a new --dir", filepath.Join(home, node.NodeFile), cfg.API, cfg.P2PListen, err)
	}
	return k, nil
}
