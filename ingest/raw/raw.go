package raw

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Limits and defaults of Config.
const (
	DefaultMaxMessageBytes = 1 << 20
	HardMaxMessageBytes    = 16 << 20
	MaxSubscribe           = 16      // subscribe messages
	MaxSubscribeBytes      = 8 << 10 // bytes of one subscribe message
	MaxHeaders             = 32
	MaxHeaderBytes         = 4 << 10 // bytes of one header's name and value
	DefaultReadTimeout     = 60 * time.Second
	DefaultDialTimeout     = 10 * time.Second
	DefaultMinBackoff      = 200 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
	HardMaxBackoff         = 10 * time.Minute
)

// Config says which feed to read and how.
type Config struct {
	URL       string            // ws://… or wss://…
	Header    map[string]string // request headers (e.g. an API key the feed asks for)
	Subscribe []string          // text messages sent, in order, after each connect

	// TLS, if set, is used for wss:// (certificates are always verified).
	TLS *tls.Config

	MaxMessageBytes int64         // 0: DefaultMaxMessageBytes
	ReadTimeout     time.Duration // longest silence before reconnecting; 0: DefaultReadTimeout
	DialTimeout     time.Duration // 0: DefaultDialTimeout
	MinBackoff      time.Duration // 0: DefaultMinBackoff
	MaxBackoff      time.Duration // 0: DefaultMaxBackoff
	MaxAttempts     int           // failed connections in a row before Run gives up; 0: never
}

// Event is Connected, Message or Gap.
type Event interface{ isEvent() }

// Connected reports a new connection whose subscribe messages were sent.
type Connected struct {
	URL     string
	Attempt int // connections made so far, this one included
}

// Message is one message of the feed.
type Message struct {
	Data   []byte
	Binary bool
	At     time.Time // when it was read
}

// Gap reports that the connection broke (or never came up): messages the
// feed sent meanwhile are lost. Retry is the wait before the next attempt.
type Gap struct {
	Err   error
	Retry time.Duration
}

func (Connected) isEvent() {}
func (Message) isEvent()   {}
func (Gap) isEvent()       {}

// ErrGaveUp is returned by Run after MaxAttempts failed connections.
var ErrGaveUp = errors.New("gave up connecting to the feed")

// Validate checks the config's bounds and URL.
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("raw feed URL %q: %v", c.URL, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("raw feed URL %q: use ws://host/path or wss://host/path", c.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("raw feed URL %q has no host", c.URL)
	}
	if len(c.Subscribe) > MaxSubscribe {
		return fmt.Errorf("raw feed: %d subscribe messages, the limit is %d", len(c.Subscribe), MaxSubscribe)
	}
	for i, s := range c.Subscribe {
		if len(s) == 0 || len(s) > MaxSubscribeBytes {
			return fmt.Errorf("raw feed: subscribe message %d has %d bytes: use 1 to %d", i, len(s), MaxSubscribeBytes)
		}
	}
	if len(c.Header) > MaxHeaders {
		return fmt.Errorf("raw feed: %d request headers, the limit is %d", len(c.Header), MaxHeaders)
	}
	for k, v := range c.Header {
		if k == "" || len(k)+len(v) > MaxHeaderBytes || strings.ContainsAny(k+v, "\r\n") {
			return fmt.Errorf("raw feed: request header %.40q is empty, longer than %d bytes or holds a line break", k, MaxHeaderBytes)
		}
	}
	if c.MaxMessageBytes < 0 || c.MaxMessageBytes > HardMaxMessageBytes {
		return fmt.Errorf("raw feed: message limit of %d bytes: use 1 to %d (0 for the default)", c.MaxMessageBytes, HardMaxMessageBytes)
	}
	if c.MaxBackoff > HardMaxBackoff || c.MinBackoff < 0 || c.MaxBackoff < 0 || c.ReadTimeout < 0 || c.DialTimeout < 0 {
		return fmt.Errorf("raw feed: backoff up to %s at most, no negative durations", HardMaxBackoff)
	}
	if c.TLS != nil && c.TLS.InsecureSkipVerify {
		return errors.New("raw feed: TLS must verify the feed's certificate (InsecureSkipVerify is refused): add its CA to RootCAs")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	return c
}

type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// Run reads the feed until ctx is done (ctx.Err()), handle fails (its
// error) or MaxAttempts connections in a row fail (ErrGaveUp). Events are
// delivered from one goroutine, in order.
func Run(ctx context.Context, cfg Config, handle func(Event) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	var client *http.Client
	if cfg.TLS != nil {
		tc := cfg.TLS.Clone()
		tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tc
		client = &http.Client{Transport: t}
	}
	hdr := http.Header{}
	for k, v := range cfg.Header {
		hdr.Set(k, v)
	}
	backoff, failures, attempt := cfg.MinBackoff, 0, 0
	for {
		attempt++
		got, err := session(ctx, cfg, client, hdr, attempt, handle)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he *handlerError
		if errors.As(err, &he) {
			return he.err
		}
		if got {
			backoff, failures = cfg.MinBackoff, 0
		}
		failures++
		if cfg.MaxAttempts > 0 && failures >= cfg.MaxAttempts {
			return fmt.Errorf("%w after %d attempts: %v", ErrGaveUp, failures, err)
		}
		wait := backoff + time.Duration((rand.Float64()-0.5)*0.4*float64(backoff))
		if herr := handle(Gap{Err: err, Retry: wait}); herr != nil {
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

// session runs one connection; got says whether any message arrived.
func session(ctx context.Context, cfg Config, client *http.Client, hdr http.Header, attempt int, handle func(Event) error) (got bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, cfg.URL, &websocket.DialOptions{HTTPClient: client, HTTPHeader: hdr, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return false, fmt.Errorf("connecting to %s: the feed answered %s (check the URL and the request headers)", cfg.URL, resp.Status)
		}
		return false, fmt.Errorf("connecting to %s: %w", cfg.URL, err)
	}
	defer c.CloseNow()
	c.SetReadLimit(cfg.MaxMessageBytes)
	for i, s := range cfg.Subscribe {
		if err := c.Write(dctx, websocket.MessageText, []byte(s)); err != nil {
			return false, fmt.Errorf("sending subscribe message %d to %s: %w", i, cfg.URL, err)
		}
	}
	cancel()
	if err := handle(Connected{URL: cfg.URL, Attempt: attempt}); err != nil {
		return false, &handlerError{err}
	}
	for {
		rctx, rcancel := context.WithTimeout(ctx, cfg.ReadTimeout)
		typ, msg, err := c.Read(rctx)
		timedOut := rctx.Err() != nil && ctx.Err() == nil
		rcancel()
		if err != nil {
			if ctx.Err() != nil {
				return got, ctx.Err()
			}
			if timedOut {
				return got, fmt.Errorf("the feed sent nothing for %s; reconnecting", cfg.ReadTimeout)
			}
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				if ce.Code == websocket.StatusMessageTooBig {
					return got, fmt.Errorf("a message was over the %d-byte limit (raise max_message_bytes if the feed really sends such messages)", cfg.MaxMessageBytes)
				}
				return got, fmt.Errorf("the feed closed the connection: %d %s", ce.Code, ce.Reason)
			}
			return got, fmt.Errorf("connection lost: %w", err)
		}
		got = true
		if err := handle(Message{Data: msg, Binary: typ == websocket.MessageBinary, At: time.Now()}); err != nil {
			return got, &handlerError{err} // CloseNow: no wait for a close handshake

		}
	}
}
