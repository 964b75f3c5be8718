package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/datadragon/datadragon/api"
	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/source"
)

var sourceCmd = &command{
	path:     "source",
	synopsis: "[--kind sensor|ticker|log|file] [--rate R] [--listen ADDR] [--seed S] [--file F] [--tls-cert F --tls-key F] [flags] | --raw [flags]",
	summary:  "serve a demo data stream over WebSocket for validators to observe",
	about: `Serve a data stream over WebSocket in DataDragon framing, as the data
sources of a DataDragon network do. Every subscriber gets the same frames:
seq (0, 1, 2, ...), source time and payload.

Kinds:
  sensor  JSON readings of 8 sensors: temperature, humidity, pressure, battery
  ticker  JSON quotes of 8 symbols: bid, ask and sizes
  log     application log lines with a level, a component and a message
  file    the bytes of --file in pieces of --piece bytes, then the end of
          the stream

Frame k is the same for everyone and at any time: its payload depends only
on --kind, --seed (or the file) and k, and its source time is
--epoch + k/R, not the moment it is sent. A restarted source emits the very
same stream again from seq 0, and observers resuming at seq S wait for it
to get there. With --position FILE it resumes instead past every frame it
produced before (it reserves ten seconds of frames ahead in FILE), so
observers go on at once, with a gap for the frames it did not send while
stopped.

Subscribe at ws://ADDR/stream?from=S to get every frame from seq S on that
is still in the replay buffer (the newest --buffer frames, at most
--buffer-bytes), then live frames; if S has left the buffer the first
message is a gap for the missing seqs. Without ?from a subscriber starts
live. A subscriber too slow to keep within the buffer is dropped with close
code 4001 and told where to resume. GET /healthz answers with the stream's
status as JSON. Ctrl-C stops the source cleanly.

With --tls-cert and --tls-key (PEM files: the certificate chain, leaf
first, and its private key) the source serves TLS only, TLS 1.2 or later:
the stream is wss://ADDR/stream and the status https://ADDR/healthz.
Validators verify the certificate, so it must name the host they dial and
chain to a CA they trust (the system's, or source_ca_file in node.json).`,
	examples: []string{
		"datadragon source --kind sensor --rate 10 --listen 127.0.0.1:9001",
		"datadragon source --kind ticker --rate 500 --seed 7 --listen 127.0.0.1:9002",
		"datadragon source --kind file --file data.csv --piece 1024 --rate 100",
		"datadragon source --listen 0.0.0.0:9443 --tls-cert source.crt --tls-key source.key",
	},
}

func runSource(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return sourceMain(ctx, args, stdout, stderr)
}

