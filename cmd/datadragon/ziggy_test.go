package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/internal/bench"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// The Ziggy commands' help pages list every flag with its default and an
// example, like every other command's.
func TestZiggyHelpPages(t *testing.T) {
	pages := map[string][]string{
		"keys gen":    {"out"},
		"keys public": {"private-key", "key", "hex"},
		"zk sign":     {"key", "in", "out", "format"},
		"zk verify":   {"pub", "in", "sig", "min-bits", "format"},
		"bench sig":   {"json", "reps", "message-bytes"},
	}
	for path, flags := range pages {
		args := append(strings.Fields(path), "--help")
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		if !strings.HasPrefix(out, "Usage: datadragon "+path) || !strings.Contains(out, "Example") {
			t.Errorf("%s --help:\n%s", path, out)
		}
		entries := flagEntries(out)
		for _, f := range flags {
			if !regexp.MustCompile(`\(default [^)]+\)$`).MatchString(entries[f]) {
				t.Errorf("%s --help does not list --%s with its default:\n%s", path, f, out)
			}
		}
		if len(entries) != len(flags) {
			t.Errorf("%s --help lists %d flags, want %d", path, len(entries), len(flags))
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"keys", "--help"}, []string{"gen", "public", "datadragon keys gen --out DIR"}},
		{[]string{"zk", "--help"}, []string{"sign", "verify", "Ziggy"}},
		{[]string{"bench", "--help"}, []string{"sig", "Ed25519"}},
		{[]string{"help"}, []string{"keys gen", "keys public", "zk sign", "zk verify", "bench sig"}},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		wantCode(t, tc.args, code, exitOK, out, errOut)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	code, out, errOut := runCLI(t, "keys")
	wantCode(t, []string{"keys"}, code, exitUsage, out, errOut)
	code, out, errOut = runCLI(t, "keys", "rotate")
	wantCode(t, []string{"keys", "rotate"}, code, exitUsage, out, errOut)
	if !strings.Contains(errOut, "datadragon keys --help") {
		t.Errorf("unknown keys command: %q", errOut)
	}
}

