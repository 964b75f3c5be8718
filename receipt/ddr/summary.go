package ddr

import (
	"bytes"
	"fmt"
	"math"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
)

// VersionSummaries is the file receipt version that carries epoch
// summaries (receipt.Summary): a file without any is written as Version,
// byte for byte as before, so older verifiers keep reading it.
//
// A version 2 file is a version 1 file followed by two sections:
//
//	summaries: count ‖ each: first ‖ last ‖ leaves ‖ root (32) ‖ signature
//	links:     count ‖ each: extension ‖ summary ‖ leaf ‖ path
//
// (numbers uvarints, byte strings length-prefixed, as everywhere). Each
// summary is kept once, however many extensions and records it serves; a
// linked extension has no signature of its own — its validator's summary
// signature, over the root of the leaf path, stands for it.
const VersionSummaries = 2

const (
	maxSummaries = 1 << 16
	maxLinks     = maxExtensions
)

// SummarySig is one validator's epoch summary (the validator is that of
// the extensions linked to it).
type SummarySig struct {
	First, Last int64
	Leaves      int
	Root        [32]byte
	Signature   []byte
}

// Link proves Extension's root by Summary: the extension's summary leaf
// is leaf Leaf of the summary's Leaves under its Root.
type Link struct {
	Extension, Summary, Leaf int
	Path                     [][32]byte
}

func (f *File) version() uint64 {
	if len(f.Summaries) > 0 || len(f.Links) > 0 {
		return VersionSummaries
	}
	return Version
}

func encodeSummaries(w *writer, f *File) {
	if f.version() != VersionSummaries {
		return
	}
	w.int(len(f.Summaries))
	for _, s := range f.Summaries {
		w.uvarint(uint64(s.First))
		w.uvarint(uint64(s.Last))
		w.int(s.Leaves)
		w.b = append(w.b, s.Root[:]...)
		w.bytes(s.Signature)
	}
	w.int(len(f.Links))
	for _, l := range f.Links {
		w.int(l.Extension)
		w.int(l.Summary)
		w.int(l.Leaf)
		w.path(l.Path)
	}
}

func decodeSummaries(r *reader, f *File, version uint64) {
	if version != VersionSummaries {
		return
	}
	r.at = "summaries"
	n := r.count(maxSummaries, 35)
	if n > 0 {
		f.Summaries = make([]SummarySig, n)
	}
	for i := range f.Summaries {
		s := &f.Summaries[i]
		s.First = int64(r.uvarint(math.MaxInt64 - 1))
		s.Last = int64(r.uvarint(math.MaxInt64 - 1))
		s.Leaves = int(r.uvarint(wire.MaxSummarySpan))
		s.Root = r.hash()
		s.Signature = r.bytes(maxSignatureBytes)
	}
	r.at = "summary links"
	n = r.count(maxLinks, 4)
	if n > 0 {
		f.Links = make([]Link, n)
	}
	for i := range f.Links {
		l := &f.Links[i]
		l.Extension = r.index(len(f.Extensions), "extension")
		l.Summary = r.index(len(f.Summaries), "summary")
		l.Leaf = int(r.uvarint(math.MaxInt32))
		l.Path = r.path()
	}
}

// checkSummaries refuses summaries no extension uses and extensions
// linked twice or linked while carrying a signature of their own.
func checkSummaries(f *File) error {
	used := make([]bool, len(f.Summaries))
	linked := make([]bool, len(f.Extensions))
	for i, l := range f.Links {
		if l.Extension < 0 || l.Extension >= len(f.Extensions) || l.Summary < 0 || l.Summary >= len(f.Summaries) {
			return &receipt.LinkError{Link: "summary", Err: fmt.Errorf("link %d names extension %d of %d, summary %d of %d", i, l.Extension, len(f.Extensions), l.Summary, len(f.Summaries))}
		}
		if linked[l.Extension] {
			return &receipt.LinkError{Link: "summary", Err: fmt.Errorf("extension %d is linked to a summary twice", l.Extension)}
		}
		if len(f.Extensions[l.Extension].Signature) > 0 {
			return &receipt.LinkError{Link: "summary", Err: fmt.Errorf("extension %d has a signature and a summary; a file receipt gives one", l.Extension)}
		}
		linked[l.Extension] = true
		used[l.Summary] = true
	}
	for i, u := range used {
		if !u {
			return &receipt.LinkError{Link: "summary", Err: fmt.Errorf("summary %d (heights %d…%d) serves no extension", i, f.Summaries[i].First, f.Summaries[i].Last)}
		}
	}
	return nil
}

// linksByExtension maps each linked extension to its link.
func (f *File) linksByExtension() map[int]Link {
	m := make(map[int]Link, len(f.Links))
	for _, l := range f.Links {
		m[l.Extension] = l
	}
	return m
}

// receiptSummary is the receipt.Summary of link l, or nil if l names no
// summary of f.
func (f *File) receiptSummary(l Link) *receipt.Summary {
	if l.Summary < 0 || l.Summary >= len(f.Summaries) {
		return nil
	}
	s := f.Summaries[l.Summary]
	return &receipt.Summary{First: s.First, Last: s.Last, Root: receipt.HexBytes(bytes.Clone(s.Root[:])), Signature: receipt.HexBytes(s.Signature),
		Proof: receipt.Proof{Leaf: l.Leaf, Leaves: s.Leaves, Path: hexPath(l.Path)}}
}

// summaryIndex keeps each summary of receipts once while From assembles a
// file.
type summaryIndex struct {
	f     *File
	idx   map[string]int
	links map[int]Link // by extension
}

func newSummaryIndex(f *File) *summaryIndex {
	return &summaryIndex{f: f, idx: map[string]int{}, links: map[int]Link{}}
}

// add links extension ei to a's summary.
func (x *summaryIndex) add(ei int, a *receipt.Attestation) error {
	s := a.Summary
	root, err := hash(s.Root)
	if err != nil {
		return fmt.Errorf("summary root: %w", err)
	}
	p, err := hashPath(s.Proof.Path)
	if err != nil {
		return fmt.Errorf("summary path: %w", err)
	}
	k := fmt.Sprintf("%x|%d|%d|%d|%x|%x", []byte(a.Validator), s.First, s.Last, s.Proof.Leaves, root, []byte(s.Signature))
	si, ok := x.idx[k]
	if !ok {
		si = len(x.f.Summaries)
		x.idx[k] = si
		x.f.Summaries = append(x.f.Summaries, SummarySig{First: s.First, Last: s.Last, Leaves: s.Proof.Leaves, Root: root, Signature: s.Signature})
	}
	x.links[ei] = Link{Extension: ei, Summary: si, Leaf: s.Proof.Leaf, Path: p}
	return nil
}

// finish keeps the links of the extensions kept (renum: old → new index,
// −1 dropped) and the summaries they use, in order.
func (x *summaryIndex) finish(renum []int) {
	f := x.f
	if len(x.links) == 0 {
		f.Summaries, f.Links = nil, nil
		return
	}
	sNew := make([]int, len(f.Summaries))
	for i := range sNew {
		sNew[i] = -1
	}
	var sums []SummarySig
	var links []Link
	for old := range renum {
		l, ok := x.links[old]
		if !ok || renum[old] < 0 {
			continue
		}
		if sNew[l.Summary] < 0 {
			sNew[l.Summary] = len(sums)
			sums = append(sums, f.Summaries[l.Summary])
		}
		l.Extension, l.Summary = renum[old], sNew[l.Summary]
		links = append(links, l)
	}
	f.Summaries, f.Links = sums, links
}