// sourceMain runs the source until ctx is done.
func sourceMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if hasRawFlag(args) {
		return rawSourceMain(ctx, args, stdout, stderr)
	}
	c := sourceCmd
	fs := newFlagSet(c)
	kind := fs.String("kind", "sensor", "the `KIND` of stream: sensor, ticker, log or file")
	rate := fs.Float64("rate", 10, fmt.Sprintf("emit `R` frames per second, %v to %v", gen.MinRate, gen.MaxRate))
	listen := fs.String("listen", "127.0.0.1:9001", "serve on `ADDR` (host:port; port 0 picks a free one)")
	seed := fs.Uint64("seed", 1, "content `SEED` for sensor, ticker and log: same seed, same stream")
	file := fs.String("file", "", "the `FILE` to stream; required with --kind file")
	piece := fs.Int("piece", gen.DefaultPieceSize, "`BYTES` of the file per frame, 1 to 1048576")
	buffer := fs.Int("buffer", source.DefaultBufferFrames, fmt.Sprintf("replay buffer: keep the newest `N` frames for late or reconnecting subscribers, 1 to %d", source.MaxBufferFrames))
	bufBytes := sizeFlag(source.DefaultBufferBytes)
	fs.Var(&bufBytes, "buffer-bytes", "replay buffer: at most this many `BYTES` of frames (suffixes KiB, MiB, GiB)")
	epoch := fs.String("epoch", gen.DefaultEpoch.Format(time.RFC3339), "source time of frame 0, `RFC3339`")
	maxSubs := fs.Int("max-subscribers", source.DefaultMaxSubscribers, "serve at most `N` subscribers at once")
	quiet := fs.Bool("quiet", false, "do not log subscribers coming and going")
	tlsCert := fs.String("tls-cert", "", "serve wss:// with the PEM certificate chain in `FILE` (needs --tls-key)")
	tlsKey := fs.String("tls-key", "", "the PEM private key `FILE` of --tls-cert")
	position := fs.String("position", "", "remember the stream's position in `FILE` and resume past it after a restart (not with --kind file)")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	var ep time.Time
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case !slices.Contains(gen.Kinds, *kind):
		err = usagef("--kind %q: choose sensor, ticker, log or file", *kind)
	case *kind == "file" && *file == "":
		err = usagef("--kind file needs --file PATH: the file to stream")
	case *kind != "file" && *file != "":
		err = usagef("--file is only used with --kind file")
	case *rate < gen.MinRate || *rate > gen.MaxRate || *rate != *rate:
		err = usagef("--rate %v is out of range: use %v to %v frames per second", *rate, gen.MinRate, gen.MaxRate)
	case *piece < 1 || *piece > 1<<20:
		err = usagef("--piece %d is out of range: use 1 to 1048576 bytes", *piece)
	case *buffer < 1 || *buffer > source.MaxBufferFrames:
		err = usagef("--buffer %d is out of range: use 1 to %d frames", *buffer, source.MaxBufferFrames)
	case *maxSubs < 1 || *maxSubs > source.MaxSubscribersLimit:
		err = usagef("--max-subscribers %d is out of range: use 1 to %d", *maxSubs, source.MaxSubscribersLimit)
	case *tlsCert != "" && *tlsKey == "":
		err = usagef("--tls-cert needs --tls-key FILE: the certificate's private key")
	case *tlsKey != "" && *tlsCert == "":
		err = usagef("--tls-key needs --tls-cert FILE: the certificate it belongs to")
	case *position != "" && *kind == "file":
		err = usagef("--position is for endless streams; a file source streams its file from the start")
	default:
		if ep, err = time.Parse(time.RFC3339Nano, *epoch); err != nil {
			err = usagef("--epoch %q: write an RFC 3339 time such as 2025-01-01T00:00:00Z", *epoch)
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	var tlsCfg *tls.Config
	if *tlsCert != "" {
		if tlsCfg, err = api.LoadTLS(*tlsCert, *tlsKey); err != nil {
			return fail(stderr, c, err)
		}
	}

	g, err := gen.New(*kind, gen.Options{Seed: *seed, File: *file, PieceSize: *piece})
	if err != nil {
		return fail(stderr, c, err)
	}
	if cl, ok := g.(gen.Closer); ok {
		defer cl.Close()
	}
	logOut := &lockedWriter{w: stderr}
	info := map[string]any{"seed": *seed}
	if fg, ok := g.(*gen.File); ok {
		info = map[string]any{"file": *file, "file_bytes": fg.Size(), "piece": *piece, "frames_total": fg.Frames()}
	}
	cfg := source.Config{Generator: g, Rate: *rate, Epoch: ep, BufferFrames: *buffer, BufferBytes: int64(bufBytes),
		MaxSubscribers: *maxSubs, Info: info}
	if *position != "" {
		// The position is tied to the stream's content: another kind or
		// seed in the same file is refused rather than resumed.
		label := fmt.Sprintf("%s/seed=%d", *kind, *seed)
		if err := os.MkdirAll(filepath.Dir(*position), 0o755); err != nil {
			return fail(stderr, c, fmt.Errorf("--position: %w", err))
		}
		if cfg.First, err = loadPosition(*position, label); err != nil {
			return fail(stderr, c, err)
		}
		path := *position
		cfg.Reserve = func(upTo uint64) error { return savePosition(path, label, upTo) }
	}
	if !*quiet {
		cfg.Logf = func(format string, a ...any) {
			fmt.Fprintf(logOut, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, a...))
		}
	}
	srv, err := source.New(cfg)
	if err != nil {
		return fail(stderr, c, usagef("%v", err))
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fail(stderr, c, fmt.Errorf("cannot listen on %s: %v (is another source using it? choose another --listen)", *listen, err))
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsCfg}
	served := make(chan error, 1)
	if tlsCfg != nil {
		go func() { served <- hs.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- hs.Serve(ln) }()
	}
	ws, web := "ws", "http"
	if tlsCfg != nil {
		ws, web = "wss", "https"
	}

	host := displayAddr(ln.Addr().String())
	what := *kind + " stream, seed " + strconv.FormatUint(*seed, 10)
	if *kind == "file" {
		what = fmt.Sprintf("file %s (%d bytes in %d frames of up to %d bytes)", *file, info["file_bytes"], info["frames_total"], *piece)
	}
	clock := srv.Clock()
	fmt.Fprintf(stdout, "datadragon source: %s, %v frames/s\n", what, *rate)
	fmt.Fprintf(stdout, "  stream:  %s://%s/stream  (from seq S: %s://%s/stream?from=S)\n", ws, host, ws, host)
	fmt.Fprintf(stdout, "  health:  %s://%s/healthz\n", web, host)
	fmt.Fprintf(stdout, "  source time of frame k: %s + k × %v\n", ep.UTC().Format(time.RFC3339Nano), time.Duration(clock.Interval))
	fmt.Fprintf(stdout, "  replay buffer: %d frames, at most %s\n", *buffer, formatBytes(int64(bufBytes)))
	if *position != "" {
		fmt.Fprintf(stdout, "  position: %s (resuming at seq %d)\n", *position, cfg.First)
	}
	fmt.Fprintf(stdout, "Press Ctrl-C to stop.\n")

	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx) }()
	var failed error
	select {
	case err := <-runErr:
		failed = err
	case err := <-served:
		failed = fmt.Errorf("serving stopped: %v", err)
		<-ctx.Done()
		<-runErr
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	st := srv.Status()
	if failed != nil {
		return fail(stderr, c, failed)
	}
	fmt.Fprintf(stdout, "datadragon source: stopped at seq %d (%d frames made by this run)\n", st.NextSeq, st.NextSeq-cfg.First)
	return exitOK
}

// displayAddr turns a listening address into one a client can dial:
// an unspecified host (all interfaces) is shown as loopback.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// sizeFlag is a byte count flag that takes KiB, MiB and GiB suffixes.
type sizeFlag int64

func (s *sizeFlag) String() string { return formatBytes(int64(*s)) }

func (s *sizeFlag) Set(v string) error {
	num, mult := strings.TrimSpace(v), int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return errors.New("want a byte count such as 67108864, 64MiB or 1GiB")
	}
	*s = sizeFlag(n * mult)
	return nil
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
