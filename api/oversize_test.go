package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts the bytes the server reads from its connections.
type countingListener struct {
	net.Listener
	read *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.read}, nil
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

// TestOversizedBodyAnsweredNotReset sends bodies over the limit the way a
// simple client does — the whole body first, then the answer read — over a
// real connection. Without the drain the server closes with unread bytes,
// the kernel resets the connection and the client never sees the 413.
func TestOversizedBodyAnsweredNotReset(t *testing.T) {
	a := newTestAPI(t, nil)
	var read atomic.Int64
	srv := httptest.NewUnstartedServer(a.h)
	srv.Config = Server("", a.h)
	srv.Listener = countingListener{srv.Listener, &read}
	srv.Start()
	defer srv.Close()

	send := func(t *testing.T, header string, body []byte) (*http.Response, error) {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, header); err != nil {
			t.Fatal(err)
		}
		// Small writes with pauses, as over a real link: the server has
		// answered long before the last byte is sent.
		for i := 0; i < len(body); i += 64 << 10 {
			if _, err := c.Write(body[i:min(i+64<<10, len(body))]); err != nil {
				return nil, fmt.Errorf("writing the body at byte %d: %w", i, err)
			}
			if i%(1<<20) == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		return http.ReadResponse(bufio.NewReader(c), nil)
	}
	for _, size := range []int{2 << 20, 6 << 20} {
		body := []byte(`{"kind":"chain","proof_b64":"` + strings.Repeat("A", size) + `"}`)
		for _, chunked := range []bool{false, true} {
			name := fmt.Sprintf("%d bytes declared", len(body))
			hdr := fmt.Sprintf("POST /v1/zk/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
			payload := body
			if chunked {
				name = fmt.Sprintf("%d bytes chunked", len(body))
				hdr = "POST /v1/zk/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
				payload = []byte(fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body))
			}
			t.Run(name, func(t *testing.T) {
				resp, err := send(t, hdr, payload)
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				defer resp.Body.Close()
				var m map[string]string
				if resp.StatusCode != http.StatusRequestEntityTooLarge || json.NewDecoder(resp.Body).Decode(&m) != nil || !strings.Contains(m["error"], "larger than") {
					t.Fatalf("status %d, error %q; want 413 saying the limit", resp.StatusCode, m["error"])
				}
				if !resp.Close {
					t.Fatal("the answer does not say Connection: close; a refused request's connection must end")
				}
			})
		}
	}
	// A body declared beyond what a refusal may cost is not read at all.
	t.Run("declared 1 GiB", func(t *testing.T) {
		before := read.Load()
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "POST /v1/zk/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 1<<30)
		c.Write(make([]byte, 1<<20))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("answer %v, %v; want 413", resp, err)
		}
		if _, err := io.Copy(io.Discard, c); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("the connection did not end: %v", err)
		}
		if n := read.Load() - before; n > maxRefusedDrain {
			t.Fatalf("the server read %d bytes of a body it refused by its declared length", n)
		}
	})
}
