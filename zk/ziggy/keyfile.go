package ziggy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// Key files are small JSON documents:
//
//	ziggy.key (mode 0600)
//	{
//	  "type": "datadragon/ziggy/private-key",
//	  "version": 1,
//	  "private_key": "0x<64 hex digits>",
//	  "public_key": ["0x…", "0x…", "0x…", "0x…"]
//	}
//
//	ziggy.pub
//	{
//	  "type": "datadragon/ziggy/public-key",
//	  "version": 1,
//	  "public_key": ["0x…", "0x…", "0x…", "0x…"]
//	}
//
// The private key file repeats the public key so that a damaged file is
// noticed: loading derives the public key again and compares.
const (
	PrivateKeyType = "datadragon/ziggy/private-key"
	PublicKeyType  = "datadragon/ziggy/public-key"
	keyFileVersion = 1
	// maxKeyFile bounds what the key file readers read.
	maxKeyFile = 64 << 10
)

type keyFile struct {
	Type       string    `json:"type"`
	Version    int       `json:"version"`
	PrivateKey string    `json:"private_key,omitempty"`
	PublicKey  *[]string `json:"public_key"`
}

func publicKeyStrings(pub PublicKey) *[]string {
	s := make([]string, PublicLen)
	for i, e := range pub.e {
		s[i] = formatElement(e)
	}
	return &s
}

// MarshalPrivateKeyFile returns the contents of a private key file.
func MarshalPrivateKeyFile(priv *PrivateKey) []byte {
	b, _ := json.MarshalIndent(keyFile{
		Type:       PrivateKeyType,
		Version:    keyFileVersion,
		PrivateKey: priv.privateKeyHex(),
		PublicKey:  publicKeyStrings(priv.pub),
	}, "", "  ")
	return append(b, '\n')
}

// MarshalPublicKeyFile returns the contents of a public key file.
func MarshalPublicKeyFile(pub PublicKey) []byte {
	b, _ := json.MarshalIndent(keyFile{
		Type:      PublicKeyType,
		Version:   keyFileVersion,
		PublicKey: publicKeyStrings(pub),
	}, "", "  ")
	return append(b, '\n')
}

// decodeKeyFile decodes either kind of key file strictly. Its errors never
// quote the file's contents.
func decodeKeyFile(data []byte) (*keyFile, error) {
	var f keyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("not a key file: invalid JSON at byte %d", se.Offset)
		}
		if strings.Contains(err.Error(), "unknown field") {
			return nil, errors.New("not a key file: unknown field")
		}
		return nil, errors.New("not a key file: a field has the wrong type")
	}
	if dec.More() {
		return nil, errors.New("not a key file: extra data after the JSON object")
	}
	switch f.Type {
	case PrivateKeyType, PublicKeyType:
	default:
		return nil, fmt.Errorf(`not a Ziggy key file: "type" must be %q or %q`, PrivateKeyType, PublicKeyType)
	}
	if f.Version != keyFileVersion {
		return nil, fmt.Errorf("key file version %d is not supported (this build reads version %d)", f.Version, keyFileVersion)
	}
	return &f, nil
}

func (f *keyFile) publicKey() (PublicKey, error) {
	if f.PublicKey == nil {
		return PublicKey{}, errors.New(`no "public_key"`)
	}
	return ParsePublicKey(strings.Join(*f.PublicKey, " "))
}

// ParsePrivateKeyFile decodes a private key file and checks that its
// public key matches the private key.
func ParsePrivateKeyFile(data []byte) (*PrivateKey, error) {
	f, err := decodeKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("ziggy: %w", err)
	}
	if f.Type != PrivateKeyType {
		return nil, errors.New("ziggy: this is a public key file; a private key file is needed")
	}
	priv, err := ParsePrivateKeyHex(f.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf(`ziggy: "private_key": %w`, err)
	}
	if f.PublicKey != nil {
		pub, err := f.publicKey()
		if err != nil {
			return nil, fmt.Errorf(`ziggy: "public_key": %w`, err)
		}
		if pub != priv.pub {
			return nil, errors.New("ziggy: the file's public key does not belong to its private key (the file is damaged)")
		}
	}
	return priv, nil
}

// ParsePublicKeyFile decodes a public key file. It also accepts the one-line
// form 'datadragon keys public' prints: four elements separated by spaces.
func ParsePublicKeyFile(data []byte) (PublicKey, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		pub, err := ParsePublicKey(string(t))
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w (expected a Ziggy public key file or four elements on one line)", err)
		}
		return pub, nil
	}
	f, err := decodeKeyFile(data)
	if err != nil {
		return PublicKey{}, fmt.Errorf("ziggy: %w", err)
	}
	if f.Type != PublicKeyType {
		return PublicKey{}, errors.New("ziggy: this is a private key file; give the public key file (ziggy.pub) instead")
	}
	pub, err := f.publicKey()
	if err != nil {
		return PublicKey{}, fmt.Errorf(`ziggy: "public_key": %w`, err)
	}
	return pub, nil
}

// readKeyFile reads at most maxKeyFile bytes of path.
func readKeyFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("ziggy: %s is larger than any key file (%d bytes)", path, maxKeyFile)
	}
	return b, nil
}

// LoadPrivateKey reads a private key file. Like ssh, it refuses a file
// that users other than its owner may read or write (on systems with Unix
// permissions).
func LoadPrivateKey(path string) (*PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("ziggy: private key file %s is accessible by other users (mode %04o); restrict it with 'chmod 600 %s'",
			path, fi.Mode().Perm(), path)
	}
	b, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	priv, err := ParsePrivateKeyFile(b)
	clear(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return priv, nil
}

// LoadPublicKey reads a public key file (or a one-line public key).
func LoadPublicKey(path string) (PublicKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return PublicKey{}, err
	}
	pub, err := ParsePublicKeyFile(b)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return pub, nil
}

// SavePrivateKey writes a private key file with mode 0600. It never
// replaces an existing file: it fails with an error wrapping fs.ErrExist.
func SavePrivateKey(path string, priv *PrivateKey) error {
	data := MarshalPrivateKeyFile(priv)
	defer clear(data)
	return writeNew(path, data, 0o600)
}

// SavePublicKey writes a public key file with mode 0644. It never replaces
// an existing file.
func SavePublicKey(path string, pub PublicKey) error {
	return writeNew(path, MarshalPublicKeyFile(pub), 0o644)
}

// writeNew creates path (which must not exist) with the given permissions,
// writes data and syncs it; on failure it removes what it created.
func writeNew(path string, data []byte, perm fs.FileMode) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	err = fh.Chmod(perm) // the umask may have taken bits away; never added
	if err == nil {
		_, err = fh.Write(data)
	}
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
