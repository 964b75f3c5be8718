package ingest

import (
	"context"
	"time"

	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/ingest/raw"
	"github.com/datadragon/datadragon/ingest/rawchunk"
)

// RawConfig says which raw feed to follow and how to cut it.
type RawConfig struct {
	Stream    string
	Policy    rawchunk.Policy
	Normalize digest.Normalize
	Source    raw.Config
	// OnEvent, if set, sees every feed event before the chunker does.
	OnEvent func(raw.Event)
}

// RawObserved is a closed raw chunk with the moment this node closed it:
// when the message that opened the next chunk arrived, or when the
// connection broke.
type RawObserved struct {
	rawchunk.Chunk
	ObservedAt time.Time
}

// FollowRaw reads one raw feed, cuts it and hands every closed chunk to
// emit until ctx is done, emit fails or the client gives up. Every
// disconnect is a gap for the chunk that was open.
func FollowRaw(ctx context.Context, cfg RawConfig, emit func(RawObserved) error) error {
	c, err := rawchunk.New(cfg.Stream, cfg.Policy, cfg.Normalize)
	if err != nil {
		return err
	}
	send := func(cs []rawchunk.Chunk, at time.Time) error {
		for _, ch := range cs {
			if err := emit(RawObserved{Chunk: ch, ObservedAt: at}); err != nil {
				return err
			}
		}
		return nil
	}
	return raw.Run(ctx, cfg.Source, func(ev raw.Event) error {
		if cfg.OnEvent != nil {
			cfg.OnEvent(ev)
		}
		switch ev := ev.(type) {
		case raw.Message:
			return send(c.Add(ev.Data), ev.At)
		case raw.Gap:
			return send(c.Gap(ev.Err.Error()), time.Now())
		}
		return nil
	})
}
