package main

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// TestGeneratedFileIsCurrent regenerates constants.go in memory and
// compares it with the committed file.
func TestGeneratedFileIsCurrent(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/rescue-ethstark.json")
	if err != nil {
		t.Fatal(err)
	}
	var p params
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	want, err := generate(&p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../constants.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("constants.go is stale: run go generate in zk/rescue")
	}
}
