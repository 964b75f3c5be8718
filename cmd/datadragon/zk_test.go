package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/zk/chain"
	"github.com/datadragon/datadragon/zk/field"
)

// testVectors is testdata/vectors.json: the first vectors of the project's
// rescue-ethstark.json, copied so the tests need only the repository.
type testVectors struct {
	Hash []struct {
		Input  []string `json:"input"`
		Output []string `json:"output"`
	} `json:"hash_vectors"`
	Chain []struct {
		ChainLength int        `json:"chain_length"`
		Witness     [][]string `json:"witness"`
		Output      []string   `json:"output"`
	} `json:"chain_vectors"`
}

func loadTestVectors(t *testing.T) testVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v testVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Hash) == 0 || len(v.Chain) == 0 {
		t.Fatal("testdata/vectors.json holds no vectors")
	}
	return v
}

func TestRescueHashVectors(t *testing.T) {
	for i, v := range loadTestVectors(t).Hash {
		want := strings.Join(v.Output, " ") + "\n"
		args := append([]string{"zk", "rescue-hash"}, v.Input...)
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		if out != want {
			t.Errorf("vector %d: got %q, want %q", i, out, want)
		}
		// The same inputs in decimal (and upper-case hex prefix) hash the same.
		args = []string{"zk", "rescue-hash"}
		for j, s := range v.Input {
			x, err := strconv.ParseUint(s[2:], 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			if j%2 == 0 {
				args = append(args, strconv.FormatUint(x, 10))
			} else {
				args = append(args, "0X"+strings.ToUpper(s[2:]))
			}
		}
		code, out, errOut = runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		if out != want {
			t.Errorf("vector %d in decimal: got %q, want %q", i, out, want)
		}
	}
}

func TestRescueHashOutputFormat(t *testing.T) {
	code, out, errOut := runCLI(t, "zk", "rescue-hash", "0", "0", "0", "0", "0", "0", "0", "0")
	wantCode(t, nil, code, exitOK, out, errOut)
	fields := strings.Fields(out)
	if len(fields) != 4 || strings.Count(out, "\n") != 1 {
		t.Fatalf("want 4 elements on one line, got %q", out)
	}
	for _, f := range fields {
		if !strings.HasPrefix(f, "0x") || f != strings.ToLower(f) || (len(f) > 3 && f[2] == '0') {
			t.Errorf("element %q is not lowercase 0x hex without leading zeros", f)
		}
	}
}

func TestRescueHashBadInput(t *testing.T) {
	eight := func(last string) []string {
		return []string{"1", "2", "3", "4", "5", "6", "7", last}
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"too few", []string{"1", "2", "3"}, "want exactly 8 field elements X0 ... X7, got 3"},
		{"none", nil, "got 0"},
		{"too many", append(eight("8"), "9"), "got 9"},
		{"modulus", eight("0x2000001400000001"), `X7: "0x2000001400000001" is not below the field modulus p = 0x2000001400000001`},
		{"modulus decimal", eight(strconv.FormatUint(field.Modulus, 10)), "is not below the field modulus"},
		{"above 2^64", eight("18446744073709551616"), "is not below the field modulus"},
		{"garbage", eight("banana"), `X7: "banana" is not a field element: write 0x-prefixed hex or decimal`},
		{"bare prefix", eight("0x"), "is not a field element"},
		{"hex digits without prefix", eight("ff"), "is not a field element"},
		{"negative", eight("-1"), "-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"zk", "rescue-hash"}, tc.args...)
			code, out, errOut := runCLI(t, args...)
			wantCode(t, args, code, exitUsage, out, errOut)
			if out != "" {
				t.Errorf("printed %q on stdout despite the error", out)
			}
			if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "datadragon zk rescue-hash --help") {
				t.Errorf("stderr %q should contain %q and point to --help", errOut, tc.want)
			}
		})
	}
}

// fast keeps test proofs quick: no grinding still leaves 36 queries at
// blowup 8, 108 conjectured bits, above the verifier's 100-bit floor.
var fast = []string{"--grinding", "0"}

// prove runs chain-prove and returns its stdout lines keyed by label.
func prove(t *testing.T, args ...string) map[string]string {
	t.Helper()
	args = append([]string{"zk", "chain-prove"}, args...)
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	return labels(t, out)
}

