package wasm

import (
	_ "embed"
)

// VerifierGz is the compiled verifier (js/main.go), gzipped; pages
// decompress it with the browser's DecompressionStream.
//
//go:embed verifier.wasm.gz
var VerifierGz []byte

// ExecJS is the Go release's wasm_exec.js, the glue the compiled program
// needs; it must come from the release that compiled VerifierGz.
//
//go:embed wasm_exec.js
var ExecJS []byte
