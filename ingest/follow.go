package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/datadragon/datadragon/ingest/chunk"
	"github.com/datadragon/datadragon/ingest/observe"
)

// Config says which stream to follow and how to cut it.
type Config struct {
	Stream string         // the stream's id (part of every digest)
	Policy chunk.Policy   // how the stream is cut
	Source observe.Config // where the frames come from; From is the first seq wanted

	// Resume, if set, continues after a chunk already reported: the
	// chunker resumes after it and the observer asks for LastSeq+1
	// (Source.From is then ignored).
	Resume *Position

	// Now is the observation clock; nil means time.Now.
	Now func() time.Time
	// OnEvent, if set, sees every observer event (connections, gaps,
	// frames) before the chunker does, for logs and metrics.
	OnEvent func(observe.Event)
	// OnFrameError, if set, hears about frames the chunker ignored or
	// flagged (late, conflicting, out-of-order source time).
	OnFrameError func(seq uint64, err error)
}

// Position is the last chunk a node already reported.
type Position struct {
	LastIndex uint64 // index of that chunk
	LastSeq   uint64 // seq of its last message
}

// Observed is a closed chunk with the moment this node closed it.
type Observed struct {
	chunk.Chunk
	ObservedAt time.Time
}

// Follow observes one stream and hands every closed chunk to emit, in
// index order, until ctx is done (it returns ctx.Err()), the stream ends
// (nil), emit fails (its error) or the observer gives up.
func Follow(ctx context.Context, cfg Config, emit func(Observed) error) error {
	c, err := chunk.New(cfg.Stream, cfg.Policy)
	if err != nil {
		return err
	}
	src := cfg.Source
	if cfg.Resume != nil {
		if err := c.ResumeAfter(cfg.Resume.LastIndex, cfg.Resume.LastSeq); err != nil {
			return fmt.Errorf("resume point: %w", err)
		}
		src.From = cfg.Resume.LastSeq + 1
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	send := func(cs []chunk.Chunk) error {
		if len(cs) == 0 {
			return nil
		}
		at := now()
		for _, ch := range cs {
			if err := emit(Observed{Chunk: ch, ObservedAt: at}); err != nil {
				return err
			}
		}
		return nil
	}
	return observe.Run(ctx, src, func(ev observe.Event) error {
		if cfg.OnEvent != nil {
			cfg.OnEvent(ev)
		}
		switch ev := ev.(type) {
		case observe.Data:
			cs, err := c.Add(ev.Frame)
			if err != nil && cfg.OnFrameError != nil && !errors.Is(err, chunk.ErrEnded) {
				cfg.OnFrameError(ev.Seq, err)
			}
			return send(cs)
		case observe.Gap:
			return send(c.Gap(ev.From, ev.To))
		case observe.End:
			return send(c.End(ev.Next))
		}
		return nil
	})
}
