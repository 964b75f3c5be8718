package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// savePosition makes next the stream's resume point durably: written to a
// temporary file, synced, renamed over path and the directory synced, so a
// crash leaves either the old or the new position, whole.
func savePosition(path, stream string, next uint64) error {
	b, _ := json.Marshal(positionFile{Stream: stream, NextSeq: next})
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
