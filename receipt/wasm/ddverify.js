// DDVerify runs DataDragon's receipt verifier, compiled from its Go
// sources to WebAssembly, inside this page: the receipt, the genesis and
// the file never leave the browser, and no server is asked anything.
// Used by the explorer's verify and upload pages and by the standalone
// verifier page ('datadragon receipt verifier').
(function () {
  "use strict";
  let ready = null;

  async function gunzip(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // load starts the verifier once; getGz resolves to the gzipped program.
  function load(getGz) {
    if (!ready) {
      ready = (async () => {
        const wasm = await gunzip(await getGz());
        const go = new Go();
        const started = new Promise((resolve) => { window.datadragonVerifierReady = resolve; });
        const { instance } = await WebAssembly.instantiate(wasm, go.importObject);
        go.run(instance);
        await started;
      })();
      ready.catch(() => { ready = null; });
    }
    return ready;
  }

  // verify checks a receipt (Uint8Array) against a genesis (Uint8Array)
  // and optionally the data (Uint8Array or null); it resolves to the
  // verifier's answer plus ms, the time the check took.
  async function verify(receipt, genesis, data) {
    if (!ready) throw new Error("the verifier is not loaded");
    await ready;
    const t0 = performance.now();
    const out = JSON.parse(window.datadragonVerify(receipt, genesis, data || null));
    out.ms = performance.now() - t0;
    return out;
  }

  // build assembles the file receipt (.ddr bytes) of a JSON array of
  // chunks' receipts (Uint8Array), keeping the fewest signatures above the
  // threshold num/den.
  async function build(bundle, num, den) {
    if (!ready) throw new Error("the verifier is not loaded");
    await ready;
    const out = window.datadragonBuild(bundle, num, den);
    if (out && out.error) throw new Error(out.error);
    return out;
  }

  async function bytesOf(file) { return new Uint8Array(await file.arrayBuffer()); }

  async function sha256(bytes) {
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // The pinned genesis: the one the user gave last, kept in this
  // browser's storage, shown with its hash so the user knows what a
  // "valid" trusts.
  const PIN = "datadragon.genesis";
  function pinned() {
    try { const s = localStorage.getItem(PIN); return s ? JSON.parse(s) : null; } catch (e) { return null; }
  }
  function pin(g) { try { localStorage.setItem(PIN, JSON.stringify(g)); } catch (e) { /* storage off: not pinned */ } }
  function unpin() { try { localStorage.removeItem(PIN); } catch (e) { /* nothing pinned */ } }

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }

  // render returns the answer in words, as an element.
  function render(out, genesisName) {
    const box = h("div", { class: "dd-result " + (out.valid ? "dd-valid" : "dd-invalid"), "data-valid": String(!!out.valid), "data-link": out.link || "" });
    if (!out.valid) {
      box.append(h("p", { class: "dd-head" }, "invalid: broken link “" + (out.link || "receipt") + "”"), h("p", {}, out.error || ""));
    } else {
      const rs = out.records || [];
      box.append(h("p", { class: "dd-head" }, "valid — " + out.kind + " of " + rs.length + " chunk" + (rs.length === 1 ? "" : "s")));
      const bad = rs.filter((r) => !r.ok);
      box.append(h("p", { class: bad.length ? "dd-verdict-bad" : "dd-verdict-ok" }, bad.length
        ? "verdict: NOT OK for " + bad.length + " chunk(s): " + bad.map((r) => r.stream + "/" + r.index + " " + r.verdict).join("; ")
        : "verdict: ok for every chunk (every rule of the stream passed)"));
      box.append(h("p", {}, out.data_bytes < 0 ? "data: not checked (choose the file to check its bytes too; it is hashed in this page)"
        : out.whole ? "data: " + out.data_bytes + " bytes — every byte lies in exactly one chunk whose digest the chain accepted"
          : "data: " + out.data_bytes + " bytes — each chunk's bytes match its record, but the chunks do not cover the whole file"));
      for (const r of rs) {
        for (const j of r.judgements || []) {
          box.append(h("p", { class: j.dispute ? "dd-verdict-bad" : "" }, "expert: " + r.stream + "/" + r.index + (j.dispute ? " DISPUTED" : " endorsed") + " by " + j.expert.slice(0, 16) + "…" +
            (j.in_genesis ? " (one of the stream's experts in the genesis)" : " (a key the genesis does not list: only its signature is shown)") + (j.note ? ": “" + j.note + "”" : "")));
        }
      }
      if (rs.length) {
        const times = rs.map((r) => r.observed).sort();
        box.append(h("p", {}, "observed " + times[0] + (times.length > 1 ? " to " + times[times.length - 1] : "") + "; committed by " + rs[rs.length - 1].committed));
      }
      const tb = h("tbody", {});
      for (const r of rs.slice(0, 200)) {
        tb.append(h("tr", {}, h("td", {}, r.stream + "/" + r.index), h("td", {}, r.pushed ? "bytes " + r.offset + "–" + (r.offset + r.bytes) : "observed"),
          h("td", { class: "dd-mono" }, r.digest.slice(0, 16) + "…"), h("td", {}, r.verdict), h("td", {}, String(r.height)), h("td", {}, (r.attested_by || []).join(", "))));
      }
      box.append(h("table", { class: "dd-table" }, h("thead", {}, h("tr", {}, ...["chunk", "where", "digest", "verdict", "block", "attested by"].map((t) => h("th", {}, t)))), tb));
    }
    if (out.genesis_sha256) {
      box.append(h("p", { class: "dd-trust" }, "trusting the genesis " + (genesisName ? genesisName + " " : "") + "of chain " + out.chain_id + ", SHA-256 " + out.genesis_sha256));
    }
    if (out.ms != null) box.append(h("p", { class: "dd-time" }, "checked in this page in " + out.ms.toFixed(0) + " ms, with no server"));
    return box;
  }

  window.DDVerify = { load, verify, build, bytesOf, sha256, pinned, pin, unpin, render };
})();
