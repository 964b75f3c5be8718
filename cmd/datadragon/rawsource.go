package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/ingest/rawsource"
)

// rawSourceCmd is `datadragon source --raw`: help and errors name it.
var rawSourceCmd = &command{
	path:     "source --raw",
	synopsis: "[--rate R] [--listen ADDR] [--seed S] [--drop-to N --drop-every K] [--heartbeat D]",
	summary:  "serve a demo third-party ticker feed (plain JSON, no DataDragon framing)",
	about: `Serve a ticker feed the way exchanges do, knowing nothing of DataDragon:
plain JSON messages over WebSocket, no seq and no replay. A client must
first send a subscribe message, e.g. {"type":"subscribe","channels":["ticker"]};
it then gets every ticker message produced from that moment on, each
stamped with its connection's "conn_id", and a heartbeat
{"type":"heartbeat",...} every --heartbeat. Validators observe it as a raw
stream ("mode": "raw") that ignores the heartbeats and drops conn_id before
hashing.

--drop-to N --drop-every K makes the N-th connection (1 for the first) miss
every K-th message: that validator's source lied to it, and the network
outvotes it.`,
	examples: []string{"datadragon source --raw --rate 100 --listen 127.0.0.1:9003"},
}

// hasRawFlag reports whether a source command line asks for the raw feed.
func hasRawFlag(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return a == "--raw" || a == "-raw" || a == "--raw=true" })
}

func rawSourceMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := rawSourceCmd
	fs := newFlagSet(c)
	fs.Bool("raw", true, "serve the raw ticker feed")
	rate := fs.Float64("rate", 10, fmt.Sprintf("ticker messages per second, %v to %v", rawsource.MinRate, rawsource.MaxRate))
	listen := fs.String("listen", "127.0.0.1:9003", "serve on `ADDR` (host:port; port 0 picks a free one)")
	seed := fs.Uint64("seed", 1, "content `SEED`")
	dropTo := fs.Int("drop-to", 0, "make the `N`-th connection (1 for the first) miss messages")
	dropEvery := fs.Int("drop-every", 0, "with --drop-to: miss every `K`-th message")
	heartbeat := fs.Duration("heartbeat", rawsource.DefaultHeartbeat, "send a heartbeat to each subscriber every `D` (0s: none)")
	maxSubs := fs.Int("max-subscribers", rawsource.DefaultMaxSubscribers, "serve at most `N` subscribers at once")
	quiet := fs.Bool("quiet", false, "do not log subscribers coming and going")
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
	hb := *heartbeat
	if hb == 0 {
		hb = -1
	}
	cfg := rawsource.Config{Rate: *rate, Seed: *seed, Heartbeat: hb, MaxSubscribers: *maxSubs, DropTo: *dropTo, DropEvery: *dropEvery}
	logOut := &lockedWriter{w: stderr}
	if !*quiet {
		cfg.Logf = func(format string, a ...any) {
			fmt.Fprintf(logOut, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, a...))
		}
	}
	srv, err := rawsource.New(cfg)
	if err != nil {
		return fail(stderr, c, usagef("%v", err))
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fail(stderr, c, fmt.Errorf("cannot listen on %s: %v (choose another --listen)", *listen, err))
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	host := displayAddr(ln.Addr().String())
	fmt.Fprintf(stdout, "datadragon source --raw: ticker feed, seed %d, %v messages/s\n", *seed, *rate)
	fmt.Fprintf(stdout, "  feed:    ws://%s/feed  (send {\"type\":\"subscribe\",\"channels\":[\"ticker\"]} first)\n", host)
	fmt.Fprintf(stdout, "  health:  http://%s/healthz\n", host)
	if *dropTo > 0 {
		fmt.Fprintf(stdout, "  connection %d misses every %d-th message\n", *dropTo, *dropEvery)
	}
	fmt.Fprintf(stdout, "Press Ctrl-C to stop.\n")
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx) }()
	var failed error
	select {
	case <-runErr:
	case err := <-served:
		failed = fmt.Errorf("serving stopped: %v", err)
		<-ctx.Done()
		<-runErr
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	if failed != nil {
		return fail(stderr, c, failed)
	}
	fmt.Fprintf(stdout, "datadragon source --raw: stopped after %d messages\n", srv.Sent())
	return exitOK
}

// demoRawStream is the raw stream observing the demo ticker feed
// (`datadragon source --raw`) at host:port.
func demoRawStream(host string, port int) app.Stream {
	return app.Stream{ID: "raw-ticks", Mode: app.ModeRaw, Source: fmt.Sprintf("ws://%s:%d/feed", host, port),
		Description: "demo: a third-party ticker feed (plain JSON, no seq), 20 per second, content-defined chunks of about 16",
		Raw: &app.RawSpec{
			Subscribe:        []string{`{"type":"subscribe","channels":["ticker"]}`},
			ExpectedMessages: 16,
			Normalize:        digest.Normalize{IgnoreField: "type", IgnoreValues: []string{"heartbeat"}, DropFields: []string{"conn_id"}},
		}}
}

// startDemoRawSource serves the demo ticker feed on ln until ctx ends.
func startDemoRawSource(ctx context.Context, ln net.Listener, stderr io.Writer) (*http.Server, error) {
	srv, err := rawsource.New(rawsource.Config{Rate: 20, Seed: 1})
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	go func() {
		if err := srv.Run(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "demo raw source stopped: %v\n", err)
		}
	}()
	return hs, nil
}
