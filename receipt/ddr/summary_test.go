package ddr_test

import (
	"bytes"
	"testing"

	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
)

// withSummary is the fixture's file receipt with its first extension's
// signature replaced by a (made-up) summary: a version 2 file.
func withSummary(t testing.TB) ([]byte, *ddr.File) {
	r, _, _ := fixture(t, "../testdata/push", "data.bin")
	f, err := ddr.Decode(encode(t, r))
	if err != nil {
		t.Fatal(err)
	}
	f.Extensions[0].Signature = nil
	f.Summaries = []ddr.SummarySig{{First: 1, Last: f.Extensions[0].Height + 3, Leaves: 2, Root: [32]byte{1}, Signature: bytes.Repeat([]byte{2}, 64)}}
	f.Links = []ddr.Link{{Extension: 0, Summary: 0, Leaf: 1, Path: [][32]byte{{3}}}}
	b, err := ddr.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return b, f
}

// A file without summaries stays version 1, byte for byte; one with them
// is version 2, decodes to the same file, and a summary that does not
// hold (here: made up) is named as the broken link, as is one that
// serves no extension, or an extension that has both a signature and a
// summary.
func TestSummariesSection(t *testing.T) {
	r, g, _ := fixture(t, "../testdata/push", "data.bin")
	v1 := encode(t, r)
	if v1[len(ddr.Magic)] != ddr.Version {
		t.Fatalf("a file receipt without summaries is version %d", v1[len(ddr.Magic)])
	}
	b, _ := withSummary(t)
	if b[len(ddr.Magic)] != ddr.VersionSummaries {
		t.Fatalf("a file receipt with summaries is version %d", b[len(ddr.Magic)])
	}
	f, err := ddr.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Summaries) != 1 || len(f.Links) != 1 || f.Links[0].Leaf != 1 || f.Summaries[0].Leaves != 2 {
		t.Fatalf("decoded summaries %+v, links %+v", f.Summaries, f.Links)
	}
	if _, err := ddr.Verify(f, g, nil, 0); receipt.BrokenLink(err) != "summary" {
		t.Fatalf("a made-up summary: %v, want the summary link named", err)
	}
	for name, change := range map[string]func(f *ddr.File){
		"unused summary": func(f *ddr.File) { f.Summaries = append(f.Summaries, f.Summaries[0]) },
		"both":           func(f *ddr.File) { f.Extensions[0].Signature = []byte{1} },
		"twice":          func(f *ddr.File) { f.Links = append(f.Links, f.Links[0]) },
	} {
		_, f := withSummary(t)
		change(f)
		if _, err := ddr.Verify(f, g, nil, 0); receipt.BrokenLink(err) != "summary" {
			t.Errorf("%s: %v, want the summary link named", name, err)
		}
	}
	// A version 2 file without summaries is not canonical.
	nb := bytes.Clone(v1)
	nb[len(ddr.Magic)] = ddr.VersionSummaries
	if _, err := ddr.Decode(append(nb, 0, 0)); err == nil {
		t.Fatal("a version 2 file with empty summary sections decoded")
	}
}
