package verifier_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/receipt/wasm/verifier"
)

func read(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheck: what the browser runs verifies the multi-chunk file receipt
// with its file, a chunk's JSON receipt, and says in words what is wrong
// with the inputs a new user gives.
func TestCheck(t *testing.T) {
	const dir = "../../ddr/testdata/file/"
	rc, g, data := read(t, dir+"data.bin.ddr"), read(t, dir+"genesis.json"), read(t, dir+"data.bin")
	res := verifier.Check(rc, g, data)
	if !res.Valid || !res.Whole || !res.VerdictsOK || len(res.Records) != 7 || res.Kind != "file receipt" || len(res.GenesisSHA256) != 64 || res.ChainID == "" {
		t.Fatalf("file receipt: %+v", res)
	}
	if r := res.Records[0]; !r.Pushed || !r.Data || len(r.Attesters) != 3 || r.Verdict != "ok" {
		t.Errorf("record: %+v", r)
	}
	bad := bytes.Clone(data)
	bad[500] ^= 1
	if res := verifier.Check(rc, g, bad); res.Valid || res.Link != "data" {
		t.Errorf("one byte of the file: %+v", res)
	}
	jr, jg := read(t, "../../testdata/receipt.json"), read(t, "../../testdata/genesis.json")
	if res := verifier.Check(jr, jg, read(t, "../../testdata/data.json")); !res.Valid || res.Kind != "receipt" || len(res.Records) != 1 || len(res.Records[0].Attesters) != 4 {
		t.Errorf("JSON receipt: %+v", res)
	}
	for _, tc := range []struct {
		rc, g      []byte
		link, want string
	}{
		{rc, jg, "chain_id", "is for chain"},
		{rc, rc, "genesis", "is a file receipt (.ddr)"},
		{rc, jr, "genesis", "the genesis given is a receipt"},
		{[]byte(`{"error":"no receipt for files/9 yet"}`), g, "receipt", `this is not a receipt: this is the node's error answer, saved instead of a receipt; the node said: "no receipt for files/9 yet"`},
		{[]byte("<html>"), g, "receipt", "this is not a receipt: the file is not JSON"},
		{rc[:len(rc)-3], g, "encoding", ""},
		{nil, nil, "genesis", "no genesis"},
	} {
		res := verifier.Check(tc.rc, tc.g, nil)
		if res.Valid || res.Link != tc.link || !strings.Contains(res.Error, tc.want) {
			t.Errorf("want link %q and %q, got %+v", tc.link, tc.want, res)
		}
	}
}

// FuzzCheck: no input makes the browser's verifier panic or say valid
// of something that is not the fixture.
func FuzzCheck(f *testing.F) {
	g := read(f, "../../ddr/testdata/file/genesis.json")
	f.Add([]byte("{}"), []byte{})
	f.Add([]byte("\x89DDR\r\n\x1a\n\x01"), []byte{})
	f.Fuzz(func(t *testing.T, rc, data []byte) {
		verifier.Check(rc, g, data)
	})
}

// TestBuild: the page's file receipt of a bundle of JSON receipts
// verifies; a bundle that is not one is refused in words.
func TestBuild(t *testing.T) {
	jr, jg := read(t, "../../testdata/push/receipt.json"), read(t, "../../testdata/push/genesis.json")
	b, err := verifier.Build(append(append([]byte("[\n"), jr...), "\n]"...), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res := verifier.Check(b, jg, read(t, "../../testdata/push/data.bin")); !res.Valid || !res.Whole || res.Kind != "file receipt" {
		t.Errorf("the built file receipt: %+v", res)
	}
	for _, bad := range []string{"{}", "[]", `[{"error":"no"}]`} {
		if _, err := verifier.Build([]byte(bad), 1, 2); err == nil {
			t.Errorf("%s built", bad)
		}
	}
}
