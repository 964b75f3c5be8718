package api

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// maxPEMFile bounds a certificate or key file read by LoadTLS.
const maxPEMFile = 1 << 20

// LoadTLS reads a certificate chain and its private key (PEM files, the
// leaf first, as any CA or openssl writes them) and returns the settings
// to serve them with: TLS 1.2 at least, TLS 1.3 preferred (Go negotiates
// the highest version both sides support). Its errors name the file and
// what is wrong with it: missing, not PEM, not a certificate, expired, or
// a key that does not belong to the certificate.
//
// Set the result as an http.Server's TLSConfig and serve with
// ServeTLS(listener, "", ""). The files are read once: a renewed
// certificate takes effect when the server is restarted.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, errors.New("no TLS certificate or key file given")
	case certFile == "":
		return nil, fmt.Errorf("TLS key %s is given without its certificate", keyFile)
	case keyFile == "":
		return nil, fmt.Errorf("TLS certificate %s is given without its private key", certFile)
	}
	certPEM, err := readPEMFile(certFile, "certificate")
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEMFile(keyFile, "private key")
	if err != nil {
		return nil, err
	}
	// Check the certificate alone first, so its errors are not blamed on
	// the key.
	var leaf *x509.Certificate
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			if leaf == nil && (b.Type == "PRIVATE KEY" || b.Type == "EC PRIVATE KEY" || b.Type == "RSA PRIVATE KEY") {
				return nil, fmt.Errorf("TLS certificate %s holds a private key, not a certificate (were the certificate and key files swapped?)", certFile)
			}
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate %s: a CERTIFICATE block does not parse: %v", certFile, err)
		}
		if leaf == nil {
			leaf = c
		}
	}
	if leaf == nil {
		return nil, fmt.Errorf("TLS certificate %s holds no PEM CERTIFICATE block", certFile)
	}
	if now := time.Now(); now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("TLS certificate %s expired on %s: renew it", certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("TLS private key %s does not fit certificate %s: %v", keyFile, certFile, err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
	}, nil
}

// pathErr drops the path an fs.PathError repeats: the callers name it.
func pathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// readPEMFile reads a PEM file of bounded size; what says what it should
// hold, for the errors.
func readPEMFile(path, what string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("TLS %s %s: %w", what, path, pathErr(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("TLS %s %s is not a regular file", what, path)
	}
	if st.Size() > maxPEMFile {
		return nil, fmt.Errorf("TLS %s %s is larger than %d bytes: is it a PEM file?", what, path, maxPEMFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("TLS %s %s: %w", what, path, pathErr(err))
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("TLS %s %s is empty", what, path)
	}
	return b, nil
}
