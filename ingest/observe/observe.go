package observe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/datadragon/datadragon/ingest/frame"
)

// Defaults of Config.
const (
	DefaultMinBackoff   = 200 * time.Millisecond
	DefaultMaxBackoff   = 10 * time.Second
	DefaultDialTimeout  = 10 * time.Second
	DefaultPingInterval = 15 * time.Second
)

// Config says what to observe and how.
type Config struct {
	URL  string // ws://host:port/stream, wss://…; any ?from in it is replaced
	From uint64 // first seq wanted

	// TLS, if set, is used to dial wss:// and https:// URLs: its RootCAs
	// say which CAs the source's certificate may chain to (nil RootCAs:
	// the system's). The certificate is always verified, TLS 1.2 at
	// least. ws:// URLs ignore it. Give TLS or HTTPClient, not both.
	TLS *tls.Config

	HTTPClient   *http.Client  // for proxies or transport settings; nil means the default client
	MinBackoff   time.Duration // first wait after a failure; 0 means DefaultMinBackoff
	MaxBackoff   time.Duration // longest wait; 0 means DefaultMaxBackoff
	DialTimeout  time.Duration // 0 means DefaultDialTimeout
	PingInterval time.Duration // 0 means DefaultPingInterval; negative disables pings
	MaxAttempts  int           // consecutive failed connections before Run gives up; 0 means never
}

// Event is one of Data, Gap, End, Connected, Disconnected or Behind.
type Event interface{ isEvent() }

// Data is the next frame of the stream.
type Data struct{ frame.Frame }

// Gap reports that frames From..To (inclusive) will not be delivered.
type Gap struct {
	From, To uint64
	Reason   string
}

// End reports that the stream finished after Next frames; Run then
// returns nil.
type End struct{ Next uint64 }

// Connected reports a new connection, asking for frames from From on.
type Connected struct {
	URL  string
	From uint64
}

// Disconnected reports a lost or failed connection and the wait before
// the next attempt.
type Disconnected struct {
	Err   error
	Retry time.Duration
}

// Behind reports that the source has not produced the seq this observer
// waits for: it is at Next, Want is the next seq to deliver. A source that
// restarted from an earlier seq says so when the observer reconnects;
// delivery resumes, with nothing lost, once the source reaches Want.
type Behind struct {
	Want, Next uint64
}

func (Behind) isEvent()       {}
func (Data) isEvent()         {}
func (Gap) isEvent()          {}
func (End) isEvent()          {}
func (Connected) isEvent()    {}
func (Disconnected) isEvent() {}

// ErrGaveUp is returned by Run after MaxAttempts failed connections.
var ErrGaveUp = errors.New("gave up connecting to the source")

// Run observes the source until ctx is done (it returns ctx.Err()), the
// stream ends (nil), handle returns an error (that error), or MaxAttempts
// connections in a row fail (ErrGaveUp). A URL that cannot work at all is
// reported at once.
func Run(ctx context.Context, cfg Config, handle func(Event) error) error {
	base, err := checkURL(cfg.URL)
	if err != nil {
		return err
	}
	if cfg.TLS != nil {
		if cfg.HTTPClient != nil {
			return errors.New("observe: give Config.TLS or Config.HTTPClient, not both (put the TLS settings in the client's transport)")
		}
		if cfg.TLS.InsecureSkipVerify {
			return errors.New("observe: Config.TLS must verify the source's certificate (InsecureSkipVerify is refused): add the source's CA to RootCAs instead")
		}
		if base.Scheme == "wss" || base.Scheme == "https" {
			cfg.HTTPClient = tlsClient(cfg.TLS)
		}
	}
	cfg = withDefaults(cfg)
	o := &observer{cfg: cfg, base: base, next: cfg.From, handle: handle}
	backoff := cfg.MinBackoff
	failures := 0
	for {
		delivered, err := o.session(ctx)
		if err == nil || ctx.Err() != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
		var he *handlerError
		if errors.As(err, &he) {
			return he.err
		}
		if delivered {
			backoff, failures = cfg.MinBackoff, 0
		}
		failures++
		if cfg.MaxAttempts > 0 && failures >= cfg.MaxAttempts {
			return fmt.Errorf("%w after %d attempts: %v", ErrGaveUp, failures, err)
		}
		wait := jitter(backoff)
		if herr := handle(Disconnected{Err: err, Retry: wait}); herr != nil {
			return herr
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, cfg.MaxBackoff)
	}
}

func withDefaults(cfg Config) Config {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	return cfg
}

// tlsClient returns an HTTP client dialing with tc (TLS 1.2 at least),
// otherwise configured like the default transport.
func tlsClient(tc *tls.Config) *http.Client {
	tc = tc.Clone()
	tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	t.TLSClientConfig = tc
	return &http.Client{Transport: t}
}

// jitter spreads d by ±20 % so that many observers of one restarted source
// do not reconnect in lockstep.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()-0.5)*0.4*float64(d))
}

func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("source URL %q: %v", raw, err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return nil, fmt.Errorf("source URL %q: use ws://host:port/stream or wss://… (scheme %q is not a WebSocket)", raw, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("source URL %q has no host", raw)
	}
	return u, nil
}

