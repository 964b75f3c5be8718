//go:build js

// Command js is the browser's receipt verifier: it exposes
// datadragonVerify(receipt, genesis, data) to the page, each argument a
// Uint8Array (data may be null), answering verifier.Check's result as JSON,
// and datadragonBuild, which assembles a file receipt (verifier.Build).
package main

import (
	"encoding/json"
	"syscall/js"

	"github.com/datadragon/datadragon/receipt/wasm/verifier"
)

func bytesOf(v js.Value) []byte {
	if v.IsNull() || v.IsUndefined() {
		return nil
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func main() {
	js.Global().Set("datadragonVerify", js.FuncOf(func(_ js.Value, args []js.Value) any {
		for len(args) < 3 {
			args = append(args, js.Null())
		}
		res := verifier.Check(bytesOf(args[0]), bytesOf(args[1]), bytesOf(args[2]))
		out, _ := json.Marshal(res)
		return string(out)
	}))
	// datadragonBuild(bundle, numerator, denominator) answers the file
	// receipt's bytes (a Uint8Array) or {error}.
	js.Global().Set("datadragonBuild", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) < 3 {
			return map[string]any{"error": "datadragonBuild(bundle, numerator, denominator)"}
		}
		b, err := verifier.Build(bytesOf(args[0]), uint64(args[1].Int()), uint64(args[2].Int()))
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		out := js.Global().Get("Uint8Array").New(len(b))
		js.CopyBytesToJS(out, b)
		return out
	}))
	if cb := js.Global().Get("datadragonVerifierReady"); cb.Type() == js.TypeFunction {
		cb.Invoke()
	}
	select {}
}