func labels(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			m[k] = v
		}
	}
	return m
}

func TestChainProveVerifyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	proofPath := filepath.Join(dir, "chain.proof")
	// Default options, so the defaults themselves are exercised once.
	p := prove(t, "--length", "5", "--seed", "7", "--out", proofPath)
	for _, k := range []string{"output", "length", "security", "proof", "time"} {
		if p[k] == "" {
			t.Errorf("chain-prove printed no %q line: %v", k, p)
		}
	}
	if p["length"] != "5 hashes" || !strings.HasSuffix(p["security"], "bits (conjectured)") {
		t.Errorf("chain-prove printed %v", p)
	}
	info, err := os.Stat(proofPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d bytes written to %s", info.Size(), proofPath); p["proof"] != want {
		t.Errorf("proof line %q, want %q", p["proof"], want)
	}
	if bits, _ := strconv.Atoi(strings.Fields(p["security"])[0]); bits < 128 {
		t.Errorf("default options give %d bits, want at least 128", bits)
	}

	// Flags may follow the proof file.
	args := []string{"zk", "chain-verify", proofPath, "--min-bits", "128"}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	if !strings.HasPrefix(out, "valid\n") {
		t.Fatalf("chain-verify printed %q", out)
	}
	v := labels(t, out)
	if v["output"] != p["output"] || v["length"] != "5 hashes" || !strings.Contains(v["options"], "blowup 8") {
		t.Errorf("chain-verify summary %v does not match chain-prove's %v", v, p)
	}

	// The same seed gives the same chain; another seed another one.
	same := prove(t, append([]string{"--length", "5", "--seed", "7", "--out", filepath.Join(dir, "b")}, fast...)...)
	other := prove(t, append([]string{"--length", "5", "--seed", "8", "--out", filepath.Join(dir, "c")}, fast...)...)
	if same["output"] != p["output"] || other["output"] == p["output"] {
		t.Errorf("seed 7 gave %q then %q; seed 8 gave %q", p["output"], same["output"], other["output"])
	}
}

func TestChainProveZeroKnowledge(t *testing.T) {
	proofPath := filepath.Join(t.TempDir(), "zk.proof")
	prove(t, append([]string{"--length", "3", "--zk", "--out", proofPath}, fast...)...)
	code, out, errOut := runCLI(t, "zk", "chain-verify", proofPath)
	wantCode(t, nil, code, exitOK, out, errOut)
	if !strings.Contains(out, "zero knowledge on") {
		t.Errorf("chain-verify of a --zk proof printed %q", out)
	}
}

// writeWitness writes a chain vector as a witness file.
func writeWitness(t *testing.T, dir string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "witness.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestChainProveWitnessVectors(t *testing.T) {
	dir := t.TempDir()
	for i, v := range loadTestVectors(t).Chain {
		// The vector entry itself, with chain_length and output, is a
		// witness file; its output is checked against the proof.
		wpath := writeWitness(t, dir, v)
		proofPath := filepath.Join(dir, fmt.Sprintf("v%d.proof", i))
		p := prove(t, append([]string{"--witness", wpath, "--out", proofPath}, fast...)...)
		if want := strings.Join(v.Output, " "); p["output"] != want {
			t.Errorf("vector %d: output %q, want %q", i, p["output"], want)
		}
		if p["length"] != fmt.Sprintf("%d hashes", v.ChainLength) {
			t.Errorf("vector %d: length line %q, want %d", i, p["length"], v.ChainLength)
		}
		// A matching --length is accepted, a different one refused.
		prove(t, append([]string{"--witness", wpath, "--length", strconv.Itoa(v.ChainLength), "--out", proofPath}, fast...)...)
		args := []string{"zk", "chain-prove", "--witness", wpath, "--length", strconv.Itoa(v.ChainLength + 1), "--out", proofPath}
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitFail, out, errOut)
		if !strings.Contains(errOut, fmt.Sprintf("--length %d disagrees", v.ChainLength+1)) {
			t.Errorf("stderr %q", errOut)
		}
	}

	// A stated output the witness does not hash to is refused, and no
	// proof file is written.
	v := loadTestVectors(t).Chain[0]
	v.Output[0] = "0x1"
	wpath := writeWitness(t, dir, v)
	proofPath := filepath.Join(dir, "wrong.proof")
	args := append([]string{"zk", "chain-prove", "--witness", wpath, "--out", proofPath}, fast...)
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.Contains(errOut, "the file says the output is 0x1 ") {
		t.Errorf("stderr %q", errOut)
	}
	if _, err := os.Stat(proofPath); !os.IsNotExist(err) {
		t.Errorf("a proof was written despite the wrong output: %v", err)
	}
}

