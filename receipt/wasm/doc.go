// Package wasm is the receipt verifier for the browser: the project's own
// Go verifier (packages receipt and receipt/ddr) compiled to WebAssembly,
// so a page can check a receipt with no server — a user checking a node's
// claim must not have to ask that node.
//
// verifier.Check is what the WebAssembly program runs (js/main.go exposes it as
// the page function datadragonVerify); it is ordinary Go, tested natively.
// The compiled program is committed, gzipped, as verifier.wasm.gz with
// Go's wasm_exec.js, so a clean checkout builds without a WebAssembly
// toolchain step; 'go generate ./receipt/wasm' rebuilds both, and
// TestCompiledVerifierIsCurrent fails when the sources changed since (the
// stamp file holds their hash). Page writes the self-contained HTML
// verifier of 'datadragon receipt verifier'; the explorer serves the same
// files for its verify page.
package wasm
