package node

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/datadragon/datadragon/app/rules"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
)

// chunkSink takes a fetched chunk's bytes as a stream — from a peer's
// answer or this node's own store — cuts them into messages by the
// lengths on chain and, message by message, hashes the content id and
// the chunk digest, judges the stream's rules and passes the bytes on to
// a file. A 16 MiB chunk is thus never held whole: a fetch holds one
// message (at most 1 MiB from an honest gateway, whose log refuses
// larger ones) and a write buffer.
type chunkSink struct {
	lengths  []uint32
	firstSeq uint64
	size     uint64
	content  *wire.ContentHasher // nil: not computed (the bytes were checked already)
	digest   *digest.Hasher      // nil: the index is not known yet (prefetch)
	rules    *rules.Checker      // nil: not judged (prefetch)
	out      *bufio.Writer       // nil: the bytes are not kept

	i   int    // the message being received
	msg []byte // its bytes so far, when it spans writes
	buf *[]byte
	n   uint64 // bytes taken
	err error
}

// maxPooledMessage is the largest message a pooled buffer holds: a
// gateway's log takes messages up to wire.MaxChunkDataBytes.
const maxPooledMessage = wire.MaxChunkDataBytes

var messagePool = sync.Pool{New: func() any { b := make([]byte, 0, maxPooledMessage); return &b }}

// writerPool holds the write buffers of fetched chunks' files: writes of
// 256 KiB whatever the messages' sizes.
var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 256<<10) }}

func newChunkSink(t *wire.FetchChunkTx) *chunkSink {
	return &chunkSink{lengths: t.Lengths, firstSeq: t.FirstSeq, size: t.DataBytes()}
}

// keepIn makes the sink pass the bytes on to f (through a pooled buffer;
// release returns it).
func (s *chunkSink) keepIn(f *os.File) {
	s.out = writerPool.Get().(*bufio.Writer)
	s.out.Reset(f)
}

// release returns the sink's buffers to their pools.
func (s *chunkSink) release() {
	if s.out != nil {
		s.out.Reset(nil)
		writerPool.Put(s.out)
		s.out = nil
	}
	if s.buf != nil {
		*s.buf = (*s.buf)[:0]
		messagePool.Put(s.buf)
		s.buf, s.msg = nil, nil
	}
}

// room returns a buffer for a message of l bytes.
func (s *chunkSink) room(l int) []byte {
	if l > maxPooledMessage {
		return make([]byte, 0, l)
	}
	if s.buf == nil {
		s.buf = messagePool.Get().(*[]byte)
	}
	return (*s.buf)[:0]
}

// errSinkLong: the source sent more than the chunk.
var errSinkLong = errors.New("more bytes than the chunk has")

// Write takes the chunk's next bytes, cut anywhere.
func (s *chunkSink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if uint64(len(p)) > s.size-s.n {
		s.err = fmt.Errorf("%w (%d)", errSinkLong, s.size)
		return 0, s.err
	}
	total := len(p)
	for len(p) > 0 && s.err == nil {
		l := int(s.lengths[s.i])
		if len(s.msg) == 0 && len(p) >= l {
			s.message(p[:l])
			p = p[l:]
			continue
		}
		if s.msg == nil {
			s.msg = s.room(l)
		}
		k := min(l-len(s.msg), len(p))
		s.msg = append(s.msg, p[:k]...)
		p = p[k:]
		if len(s.msg) == l {
			s.message(s.msg)
			s.msg = s.msg[:0]
		}
	}
	s.n += uint64(total - len(p))
	if s.err != nil {
		return total - len(p), s.err
	}
	return total, nil
}

// ReadFrom reads the rest of the chunk from r message by message, each
// straight into its buffer, and then makes sure r has nothing more: the
// path of a peer's answer and of a local file (io.Copy calls it).
func (s *chunkSink) ReadFrom(r io.Reader) (int64, error) {
	var read int64
	if len(s.msg) > 0 {
		// Mid-message after Write: finish that message the plain way.
		l := int(s.lengths[s.i])
		tmp := make([]byte, l-len(s.msg))
		n, err := io.ReadFull(r, tmp)
		read += int64(n)
		if _, werr := s.Write(tmp[:n]); werr != nil {
			return read, werr
		}
		if err != nil {
			return read, s.short(err)
		}
	}
	for s.i < len(s.lengths) && s.err == nil {
		l := int(s.lengths[s.i])
		m := s.room(l)[:l]
		n, err := io.ReadFull(r, m)
		read += int64(n)
		if err != nil {
			return read, s.short(err)
		}
		s.n += uint64(l)
		s.message(m)
	}
	if s.err != nil {
		return read, s.err
	}
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n > 0 {
		s.err = fmt.Errorf("%w (%d)", errSinkLong, s.size)
		return read + int64(n), s.err
	}
	return read, nil
}

func (s *chunkSink) short(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("the source ended after %d of the chunk's %d bytes", s.n, s.size)
	}
	s.err = err
	return err
}

// message takes one whole message.
func (s *chunkSink) message(m []byte) {
	if s.content != nil {
		s.content.Add(m)
	}
	if s.digest != nil {
		if err := s.digest.Add(s.firstSeq+uint64(s.i), m); err != nil {
			s.err = err
			return
		}
	}
	if s.rules != nil {
		s.rules.Add(m)
	}
	if s.out != nil {
		if _, err := s.out.Write(m); err != nil {
			s.err = err
			return
		}
	}
	s.i++
}

// finish checks that the whole chunk came and flushes the bytes kept.
func (s *chunkSink) finish() error {
	if s.err != nil {
		return s.err
	}
	// Empty messages at the end come with no bytes.
	for s.i < len(s.lengths) && s.lengths[s.i] == 0 && len(s.msg) == 0 && s.err == nil {
		s.message(nil)
	}
	if s.err != nil {
		return s.err
	}
	if s.i != len(s.lengths) || s.n != s.size {
		return fmt.Errorf("the source sent %d of the chunk's %d bytes", s.n, s.size)
	}
	if s.out != nil {
		return s.out.Flush()
	}
	return nil
}