func TestChainProveWitnessFileErrors(t *testing.T) {
	dir := t.TempDir()
	wpath := writeWitness(t, dir, map[string]any{"witness": [][]string{{"1", "2", "3", "4"}, {"1", "2", "3"}}})
	args := []string{"zk", "chain-prove", "--witness", wpath, "--out", filepath.Join(dir, "p")}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.Contains(errOut, wpath+": witness entry 1: has 3 elements, want 4") {
		t.Errorf("stderr %q", errOut)
	}

	args = []string{"zk", "chain-prove", "--witness", filepath.Join(dir, "missing.json"), "--out", filepath.Join(dir, "p")}
	code, out, errOut = runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.Contains(errOut, "missing.json") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestParseWitness(t *testing.T) {
	p := fmt.Sprintf("%#x", field.Modulus)
	for _, tc := range []struct {
		name, json, want string
	}{
		{"not JSON", `{"witness": [`, `expected JSON {"witness": [[4 field elements], ...]}`},
		{"empty", ``, `expected JSON`},
		{"no witness", `{"wit": []}`, `no "witness" field`},
		{"witness not a list", `{"witness": "0x1"}`, `expected JSON`},
		{"one entry", `{"witness": [["1","2","3","4"]]}`, "the witness has 1 entries; a chain needs at least 2"},
		{"entry not a list", `{"witness": [["1","2","3","4"], "0x5"]}`, `witness entry 1: want an array of 4 field elements, got "0x5"`},
		{"short entry", `{"witness": [["1","2","3","4"], ["1","2","3","4"], ["1"]]}`, "witness entry 2: has 1 elements, want 4"},
		{"long entry", `{"witness": [["1","2","3","4","5"], ["1","2","3","4"]]}`, "witness entry 0: has 5 elements, want 4"},
		{"garbage element", `{"witness": [["1","2","3","4"], ["1","2","3","0xzz"]]}`, `witness entry 1: element 3: "0xzz" is not a field element`},
		{"element too big", `{"witness": [["1","2","3","4"], ["1","` + p + `","3","4"]]}`, `witness entry 1: element 1: "` + p + `" is not below the field modulus`},
		{"fractional number", `{"witness": [["1","2","3","4"], [1.5,2,3,4]]}`, `witness entry 1: element 0: "1.5" is not a field element`},
		{"boolean", `{"witness": [["1","2","3","4"], [true,2,3,4]]}`, `witness entry 1: element 0: "true"`},
		{"chain_length", `{"chain_length": 2, "witness": [["1","2","3","4"], ["1","2","3","4"]]}`, `"chain_length" is 2 but "witness" holds 2 entries (a chain of 1 hashes)`},
		{"bad output", `{"witness": [["1","2","3","4"], ["1","2","3","4"]], "output": ["1"]}`, `"output": has 1 elements, want 4`},
		{"trailing data", `{"witness": [["1","2","3","4"], ["1","2","3","4"]]} {}`, "extra data after the JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parseWitness([]byte(tc.json), chain.MaxLength)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}

	// Strings in hex or decimal and plain JSON integers all work.
	w, want, err := parseWitness([]byte(`{"witness": [["0x1f", "31", 31, "0X1F"], ["0", "1", "2", "3"]], "output": ["0x1","0x2","0x3","0x4"]}`), chain.MaxLength)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 2 || w[0][0].Uint64() != 31 || w[0][1] != w[0][0] || w[0][2] != w[0][0] || w[0][3] != w[0][0] || w[1][3].Uint64() != 3 {
		t.Errorf("parsed %v", w)
	}
	if want == nil || want[3].Uint64() != 4 {
		t.Errorf("output parsed as %v", want)
	}
	// Too many entries are refused before any is parsed.
	long := `{"witness": [0, 0, 0, 0, 0]}`
	if _, _, err := parseWitness([]byte(long), 3); err == nil || !strings.Contains(err.Error(), "a chain of 4 hashes; at most 3 hashes are supported") {
		t.Errorf("an over-long witness gave %v", err)
	}
}

func TestChainProveUsageErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "p")
	wpath := writeWitness(t, dir, loadTestVectors(t).Chain[0])
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{"--length", "3"}, "--out PROOF is required"},
		{"no witness", []string{"--out", out}, "give --length N (with an optional --seed) or --witness FILE"},
		{"seed and witness", []string{"--witness", wpath, "--seed", "3", "--out", out}, "--witness and --seed exclude each other"},
		{"zero length", []string{"--length", "0", "--out", out}, "--length 0 is outside 1 to"},
		{"too long", []string{"--length", strconv.Itoa(chain.MaxLength + 1), "--out", out}, "is outside 1 to " + strconv.Itoa(chain.MaxLength)},
		{"bad blowup", []string{"--length", "3", "--blowup", "3", "--out", out}, "blowup 3 must be a power of two"},
		{"bad folding", []string{"--length", "3", "--folding", "3", "--out", out}, "folding factor 3"},
		{"positional", []string{"--length", "3", "--out", out, "extra"}, `unexpected argument "extra"`},
		{"bool with space", []string{"--length", "3", "--out", out, "--zk", "false"}, "--zk=false"},
		{"out dir missing", []string{"--length", "3", "--out", filepath.Join(dir, "nope", "p")}, "does not exist"},
		{"length not a number", []string{"--length", "many", "--out", out}, "invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"zk", "chain-prove"}, tc.args...)
			code, stdout, stderr := runCLI(t, args...)
			wantCode(t, args, code, exitUsage, stdout, stderr)
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "datadragon zk chain-prove --help") {
				t.Errorf("stderr %q should contain %q and point to --help", stderr, tc.want)
			}
		})
	}
}

