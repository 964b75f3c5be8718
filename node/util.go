package node

import (
	"bytes"
	"io"
	"strings"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func joinComma(s []string) string { return strings.Join(s, ",") }
