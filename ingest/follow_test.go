package ingest

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/datadragon/datadragon/ingest/chunk"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/observe"
	"github.com/datadragon/datadragon/ingest/source"
)

// TestFollow runs a source and two followers, one of them resuming late,
// and checks every chunk against digests computed straight from the
// generator, with no network and no chunker.
func TestFollow(t *testing.T) {
	g := gen.NewSensor(11)
	s, err := source.New(source.Config{Generator: g, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	for range 1000 {
		s.Step()
	}

	clock := s.Clock()
	independent := func(stream string, index uint64) digest.Digest {
		var msgs []digest.Message
		for k := index * 100; k < index*100+100; k++ {
			f, _ := gen.Frame(g, clock, k)
			msgs = append(msgs, digest.Message{Seq: k, Data: f.Payload})
		}
		d, _ := digest.Compute(stream, index, msgs)
		return d
	}

	fixed := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	follow := func(resume *Position, want int) []Observed {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		var got []Observed
		done := make(chan error, 1)
		go func() {
			done <- Follow(ctx, Config{
				Stream: "sensors",
				Policy: chunk.EverySeq(100),
				Source: observe.Config{URL: ts.URL + "/stream"},
				Resume: resume,
				Now:    func() time.Time { return fixed },
			}, func(o Observed) error {
				mu.Lock()
				got = append(got, o)
				n := len(got)
				mu.Unlock()
				if n == want {
					cancel()
				}
				return nil
			})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("follower timed out")
		}
		return got
	}

	all := follow(nil, 10)
	late := follow(&Position{LastIndex: 5, LastSeq: 599}, 4)
	for _, o := range append(all, late...) {
		if o.Status != chunk.Complete || o.ObservedAt != fixed {
			t.Fatalf("chunk %d: %s (%s)", o.Index, o.Status, o.Reason)
		}
		if want := independent("sensors", o.Index); o.Digest != want {
			t.Fatalf("chunk %d: digest %s, independently %s", o.Index, o.Digest, want)
		}
	}
	if late[0].Index != 6 || all[9].Index != 9 {
		t.Fatalf("indices: %d.., ..%d", late[0].Index, all[9].Index)
	}
}