func TestChainVerifyRejects(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.proof")
	prove(t, append([]string{"--length", "3", "--out", good}, fast...)...)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)/2] ^= 0x40
	cases := map[string]string{
		"flipped":   write("flipped", flipped),
		"truncated": write("truncated", data[:len(data)-1]),
		"extended":  write("extended", append(append([]byte(nil), data...), 0)),
		"empty":     write("empty", nil),
		"text":      write("text", []byte("not a proof\n")),
	}
	for name, path := range cases {
		args := []string{"zk", "chain-verify", path}
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitFail, out, errOut)
		if !strings.HasPrefix(out, "invalid: ") || len(strings.TrimSpace(out)) <= len("invalid:") {
			t.Errorf("%s: stdout %q, want \"invalid: <reason>\"", name, out)
		}
	}

	// A floor above the proof's security rejects it.
	args := []string{"zk", "chain-verify", "--min-bits", "200", good}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.HasPrefix(out, "invalid: ") {
		t.Errorf("stdout %q", out)
	}

	// Missing files and bad command lines are errors, not verdicts.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{filepath.Join(dir, "missing")}, exitFail},
		{nil, exitUsage},
		{[]string{good, good}, exitUsage},
		{[]string{"--min-bits", "-1", good}, exitUsage},
		{[]string{"--min-bits", "0", good}, exitUsage},
	} {
		args := append([]string{"zk", "chain-verify"}, tc.args...)
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, tc.code, out, errOut)
		if out != "" || errOut == "" {
			t.Errorf("%v: stdout %q, stderr %q", tc.args, out, errOut)
		}
	}
}

func TestReadFileLimited(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := readFileLimited(path, 5); err != nil || string(b) != "12345" {
		t.Errorf("at the limit: %q, %v", b, err)
	}
	if _, err := readFileLimited(path, 4); err == nil || !strings.Contains(err.Error(), "larger than the 4 bytes limit") {
		t.Errorf("over the limit: %v", err)
	}
}

func TestParseFlagsAfterDoubleDash(t *testing.T) {
	// After "--" everything is positional, even what looks like a flag.
	fs := newFlagSet(chainVerifyCmd)
	n := fs.Int("n", 0, "")
	pos, err := parse(fs, chainVerifyCmd, []string{"a", "-n", "3", "--", "-n", "b"}, nil)
	if err != nil || *n != 3 || strings.Join(pos, " ") != "a -n b" {
		t.Errorf("got %v %d %v", pos, *n, err)
	}
}
