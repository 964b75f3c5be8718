package ziggy

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
)

// keyVector is one entry of ziggy_key_vectors in testdata/rescue-ethstark.json
// (a copy of the project's shared vector file).
type keyVector struct {
	PrivateKey     string   `json:"private_key"`
	SecretPreimage []string `json:"secret_preimage"`
	PublicKey      []string `json:"public_key"`
}

func loadKeyVectors(t testing.TB) []keyVector {
	t.Helper()
	raw, err := os.ReadFile("testdata/rescue-ethstark.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Derivation string      `json:"ziggy_key_derivation"`
		Vectors    []keyVector `json:"ziggy_key_vectors"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 || !strings.Contains(v.Derivation, keyDerivationTag) {
		t.Fatal("testdata holds no Ziggy key vectors")
	}
	return v.Vectors
}

func mustElement(t testing.TB, s string) field.Element {
	t.Helper()
	e, err := parseElement(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestKeyVectors(t *testing.T) {
	for i, v := range loadKeyVectors(t) {
		priv, err := ParsePrivateKeyHex(v.PrivateKey)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if len(v.SecretPreimage) != SecretLen || len(v.PublicKey) != PublicLen {
			t.Fatalf("vector %d has the wrong shape", i)
		}
		for j, s := range v.SecretPreimage {
			if got, want := priv.secret[j], mustElement(t, s); got != want {
				t.Errorf("vector %d: secret element %d = %s, want %s", i, j, formatElement(got), s)
			}
		}
		if got, want := priv.Public().String(), strings.Join(v.PublicKey, " "); got != want {
			t.Errorf("vector %d: public key %s, want %s", i, got, want)
		}
		// The public key is the Rescue hash of the preimage, and the seed
		// round-trips.
		if rescue.Hash(priv.secret) != priv.Public().Elements() {
			t.Errorf("vector %d: public key is not the hash of the secret", i)
		}
		seed, _ := hex.DecodeString(v.PrivateKey[2:])
		if !bytes.Equal(priv.Seed(), seed) {
			t.Errorf("vector %d: Seed() does not return the private key", i)
		}
		again, err := NewKeyFromSeed(seed)
		if err != nil || !again.Equal(priv) || again.Public() != priv.Public() {
			t.Errorf("vector %d: NewKeyFromSeed disagrees with ParsePrivateKeyHex", i)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	pub1, priv1, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub2, priv2, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if pub1 == pub2 || priv1.Equal(priv2) {
		t.Fatal("two generated keys are equal")
	}
	if priv1.Public() != pub1 {
		t.Fatal("GenerateKey returned a public key that is not the private key's")
	}
	// A reader that runs dry is an error, not a weak key.
	if _, _, err := GenerateKey(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("GenerateKey accepted 31 bytes of randomness")
	}
	// A given reader is used as is: deterministic keys for tests.
	seed := bytes.Repeat([]byte{7}, PrivateKeySize)
	pub, priv, err := GenerateKey(bytes.NewReader(seed))
	if err != nil || !bytes.Equal(priv.Seed(), seed) || pub != priv.Public() {
		t.Fatalf("GenerateKey from a fixed reader: %v", err)
	}
}

func TestPrivateKeyParsing(t *testing.T) {
	good := "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	for _, s := range []string{good, good[2:], strings.ToUpper(good[2:]), "0X" + good[2:], " " + good + "\n"} {
		if _, err := ParsePrivateKeyHex(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	secretish := "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g"
	for _, s := range []string{"", "0x", good[:65], good + "00", secretish, "0x" + strings.Repeat("zz", 32)} {
		_, err := ParsePrivateKeyHex(s)
		if err == nil {
			t.Errorf("%q accepted", s)
			continue
		}
		if len(s) > 8 && strings.Contains(err.Error(), s[2:10]) {
			t.Errorf("error %q repeats the key", err)
		}
	}
	if _, err := NewKeyFromSeed(make([]byte, 31)); err == nil {
		t.Error("NewKeyFromSeed accepted 31 bytes")
	}
}

func TestPublicKeyEncodings(t *testing.T) {
	pub, _, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := pub.Bytes()
	if len(b) != PublicKeySize {
		t.Fatalf("Bytes has %d bytes", len(b))
	}
	back, err := PublicKeyFromBytes(b)
	if err != nil || back != pub {
		t.Fatalf("PublicKeyFromBytes: %v", err)
	}
	text, _ := pub.MarshalText()
	var fromText PublicKey
	if err := fromText.UnmarshalText(text); err != nil || fromText != pub {
		t.Fatalf("text round trip: %v", err)
	}
	if NewPublicKey(pub.Elements()) != pub {
		t.Fatal("NewPublicKey(Elements()) differs")
	}
	// Non-canonical elements and wrong lengths are refused.
	bad := append([]byte(nil), b...)
	for i := range 8 {
		bad[i] = 0xff
	}
	if _, err := PublicKeyFromBytes(bad); err == nil {
		t.Error("non-canonical public key accepted")
	}
	if _, err := PublicKeyFromBytes(b[:31]); err == nil {
		t.Error("31-byte public key accepted")
	}
	for _, s := range []string{"", "0x1 0x2 0x3", "0x1 0x2 0x3 0x4 0x5", "0x1 0x2 0x3 0x2000001400000001", "0x1 0x2 0x3 nope"} {
		if _, err := ParsePublicKey(s); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", s)
		}
	}
	// JSON through MarshalText.
	j, err := json.Marshal(struct{ K PublicKey }{pub})
	if err != nil {
		t.Fatal(err)
	}
	var dst struct{ K PublicKey }
	if err := json.Unmarshal(j, &dst); err != nil || dst.K != pub {
		t.Fatalf("JSON round trip: %s, %v", j, err)
	}
}

// TestPrivateKeyNeverPrinted formats a private key every way a log line
// might and checks that no part of it appears.
func TestPrivateKeyNeverPrinted(t *testing.T) {
	_, priv, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{hex.EncodeToString(priv.seed[:]), priv.privateKeyHex()}
	for _, e := range priv.secret {
		secrets = append(secrets, formatElement(e), fmt.Sprint(e.Uint64()))
	}
	for i := range PrivateKeySize - 3 {
		secrets = append(secrets, fmt.Sprint(priv.seed[i:i+4])) // "[a b c d]"
	}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, priv), fmt.Sprintf(verb, *priv), fmt.Sprintf(verb, struct{ K *PrivateKey }{priv}))
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("key", "priv", priv)
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("key", "priv", priv)
	j, _ := json.Marshal(priv)
	outputs = append(outputs, logBuf.String(), string(j))
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("formatted private key %q contains secret material %q", out, s)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(priv), "redacted") {
		t.Errorf("fmt.Sprint(priv) = %q, want a placeholder", fmt.Sprint(priv))
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	pub, priv, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, pubPath := filepath.Join(dir, "ziggy.key"), filepath.Join(dir, "ziggy.pub")
	if err := SavePrivateKey(keyPath, priv); err != nil {
		t.Fatal(err)
	}
	if err := SavePublicKey(pubPath, pub); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(keyPath)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("private key file mode %04o, want 0600", fi.Mode().Perm())
		}
	}
	loaded, err := LoadPrivateKey(keyPath)
	if err != nil || !loaded.Equal(priv) || loaded.Public() != pub {
		t.Fatalf("LoadPrivateKey: %v", err)
	}
	loadedPub, err := LoadPublicKey(pubPath)
	if err != nil || loadedPub != pub {
		t.Fatalf("LoadPublicKey: %v", err)
	}
	// Never overwrite.
	if err := SavePrivateKey(keyPath, priv); !errors.Is(err, fs.ErrExist) {
		t.Errorf("SavePrivateKey over an existing file: %v", err)
	}
	if err := SavePublicKey(pubPath, pub); !errors.Is(err, fs.ErrExist) {
		t.Errorf("SavePublicKey over an existing file: %v", err)
	}
	// A private key file others can read is refused, with the fix.
	if runtime.GOOS != "windows" {
		if err := os.Chmod(keyPath, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPrivateKey(keyPath); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("LoadPrivateKey of a 0644 file: %v", err)
		}
		os.Chmod(keyPath, 0o600)
	}
	// Mixing up the two files is explained.
	if _, err := LoadPublicKey(keyPath); err == nil || !strings.Contains(err.Error(), "private key file") {
		t.Errorf("LoadPublicKey(private key file): %v", err)
	}
	if _, err := ParsePrivateKeyFile(MarshalPublicKeyFile(pub)); err == nil || !strings.Contains(err.Error(), "public key file") {
		t.Errorf("ParsePrivateKeyFile(public key file): %v", err)
	}
	// The one-line form of 'keys public' is a public key file too.
	line := filepath.Join(dir, "pk.txt")
	os.WriteFile(line, []byte(pub.String()+"\n"), 0o644)
	if got, err := LoadPublicKey(line); err != nil || got != pub {
		t.Errorf("one-line public key: %v", err)
	}
}

func TestKeyFileErrorsHideTheKey(t *testing.T) {
	_, priv, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	good := MarshalPrivateKeyFile(priv)
	keyHex := priv.privateKeyHex()
	_, other, _ := GenerateKey(nil)
	var f map[string]any
	json.Unmarshal(good, &f)
	variant := func(change func(map[string]any)) []byte {
		m := map[string]any{}
		for k, v := range f {
			m[k] = v
		}
		change(m)
		b, _ := json.Marshal(m)
		return b
	}
	cases := map[string][]byte{
		"truncated":      good[:len(good)/2],
		"not json":       []byte(keyHex),
		"extra field":    variant(func(m map[string]any) { m["comment"] = keyHex }),
		"wrong type":     variant(func(m map[string]any) { m["type"] = "ed25519" }),
		"version 2":      variant(func(m map[string]any) { m["version"] = 2 }),
		"short key":      variant(func(m map[string]any) { m["private_key"] = keyHex[:40] }),
		"bad digit":      variant(func(m map[string]any) { m["private_key"] = keyHex[:65] + "g" }),
		"number key":     variant(func(m map[string]any) { m["private_key"] = 12345 }),
		"other pub":      variant(func(m map[string]any) { m["public_key"] = *publicKeyStrings(other.Public()) }),
		"bad pub":        variant(func(m map[string]any) { m["public_key"] = []string{"x"} }),
		"trailing data":  append(append([]byte(nil), good...), good...),
		"empty":          nil,
		"json array":     []byte(`[]`),
		"public as priv": MarshalPublicKeyFile(priv.Public()),
	}
	for name, data := range cases {
		_, err := ParsePrivateKeyFile(data)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), keyHex[2:18]) {
			t.Errorf("%s: error %q quotes the private key", name, err)
		}
	}
	// The file without its public key still loads (it is derived).
	noPub := variant(func(m map[string]any) { delete(m, "public_key") })
	if got, err := ParsePrivateKeyFile(noPub); err != nil || !got.Equal(priv) {
		t.Errorf("private key file without public_key: %v", err)
	}
}
