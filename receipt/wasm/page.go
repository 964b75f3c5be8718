package wasm

import (
	_ "embed"
	"encoding/base64"
	"io"
	"strings"
)

// DDVerifyJS is the page side of the verifier (DDVerify: load, verify,
// render, the pinned genesis), shared by the explorer and Page.
//
//go:embed ddverify.js
var DDVerifyJS []byte

//go:embed page.js
var pageJS []byte

const pageHead = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DataDragon receipt verifier</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}label{display:block;font-weight:600;margin-top:1rem}.help{color:#57606a;margin:.2rem 0}
button{margin-top:1rem;padding:.4rem 1rem;font:inherit}.dd-result{margin-top:1.5rem;padding:1rem;border-radius:6px;border:2px solid}
.dd-valid{border-color:#1a7f37;background:#f0fff4}.dd-invalid{border-color:#cf222e;background:#fff5f5}.dd-head{font-weight:700;font-size:1.1rem;margin:0}
.dd-verdict-bad{color:#cf222e;font-weight:700}.dd-table{border-collapse:collapse;font-size:13px}.dd-table td,.dd-table th{border:1px solid #d0d7de;padding:2px 6px;text-align:left}
.dd-mono{font-family:ui-monospace,monospace}.dd-trust,.dd-time{color:#57606a}
</style>
</head>
<body>
<h1>DataDragon receipt verifier</h1>
<p>Checks a receipt with DataDragon's own verifier, compiled to WebAssembly and contained in this file. It works offline, from <code>file://</code>; nothing you choose is sent anywhere.</p>
<form id="form">
<label for="receipt">Receipt</label><input id="receipt" type="file" accept=".ddr,.json">
<p class="help">FILE.ddr as <code>datadragon stream FILE</code> wrote it, or a chunk's JSON receipt.</p>
<label for="genesis">Trusted genesis</label><input id="genesis" type="file" accept=".json">
<p class="help" id="pinned"></p><button type="button" id="unpin" hidden>Forget the pinned genesis</button>
<label for="data">The file (optional)</label><input id="data" type="file">
<p class="help">Hashed in this page: every byte must lie in a chunk whose digest the chain accepted.</p>
<button type="submit" id="go" disabled>Verify</button>
</form>
<p id="status" role="status" aria-live="polite">Loading the verifier…</p>
<div id="result"></div>
<script type="application/octet-stream" id="verifier">
`

// Page writes the standalone verifier: one HTML file holding the
// compiled verifier (base64 of VerifierGz), Go's wasm_exec.js and the
// page's script, which works from file:// with no network.
func Page(w io.Writer) error {
	var b strings.Builder
	b.WriteString(pageHead)
	enc := base64.StdEncoding.EncodeToString(VerifierGz)
	for len(enc) > 0 {
		n := min(len(enc), 120)
		b.WriteString(enc[:n])
		b.WriteByte('\n')
		enc = enc[n:]
	}
	b.WriteString("</script>\n<script>\n")
	b.Write(ExecJS)
	b.WriteString("\n</script>\n<script>\n")
	b.Write(DDVerifyJS)
	b.WriteString("\n</script>\n<script>\n")
	b.Write(pageJS)
	b.WriteString("\n</script>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
