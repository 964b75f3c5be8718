package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// A demo source's position file remembers, across restarts, the seq below
// which every frame the source produced lies (its last reservation,
// source.Config.Reserve). A restarted source resumes there, so observers
// that wait for where it stopped meet a gap at once instead of a stream
// that counts up from 0 again while they stall.

// maxPositionBytes bounds what is read of a position file.
const maxPositionBytes = 4096

type positionFile struct {
	Stream  string `json:"stream"`
	NextSeq uint64 `json:"next_seq"`
}

// loadPosition returns the seq to resume the stream at: 0 when path does
// not exist yet.
func loadPosition(path, stream string) (uint64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPositionBytes+1))
	if err != nil {
		return 0, err
	}
	var p positionFile
	if len(b) > maxPositionBytes || json.Unmarshal(b, &p) != nil || p.Stream != stream {
		return 0, fmt.Errorf("%s is not the position file of stream %q; remove it to start the stream at seq 0 (its observers will report the restart)", path, stream)
	}
	return p.NextSeq, nil
}

// savePosition makes next the stream's resume point durably
// (writeFileAtomic: a crash leaves the old or the new position, whole).
func savePosition(path, stream string, next uint64) error {
	b, _ := json.Marshal(positionFile{Stream: stream, NextSeq: next})
	return writeFileAtomic(path, append(b, '\n'))
}