// URLFrom returns the subscription URL for base asking for frames from
// seq on.
func URLFrom(base *url.URL, from uint64) string {
	u := *base
	q := u.Query()
	q.Set(frame.FromParam, strconv.FormatUint(from, 10))
	u.RawQuery = q.Encode()
	return u.String()
}

type observer struct {
	cfg    Config
	base   *url.URL
	next   uint64 // seq of the next frame to deliver
	ended  bool
	handle func(Event) error
}

// handlerError carries an error returned by the callback.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

func (o *observer) emit(ev Event) error {
	if err := o.handle(ev); err != nil {
		return &handlerError{err}
	}
	return nil
}

// session runs one connection. It returns nil when the stream ended, and
// otherwise the reason the connection is over; delivered says whether it
// got anywhere (for the backoff).
func (o *observer) session(ctx context.Context) (delivered bool, err error) {
	target := URLFrom(o.base, o.next)
	dctx, cancel := context.WithTimeout(ctx, o.cfg.DialTimeout)
	c, resp, err := websocket.Dial(dctx, target, &websocket.DialOptions{HTTPClient: o.cfg.HTTPClient, CompressionMode: websocket.CompressionDisabled})
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return false, fmt.Errorf("connecting to %s: the server answered %s (is this a DataDragon source?)", target, resp.Status)
		}
		return false, fmt.Errorf("connecting to %s: %w%s", target, err, tlsHint(err))
	}
	defer c.CloseNow()
	c.SetReadLimit(frame.MaxMessageSize)
	if err := o.emit(Connected{URL: target, From: o.next}); err != nil {
		return false, err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	if o.cfg.PingInterval > 0 {
		go o.keepalive(sctx, c)
	}
	for {
		_, msg, err := c.Read(sctx)
		if err != nil {
			if ctx.Err() != nil {
				return delivered, ctx.Err()
			}
			return delivered, describeClose(err)
		}
		m, err := frame.Decode(msg)
		if err != nil {
			c.Close(websocket.StatusUnsupportedData, "bad frame")
			return delivered, fmt.Errorf("source sent a bad message: %w", err)
		}
		delivered = true
		if err := o.deliver(m); err != nil {
			c.Close(websocket.StatusNormalClosure, "")
			return delivered, err
		}
		if o.ended {
			c.Close(websocket.StatusNormalClosure, "")
			return delivered, nil
		}
	}
}

// deliver turns one message into events, keeping seqs in order without
// duplicates and reporting every skipped seq as a gap.
func (o *observer) deliver(m frame.Message) error {
	switch m.Kind {
	case frame.KindData:
		f := m.Frame
		if f.Seq < o.next {
			return nil // already delivered (a replay overlap)
		}
		if f.Seq > o.next {
			if err := o.emit(Gap{From: o.next, To: f.Seq - 1, Reason: "the source skipped these seqs"}); err != nil {
				return err
			}
		}
		if err := o.emit(Data{f}); err != nil {
			return err
		}
		o.next = f.Seq + 1
	case frame.KindGap:
		if m.To < o.next {
			return nil
		}
		from := max(m.From, o.next)
		if err := o.emit(Gap{From: from, To: m.To, Reason: "the source no longer holds these frames"}); err != nil {
			return err
		}
		o.next = m.To + 1
	case frame.KindEnd:
		if m.Next > o.next {
			if err := o.emit(Gap{From: o.next, To: m.Next - 1, Reason: "the stream ended before these frames were received"}); err != nil {
				return err
			}
			o.next = m.Next
		}
		o.ended = true
		return o.emit(End{Next: m.Next})
	case frame.KindBehind:
		if m.Next < o.next {
			return o.emit(Behind{Want: o.next, Next: m.Next})
		}
	}
	return nil
}

func (o *observer) keepalive(ctx context.Context, c *websocket.Conn) {
	t := time.NewTicker(o.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, o.cfg.PingInterval)
		err := c.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.CloseNow() // the read loop sees the error and reconnects
			return
		}
	}
}

// tlsHint adds advice to a failed TLS dial: a certificate that does not
// verify is what an operator can fix.
func tlsHint(err error) string {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return " (the source's certificate is not signed by a trusted CA: add its CA to the observer's roots, e.g. source_ca_file in node.json)"
	case errors.As(err, &hn):
		return " (the source's certificate is not valid for this host name: dial a name it lists, or reissue it)"
	case errors.As(err, &ci):
		return " (the source's certificate is invalid here, e.g. expired or not yet valid: renew it)"
	}
	return ""
}

// describeClose explains why a connection ended.
func describeClose(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case frame.CloseTooSlow:
			return fmt.Errorf("the source dropped this observer for reading too slowly (%s); resuming", ce.Reason)
		case websocket.StatusGoingAway:
			return fmt.Errorf("the source is going away (%s)", ce.Reason)
		}
		return fmt.Errorf("the source closed the connection: %d %s", ce.Code, ce.Reason)
	}
	return fmt.Errorf("connection lost: %w", err)
}
