// The standalone verifier page: everything it needs is in this one file.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const status = $("status");
  function b64(s) {
    const bin = atob(s.replace(/\s+/g, ""));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function showPin() {
    const p = DDVerify.pinned();
    $("pinned").textContent = p ? "Pinned genesis: " + p.name + " (chain " + p.chain_id + ", SHA-256 " + p.sha256 + "). Choose another file to replace it." : "No genesis pinned yet: choose the network's genesis.json.";
    $("unpin").hidden = !p;
  }
  $("unpin").addEventListener("click", () => { DDVerify.unpin(); showPin(); });
  showPin();
  DDVerify.load(async () => b64($("verifier").textContent)).then(() => {
    status.textContent = "Verifier loaded. Nothing you choose leaves this page.";
    $("go").disabled = false;
  }, (e) => { status.textContent = "The verifier did not start: " + e.message; });
  $("form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const rf = $("receipt").files[0];
    if (!rf) { status.textContent = "Choose a receipt (FILE.ddr or a chunk's JSON receipt)."; return; }
    let g = null, gname = "";
    const gf = $("genesis").files[0];
    if (gf) {
      const gb = await DDVerify.bytesOf(gf);
      g = gb; gname = gf.name;
    } else if (DDVerify.pinned()) {
      const p = DDVerify.pinned();
      g = new TextEncoder().encode(p.text); gname = p.name + " (pinned)";
    } else { status.textContent = "Choose the network's genesis.json: the receipt is checked against it."; return; }
    const df = $("data").files[0];
    status.textContent = "Verifying…";
    const out = await DDVerify.verify(await DDVerify.bytesOf(rf), g, df ? await DDVerify.bytesOf(df) : null);
    if (gf && out.genesis_sha256) {
      DDVerify.pin({ name: gf.name, text: new TextDecoder().decode(g), chain_id: out.chain_id, sha256: out.genesis_sha256 });
      showPin();
    }
    const r = $("result");
    r.replaceChildren(DDVerify.render(out, gname));
    status.textContent = out.valid ? "Done." : "Done: the receipt does not verify.";
  });
})();
