package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchiveFlippedPagesNeverCrash flips bytes in every page of a
// receipt archive: at a page's header (its id, its type and flags, its
// count) and in its body. Each damaged file must be refused at open as
// damaged, or opened and read as far as it goes, with damage reported
// as damage. It must never panic the node. bbolt panics on some damaged
// pages, and a node that panicked at every start would never run again.
func TestArchiveFlippedPagesNeverCrash(t *testing.T) {
	home, ar := newTestArchive(t)
	if _, err := ar.step(fakeBlocks{tip: 200}, fakeInfos{}, 200, 400); err != nil {
		t.Fatal(err)
	}
	ar.Close()
	path := filepath.Join(home, "data", ArchiveFile)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	pages := len(orig) / page
	flipped, refused, readErrs := 0, 0, 0
	for p := range pages {
		for _, off := range []int{0, 8, 10, page / 2} {
			b := append([]byte(nil), orig...)
			b[p*page+off] ^= 0xff
			// A new file each time: a panic inside bbolt's Open leaves
			// the old one's lock held by this process.
			tmp := path + ".new"
			if err := os.WriteFile(tmp, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
			flipped++
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Errorf("page %d offset %d: panic: %v", p, off, v)
					}
				}()
				ar, err := openArchive(home)
				if err != nil {
					if !strings.Contains(err.Error(), "is damaged") {
						t.Errorf("page %d offset %d: refused, but not as damage: %v", p, off, err)
					}
					refused++
					return
				}
				defer ar.Close()
				// Writing on: a step that reads the damaged pages.
				if _, err := ar.step(fakeBlocks{tip: 210}, fakeInfos{}, 210, 400); err != nil && !strings.Contains(err.Error(), "is damaged") {
					t.Errorf("page %d offset %d: archiving on: %v", p, off, err)
				}
				for h := int64(1); h <= 200; h++ {
					_, _, _, err := ar.Header(h)
					if err == nil {
						_, _, err = ar.Extension(h, fakeAddr(1))
					}
					if err != nil {
						if !strings.Contains(err.Error(), "is damaged") {
							t.Errorf("page %d offset %d: height %d: %v", p, off, h, err)
						}
						readErrs++
						return
					}
				}
			}()
		}
	}
	if refused+readErrs == 0 {
		t.Fatalf("%d flips across %d pages: none was noticed", flipped, pages)
	}
	t.Logf("%d flips across %d pages: %d refused at open, %d found by reads, the rest in free or unread bytes", flipped, pages, refused, readErrs)
}

// TestArchiveTruncatedNeverCrashes: an archive cut short (a disk that
// lost its tail, a copy interrupted) is refused as damaged or read as far
// as it goes, never a crash (bbolt maps the file, and reading past its
// end faults).
func TestArchiveTruncatedNeverCrashes(t *testing.T) {
	home, ar := newTestArchive(t)
	if _, err := ar.step(fakeBlocks{tip: 200}, fakeInfos{}, 200, 400); err != nil {
		t.Fatal(err)
	}
	ar.Close()
	path := filepath.Join(home, "data", ArchiveFile)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	noticed := 0
	for _, n := range []int{0, 1, 4096, 2 * 4096, 4 * 4096, len(orig) / 2, len(orig) - 4096, len(orig) - 1} {
		tmp := path + ".new"
		if err := os.WriteFile(tmp, orig[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("cut to %d bytes: panic: %v", n, v)
				}
			}()
			ar, err := openArchive(home)
			if err != nil {
				noticed++
				return
			}
			defer ar.Close()
			for h := int64(1); h <= 200; h++ {
				if _, _, _, err := ar.Header(h); err != nil {
					if !strings.Contains(err.Error(), "is damaged") {
						t.Errorf("cut to %d bytes: height %d: %v", n, h, err)
					}
					noticed++
					return
				}
			}
		}()
	}
	if noticed == 0 {
		t.Fatal("no cut was noticed")
	}
}

// TestArchiveBugIsNotDamage: a panic in the node's own code inside an
// archive transaction goes on as a panic; only bbolt's are damage.
func TestArchiveBugIsNotDamage(t *testing.T) {
	_, ar := newTestArchive(t)
	defer ar.Close()
	defer func() {
		if v := recover(); v != "a bug" {
			t.Fatalf("recovered %v, want the node's own panic", v)
		}
	}()
	err := ar.view(func(*boltTx) error { panic("a bug") })
	t.Fatalf("the view returned %v instead of panicking", err)
}