// keyVectors reads the Ziggy key vectors kept with the ziggy package.
func keyVectors(t *testing.T) []struct {
	PrivateKey string   `json:"private_key"`
	PublicKey  []string `json:"public_key"`
} {
	t.Helper()
	raw, err := os.ReadFile("../../zk/ziggy/testdata/rescue-ethstark.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Keys []struct {
			PrivateKey string   `json:"private_key"`
			PublicKey  []string `json:"public_key"`
		} `json:"ziggy_key_vectors"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || len(v.Keys) == 0 {
		t.Fatalf("no key vectors: %v", err)
	}
	return v.Keys
}

func TestKeysPublicVectors(t *testing.T) {
	for i, v := range keyVectors(t) {
		args := []string{"keys", "public", "--private-key", v.PrivateKey}
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		if want := strings.Join(v.PublicKey, " ") + "\n"; out != want {
			t.Errorf("vector %d: got %q, want %q", i, out, want)
		}
		priv, err := ziggy.ParsePrivateKeyHex(v.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		code, out, errOut = runCLI(t, append(args, "--hex")...)
		wantCode(t, args, code, exitOK, out, errOut)
		if want := hex.EncodeToString(priv.Public().Bytes()) + "\n"; out != want {
			t.Errorf("vector %d --hex: got %q, want %q", i, out, want)
		}
	}
	// Bad keys are usage errors whose messages never repeat the key.
	secretish := "0x" + strings.Repeat("ab", 31) + "zz"
	for _, args := range [][]string{
		{"keys", "public"},
		{"keys", "public", "--private-key", "0x1234"},
		{"keys", "public", "--private-key", secretish},
		{"keys", "public", "--private-key", keyVectors(t)[0].PrivateKey, "--key", "x"},
		{"keys", "public", strings.Repeat("ab", 32)},
	} {
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitUsage, out, errOut)
		if strings.Contains(errOut, "abababab") {
			t.Errorf("%v: stderr repeats the key: %q", args, errOut)
		}
	}
}

func TestKeysGen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "keys")
	args := []string{"keys", "gen", "--out", dir}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	keyPath, pubPath := filepath.Join(dir, "ziggy.key"), filepath.Join(dir, "ziggy.pub")
	priv, err := ziggy.LoadPrivateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ziggy.LoadPublicKey(pubPath)
	if err != nil || pub != priv.Public() {
		t.Fatalf("public key file: %v", err)
	}
	if !strings.Contains(out, "public key: "+pub.String()) {
		t.Errorf("keys gen printed %q", out)
	}
	fileText, _ := os.ReadFile(keyPath)
	if m := regexp.MustCompile(`0x[0-9a-f]{64}`).FindString(string(fileText)); m == "" || strings.Contains(out+errOut, m[2:]) {
		t.Errorf("keys gen printed the private key or the file lacks it")
	}
	if runtime.GOOS != "windows" {
		for p, want := range map[string]os.FileMode{keyPath: 0o600, pubPath: 0o644, dir: 0o700} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got&^want != 0 {
				t.Errorf("%s has mode %04o, want at most %04o", p, got, want)
			}
		}
	}
	// A second run refuses to overwrite, and changes nothing.
	before, _ := os.ReadFile(keyPath)
	code, out, errOut = runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if after, _ := os.ReadFile(keyPath); string(after) != string(before) || !strings.Contains(errOut, "never overwritten") {
		t.Errorf("second keys gen: %q", errOut)
	}
	for _, bad := range [][]string{{"keys", "gen"}, {"keys", "gen", "--out", dir, "extra"}} {
		code, out, errOut := runCLI(t, bad...)
		wantCode(t, bad, code, exitUsage, out, errOut)
	}
	code, out, errOut = runCLI(t, "keys", "public", "--key", keyPath)
	wantCode(t, []string{"keys", "public", "--key"}, code, exitOK, out, errOut)
	if out != pub.String()+"\n" {
		t.Errorf("keys public --key printed %q", out)
	}
}

// genKeys runs 'keys gen' into a fresh directory and returns the key paths.
func genKeys(t *testing.T) (keyPath, pubPath string) {
	t.Helper()
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "keys", "gen", "--out", dir)
	wantCode(t, []string{"keys", "gen"}, code, exitOK, out, errOut)
	return filepath.Join(dir, "ziggy.key"), filepath.Join(dir, "ziggy.pub")
}

func TestSignVerifyCLI(t *testing.T) {
	keyPath, pubPath := genKeys(t)
	otherKey, otherPub := genKeys(t)
	dir := t.TempDir()
	msg := filepath.Join(dir, "report.csv")
	other := filepath.Join(dir, "other.csv")
	os.WriteFile(msg, []byte("t,value\n1,20.5\n"), 0o644)
	os.WriteFile(other, []byte("t,value\n1,20.6\n"), 0o644)

	for _, format := range []string{"binary", "hex", "base64"} {
		sig := filepath.Join(dir, "report."+format+".sig")
		args := []string{"zk", "sign", "--key", keyPath, "--in", msg, "--out", sig, "--format", format}
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		for _, w := range []string{"signature:", "128 bits", "zero knowledge"} {
			if !strings.Contains(out, w) {
				t.Errorf("sign output lacks %q:\n%s", w, out)
			}
		}
		args = []string{"zk", "verify", "--pub", pubPath, "--in", msg, "--sig", sig}
		code, out, errOut = runCLI(t, args...)
		wantCode(t, args, code, exitOK, out, errOut)
		if !strings.HasPrefix(out, "valid\n") {
			t.Errorf("%s: verify printed %q", format, out)
		}
		// Another message, another key: invalid, exit 1, with the reason.
		for _, bad := range [][]string{
			{"zk", "verify", "--pub", pubPath, "--in", other, "--sig", sig},
			{"zk", "verify", "--pub", otherPub, "--in", msg, "--sig", sig},
		} {
			code, out, errOut = runCLI(t, bad...)
			wantCode(t, bad, code, exitFail, out, errOut)
			if !strings.HasPrefix(out, "invalid: ") || strings.Contains(out, "valid\n") {
				t.Errorf("%v printed %q", bad, out)
			}
		}
	}

	// A damaged signature file and one that is not a signature at all.
	binSig := filepath.Join(dir, "report.binary.sig")
	data, _ := os.ReadFile(binSig)
	data[len(data)/2] ^= 0x10
	damaged := filepath.Join(dir, "damaged.sig")
	os.WriteFile(damaged, data, 0o644)
	garbage := filepath.Join(dir, "garbage.sig")
	os.WriteFile(garbage, []byte("not a signature"), 0o644)
	for _, sig := range []string{damaged, garbage, msg} {
		args := []string{"zk", "verify", "--pub", pubPath, "--in", msg, "--sig", sig}
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitFail, out, errOut)
		if !strings.HasPrefix(out, "invalid: ") {
			t.Errorf("%s: printed %q", sig, out)
		}
	}
	// The one-line public key of 'keys public' works as --pub.
	code, line, errOut := runCLI(t, "keys", "public", "--key", keyPath)
	wantCode(t, []string{"keys", "public"}, code, exitOK, line, errOut)
	linePub := filepath.Join(dir, "pk.txt")
	os.WriteFile(linePub, []byte(line), 0o644)
	args := []string{"zk", "verify", "--pub", linePub, "--in", msg, "--sig", binSig}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)

	// A private key given as --pub is explained, and missing files fail.
	for _, bad := range [][]string{
		{"zk", "verify", "--pub", otherKey, "--in", msg, "--sig", binSig},
		{"zk", "verify", "--pub", pubPath, "--in", filepath.Join(dir, "missing"), "--sig", binSig},
		{"zk", "verify", "--pub", pubPath, "--in", msg, "--sig", filepath.Join(dir, "missing")},
		{"zk", "sign", "--key", filepath.Join(dir, "missing.key"), "--in", msg, "--out", filepath.Join(dir, "x.sig")},
		{"zk", "sign", "--key", pubPath, "--in", msg, "--out", filepath.Join(dir, "x.sig")},
	} {
		code, out, errOut := runCLI(t, bad...)
		wantCode(t, bad, code, exitFail, out, errOut)
		if strings.Contains(out, "valid\n") || errOut == "" {
			t.Errorf("%v: stdout %q stderr %q", bad, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.sig")); err == nil {
		t.Error("a failed sign left a signature file")
	}
}

func TestSignToStdout(t *testing.T) {
	keyPath, pubPath := genKeys(t)
	dir := t.TempDir()
	msg := filepath.Join(dir, "m")
	os.WriteFile(msg, nil, 0o644) // the empty message
	args := []string{"zk", "sign", "--key", keyPath, "--in", msg, "--out", "-", "--format", "hex"}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	if !regexp.MustCompile(`^0x[0-9a-f]+\n$`).MatchString(out) || !strings.Contains(errOut, "signature:") {
		t.Fatalf("stdout %.40q…, stderr %q", out, errOut)
	}
	sig := filepath.Join(dir, "m.sig")
	os.WriteFile(sig, []byte(out), 0o644)
	args = []string{"zk", "verify", "--pub", pubPath, "--in", msg, "--sig", sig}
	code, out, errOut = runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
}

func TestSignVerifyUsageErrors(t *testing.T) {
	keyPath, pubPath := genKeys(t)
	dir := t.TempDir()
	msg := filepath.Join(dir, "m")
	os.WriteFile(msg, []byte("m"), 0o644)
	sig := filepath.Join(dir, "m.sig")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"zk", "sign", "--in", msg, "--out", sig}, "--key"},
		{[]string{"zk", "sign", "--key", keyPath, "--out", sig}, "--in"},
		{[]string{"zk", "sign", "--key", keyPath, "--in", msg}, "--out"},
		{[]string{"zk", "sign", "--key", keyPath, "--in", msg, "--out", sig, "--format", "pem"}, "--format"},
		{[]string{"zk", "sign", "--key", keyPath, "--in", msg, "--out", "-"}, "hex or base64"},
		{[]string{"zk", "sign", "--key", keyPath, "--in", msg, "--out", filepath.Join(dir, "no", "dir.sig")}, "does not exist"},
		{[]string{"zk", "sign", "--key", keyPath, "--in", msg, "--out", sig, "extra"}, "unexpected argument"},
		{[]string{"zk", "verify", "--in", msg, "--sig", sig}, "--pub"},
		{[]string{"zk", "verify", "--pub", pubPath, "--sig", sig}, "--in"},
		{[]string{"zk", "verify", "--pub", pubPath, "--in", msg}, "--sig"},
		{[]string{"zk", "verify", "--pub", pubPath, "--in", "-", "--sig", "-"}, "standard input"},
		{[]string{"zk", "verify", "--pub", pubPath, "--in", msg, "--sig", sig, "--min-bits", "0"}, "--min-bits"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		wantCode(t, tc.args, code, exitUsage, out, errOut)
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, tc.want)
		}
	}
}

// TestMessageSizeLimit: a message over 64 MiB is refused before any work
// (the file is sparse, so the test stays cheap).
func TestMessageSizeLimit(t *testing.T) {
	keyPath, pubPath := genKeys(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxMessageFile + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, args := range [][]string{
		{"zk", "sign", "--key", keyPath, "--in", big, "--out", filepath.Join(dir, "s")},
		{"zk", "verify", "--pub", pubPath, "--in", big, "--sig", filepath.Join(dir, "s")},
	} {
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitFail, out, errOut)
		if !strings.Contains(errOut, "64 MiB") {
			t.Errorf("%v: stderr %q", args[:2], errOut)
		}
	}
}

func TestBenchSig(t *testing.T) {
	args := []string{"bench", "sig", "--reps", "1", "--json"}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	var r bench.SigReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Results) != 3 {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	for i, name := range []string{"Ziggy", "Ed25519", "ML-DSA-65"} {
		if r.Results[i].Scheme != name || r.Results[i].SignMS <= 0 {
			t.Errorf("result %d: %+v", i, r.Results[i])
		}
	}
	args = []string{"bench", "sig", "--reps", "1"}
	code, out, errOut = runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	for _, w := range []string{"Ziggy options: blowup", "post-quantum", "ML-DSA-65", "Ed25519", "signature"} {
		if !strings.Contains(out, w) {
			t.Errorf("table lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(errOut, "bench sig: Ziggy") {
		t.Errorf("no progress on stderr: %q", errOut)
	}
	for _, bad := range [][]string{{"bench", "sig", "--reps", "0"}, {"bench", "sig", "--message-bytes", "-1"}, {"bench", "sig", "x"}} {
		code, out, errOut := runCLI(t, bad...)
		wantCode(t, bad, code, exitUsage, out, errOut)
	}
}
