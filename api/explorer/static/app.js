// DataDragon explorer: a single page over the node's JSON API (/v1) and
// its WebSocket feed, routed by the URL fragment. Plain JavaScript, no
// dependencies; every DOM node is built with el(), never from HTML
// strings, so nothing the API returns is ever parsed as markup.
"use strict";

(function () {
  const POLL_MS = 1000;        // dashboard refresh
  const RECORD_POLL_MS = 2000; // refresh of a record until it settles, and the feed's fallback
  const FEED_KEEP = 200;       // records kept in a stream's live list
  const HISTORY = 60;          // samples kept for rates and sparklines

  const $main = document.getElementById("main");
  const $conn = document.getElementById("conn");

  // --- helpers ------------------------------------------------------------

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const k of kids.flat()) {
      if (k === undefined || k === null || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  const enc = encodeURIComponent;
  const fmtInt = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));
  const short = (hex, n) => (!hex ? "—" : hex.length <= 2 * (n || 8) ? hex : hex.slice(0, n || 8) + "…" + hex.slice(-4));
  const pct = (a, b) => (b > 0 ? ((100 * a) / b).toFixed(1) + " %" : "—");

  function fmtTime(t) {
    if (!t) return "—";
    const d = new Date(t);
    if (isNaN(d)) return String(t);
    return d.toISOString().replace("T", " ").replace("Z", " UTC");
  }

  function hexCell(hex, n) {
    return el("span", { class: "mono", title: hex || "" }, short(hex, n));
  }

  function outcomeBadge(o) {
    const cls = { agreed: "ok", accepted: "ok", ok: "ok", faulty: "bad", equivocated: "bad", disputed: "bad",
      absent: "warn", gap: "warn", pending: "warn", none: "" }[o] || "";
    return el("span", { class: "badge " + cls }, o || "—");
  }

  class HTTPError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }

  let connOK = false;
  async function api(path) {
    let res;
    try {
      res = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
    } catch (e) {
      connOK = false;
      setConn(false, "node unreachable — retrying");
      throw new HTTPError(0, "cannot reach the node (" + e.message + ")");
    }
    if (!connOK) { connOK = true; setConn(true, "connected"); }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      throw new HTTPError(res.status, (body && body.error) || res.status + " " + res.statusText);
    }
    return body;
  }

  function setConn(ok, text) {
    if ($conn.textContent !== text) $conn.textContent = text; // a live region: announce changes only
    $conn.classList.toggle("bad", !ok);
  }

  // swap replaces box's content, keeping keyboard focus on the same link
  // or control if it was inside (the dashboard redraws every second).
  function swap(box, ...nodes) {
    const a = document.activeElement;
    let key = null;
    if (a && a !== box && box.contains(a)) {
      if (a.id) key = "#" + CSS.escape(a.id);
      else if (a.getAttribute("href")) key = '[href="' + CSS.escape(a.getAttribute("href")) + '"]';
    }
    box.replaceChildren(...nodes);
    if (key) { const n = box.querySelector(key); if (n) n.focus(); }
  }

  function errorBox(e) {
    const msg = e.status === 503 ? "The chain is not initialised yet; retrying." : e.message;
    return el("p", { class: "err", role: "alert" }, msg);
  }

  // --- per-view lifetime: timers and sockets are torn down on navigation --

  let view = null;
  function newView() {
    if (view) view.stop();
    const v = {
      alive: true, timers: [], sockets: [],
      stop() {
        this.alive = false;
        this.timers.forEach(clearTimeout);
        this.sockets.forEach((s) => { try { s.close(1000, "navigated away"); } catch (e) { /* closed */ } });
      },
      // every(fn, ms): run fn now and again ms after each run ends.
      every(fn, ms) {
        const tick = async () => {
          if (!this.alive) return;
          try { await fn(); } catch (e) { /* fn reports its own errors */ }
          if (this.alive) this.timers.push(setTimeout(tick, ms));
        };
        tick();
      },
    };
    view = v;
    return v;
  }

  function page(title, ...kids) {
    document.title = title + " · DataDragon explorer";
    const h1 = el("h1", { tabindex: "-1" }, title);
    $main.replaceChildren(h1, ...kids);
    return h1;
  }

  // --- live samples, kept across views so sparklines survive navigation ---

  const samples = []; // {t, height, accepted: {stream: n}}

  function addSample(status, streams) {
    const s = { t: performance.now(), height: status.height, accepted: {} };
    for (const st of streams) s.accepted[st.id] = st.accepted + st.disputed;
    samples.push(s);
    if (samples.length > HISTORY) samples.shift();
  }

  function blockRate() {
    if (samples.length < 2) return null;
    const a = samples[Math.max(0, samples.length - 11)], b = samples[samples.length - 1];
    const dt = (b.t - a.t) / 1000;
    return dt > 0 ? (b.height - a.height) / dt : null;
  }

  // per-second decided-record rates of a stream, one per sample interval
  function streamRates(id) {
    const out = [];
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1], b = samples[i];
      const dt = (b.t - a.t) / 1000;
      if (dt > 0 && a.accepted[id] !== undefined && b.accepted[id] !== undefined) {
        out.push(Math.max(0, b.accepted[id] - a.accepted[id]) / dt);
      }
    }
    return out;
  }

  function sparkline(values, label) {
    const c = el("canvas", { class: "spark", width: 160, height: 32, role: "img", "aria-label": label });
    const ctx = c.getContext("2d");
    if (!ctx) return c;
    const dpr = window.devicePixelRatio || 1;
    c.width = 160 * dpr; c.height = 32 * dpr;
    ctx.scale(dpr, dpr);
    const style = getComputedStyle(document.documentElement);
    const line = style.getPropertyValue("--accent").trim() || "#1d4ed8";
    const base = style.getPropertyValue("--line").trim() || "#ccc";
    ctx.strokeStyle = base; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(0, 31.5); ctx.lineTo(160, 31.5); ctx.stroke();
    if (values.length < 2) return c;
    const max = Math.max(...values, 1e-9);
    const step = 160 / (HISTORY - 2);
    const x0 = 160 - step * (values.length - 1);
    ctx.strokeStyle = line; ctx.lineWidth = 1.5; ctx.beginPath();
    values.forEach((v, i) => {
      const x = x0 + i * step, y = 30 - (v / max) * 27;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
    return c;
  }

  // --- dashboard ----------------------------------------------------------

  function dashboard(v) {
    const statsBox = el("div", {}, el("p", { class: "muted" }, "Reading the node…"));
    const valBox = el("div");
    const streamBox = el("div");
    page("Network", statsBox,
      el("h2", { id: "validators-h" }, "Validators"), valBox,
      el("h2", { id: "streams-h" }, "Streams"), streamBox);

    v.every(async () => {
      let status, vals, streams;
      try {
        [status, vals, streams] = await Promise.all([api("/v1/status"), api("/v1/validators"), api("/v1/streams")]);
      } catch (e) {
        setConn(false, e.status === 503 ? "waiting for the chain" : "node unreachable — retrying");
        swap(statsBox, errorBox(e));
        return;
      }
      if (!v.alive) return;
      setConn(true, "live · " + (status.node.moniker || "node") + " · " + status.chain_id);
      addSample(status, streams.streams);
      const rate = blockRate();
      const th = status.threshold;
      swap(statsBox, el("dl", { class: "stats" },
        stat("Height", el("a", { href: "#/blocks/" + status.height, id: "height" }, fmtInt(status.height))),
        stat("Block rate", rate === null ? "measuring…" : rate.toFixed(2) + " /s", "block-rate"),
        stat("Validators", fmtInt(status.validators)),
        stat("Total power", fmtInt(status.total_power)),
        stat("Threshold", "> " + th.numerator + "/" + th.denominator + " of power"),
        stat("Last block", fmtTime(status.time), null, true)));
      swap(valBox, validatorTable(vals.validators));
      swap(streamBox, streamTable(streams.streams));
    }, POLL_MS);
  }

  function stat(label, value, id, small) {
    return el("div", { class: "stat" }, el("dt", {}, label), el("dd", { id: id, class: small ? "small" : null }, value));
  }

  function validatorTable(vals) {
    const total = vals.reduce((s, x) => s + x.power, 0);
    return el("div", { class: "scroll" }, el("table", { id: "validators" },
      el("caption", {}, "Counts are over settled chunks. Faulty: attested a digest other than the accepted one."),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Validator"), el("th", { scope: "col" }, "Address"),
        el("th", { scope: "col", class: "num" }, "Power"), el("th", { scope: "col", class: "num" }, "Attested"),
        el("th", { scope: "col", class: "num" }, "Agreed"), el("th", { scope: "col", class: "num" }, "Faulty"),
        el("th", { scope: "col", class: "num" }, "Absent"), el("th", { scope: "col", class: "num" }, "Equivocations"),
        el("th", { scope: "col", class: "num" }, "Gaps"), el("th", { scope: "col", class: "num" }, "Late"),
        el("th", { scope: "col" }, "Health"))),
      el("tbody", {}, vals.map((x) => {
        const bad = x.faulty + x.equivocations;
        const health = bad > 0 ? outcomeBadge("faulty") : x.absent > 0 ? el("span", { class: "badge warn" }, "absences")
          : el("span", { class: "badge ok" }, "good");
        return el("tr", {},
          el("th", { scope: "row" }, x.name || "#" + x.index), el("td", {}, hexCell(x.address)),
          el("td", { class: "num" }, fmtInt(x.power) + " (" + pct(x.power, total) + ")"),
          el("td", { class: "num" }, fmtInt(x.attested)), el("td", { class: "num" }, fmtInt(x.agreed)),
          el("td", { class: "num" }, fmtInt(x.faulty)), el("td", { class: "num" }, fmtInt(x.absent)),
          el("td", { class: "num" }, fmtInt(x.equivocations)), el("td", { class: "num" }, fmtInt(x.gaps)),
          el("td", { class: "num" }, fmtInt(x.late)), el("td", {}, health));
      }))));
  }

  function streamTable(streams) {
    if (streams.length === 0) return el("p", { class: "muted" }, "No streams registered.");
    return el("div", { class: "scroll" }, el("table", { id: "streams" },
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Stream"), el("th", { scope: "col" }, "Source"),
        el("th", { scope: "col" }, "Chunks"), el("th", { scope: "col", class: "num" }, "Accepted"),
        el("th", { scope: "col", class: "num" }, "Disputed"), el("th", { scope: "col", class: "num" }, "Last index"),
        el("th", { scope: "col" }, "Decided per second"))),
      el("tbody", {}, streams.map((s) => {
        const rates = streamRates(s.id);
        const now = rates.length ? rates.slice(-5).reduce((a, b) => a + b, 0) / Math.min(5, rates.length) : null;
        return el("tr", {},
          el("th", { scope: "row" }, el("a", { href: "#/streams/" + enc(s.id) }, s.id)),
          el("td", { class: "mono" }, s.source),
          el("td", {}, chunkPolicy(s.chunk)),
          el("td", { class: "num" }, fmtInt(s.accepted)), el("td", { class: "num" }, fmtInt(s.disputed)),
          el("td", { class: "num" }, s.last_index === null ? "—"
            : el("a", { href: "#/records/" + enc(s.id) + "/" + s.last_index }, fmtInt(s.last_index))),
          el("td", {}, el("div", { class: "row" },
            sparkline(rates, "records decided per second over the last minute, stream " + s.id),
            el("span", { class: "mono" }, now === null ? "…" : now.toFixed(2)))));
      }))));
  }

  function chunkPolicy(c) {
    if (!c) return "—";
    if (c.messages) return "every " + c.messages + " messages";
    if (c.window_ms) return c.window_ms + " ms windows";
    return "—";
  }

  // --- stream view: live feed ---------------------------------------------

  function streamView(v, id) {
    const info = el("div", {}, el("p", { class: "muted" }, "Reading the stream…"));
    const mode = el("p", { class: "muted", id: "feed-mode", role: "status" }, "connecting to the live feed…");
    const tbody = el("tbody");
    const list = el("div", { class: "scroll" }, el("table", { id: "records" },
      el("caption", {}, "Newest first; up to " + FEED_KEEP + " records."),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", class: "num" }, "Index"), el("th", { scope: "col" }, "Status"),
        el("th", { scope: "col" }, "Digest"), el("th", { scope: "col" }, "Timestamp"),
        el("th", { scope: "col", class: "num" }, "Power"), el("th", { scope: "col", class: "num" }, "Block"))),
      tbody));
    page("Stream " + id, el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Network"), " › stream"),
      info, el("h2", {}, "Records as they are decided"), mode, list);

    const recs = new Map();
    let maxIndex = -1;
    let first = true;
    function add(r, live) {
      if (recs.has(r.index) && recs.get(r.index).status === r.status) return false;
      recs.set(r.index, Object.assign({}, r, { live: live && !first }));
      if (r.index > maxIndex) maxIndex = r.index;
      return true;
    }
    function render() {
      const idx = [...recs.keys()].sort((a, b) => b - a);
      for (const i of idx.slice(FEED_KEEP)) recs.delete(i);
      swap(tbody, ...idx.slice(0, FEED_KEEP).map((i) => {
        const r = recs.get(i);
        const row = el("tr", { class: r.live ? "new" : null },
          el("td", { class: "num" }, el("a", { href: "#/records/" + enc(id) + "/" + r.index }, fmtInt(r.index))),
          el("td", {}, outcomeBadge(r.status)),
          el("td", {}, hexCell(r.digest)), el("td", {}, fmtTime(r.timestamp)),
          el("td", { class: "num" }, r.power + " / " + r.total_power),
          el("td", { class: "num" }, r.height ? el("a", { href: "#/blocks/" + r.height }, fmtInt(r.height)) : "—"));
        r.live = false;
        return row;
      }));
      if (idx.length === 0) tbody.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No records decided yet.")));
    }

    async function pageFrom(from) {
      const p = await api("/v1/streams/" + enc(id) + "/records?from=" + from + "&limit=100");
      let changed = false;
      for (const r of p.records) changed = add(r, true) || changed;
      return { changed, next: p.next };
    }

    // Polling fallback: page from just after the newest index we have.
    function poll() {
      mode.textContent = "live feed unavailable; polling every " + RECORD_POLL_MS / 1000 + " s";
      v.every(async () => {
        try {
          let from = maxIndex + 1, changed = false;
          for (let n = 0; n < 10; n++) {
            const r = await pageFrom(from);
            changed = r.changed || changed;
            if (r.next === null) break;
            from = r.next;
          }
          if (changed && v.alive) render();
        } catch (e) { /* keep polling */ }
      }, RECORD_POLL_MS);
    }

    (async () => {
      let s;
      try {
        s = await api("/v1/streams/" + enc(id));
      } catch (e) {
        info.replaceChildren(errorBox(e));
        mode.textContent = "";
        return;
      }
      if (!v.alive) return;
      info.replaceChildren(el("dl", { class: "stats" },
        stat("Accepted", fmtInt(s.accepted), "stream-accepted"), stat("Disputed", fmtInt(s.disputed)),
        stat("Last index", s.last_index === null ? "—" : fmtInt(s.last_index)),
        stat("Chunks", chunkPolicy(s.chunk), null, true), stat("Source", s.source, null, true)));
      // Connect first, then read the newest page, so nothing falls between.
      let ws = null;
      if ("WebSocket" in window) {
        try {
          const u = new URL("/v1/streams/" + enc(id) + "/feed", location.href);
          u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
          ws = new WebSocket(u.href);
          v.sockets.push(ws);
        } catch (e) { ws = null; }
      }
      const start = s.last_index === null ? 0 : Math.max(0, s.last_index - 49);
      try { await pageFrom(start); } catch (e) { /* the feed or the poll fills in */ }
      first = false;
      if (!v.alive) return;
      render();
      if (!ws) { poll(); return; }
      let opened = false;
      ws.addEventListener("open", () => { opened = true; mode.textContent = "live: WebSocket feed connected"; });
      ws.addEventListener("message", (ev) => {
        try { if (add(JSON.parse(ev.data), true)) render(); } catch (e) { /* ignore a malformed message */ }
      });
      ws.addEventListener("close", (ev) => {
        if (!v.alive) return;
        mode.textContent = "feed closed (" + ev.code + (ev.reason ? ": " + ev.reason : "") + ")";
        poll();
      });
      if (ws.readyState === WebSocket.OPEN && !opened) mode.textContent = "live: WebSocket feed connected";
    })();
  }

  // --- record view --------------------------------------------------------

  function recordView(v, stream, index) {
    const body = el("div", {}, el("p", { class: "muted" }, "Reading the record…"));
    page("Record " + stream + " / " + index,
      el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Network"), " › ",
        el("a", { href: "#/streams/" + enc(stream) }, "stream " + stream), " › record"),
      el("div", { class: "pager" },
        index > 0 ? el("a", { class: "btn", href: "#/records/" + enc(stream) + "/" + (index - 1) }, "← index " + (index - 1)) : null,
        el("a", { class: "btn", href: "#/records/" + enc(stream) + "/" + (index + 1) }, "index " + (index + 1) + " →")),
      body);
    let threshold = null;
    v.every(async () => {
      let r;
      try {
        if (!threshold) threshold = (await api("/v1/status")).threshold;
        r = await api("/v1/records/" + enc(stream) + "/" + index);
      } catch (e) {
        body.replaceChildren(errorBox(e));
        if (e.status === 404) v.stop();
        return;
      }
      if (!v.alive) return;
      swap(body, ...recordBody(r, threshold));
      if (r.status !== "pending" && r.settled) v.stop(); // nothing more will change
    }, RECORD_POLL_MS);
  }

  function recordBody(r, th) {
    const accepted = r.status === "accepted";
    const receipt = "/v1/receipts/" + enc(r.stream) + "/" + r.index;
    const facts = el("dl", { class: "kv" },
      el("dt", {}, "Status"), el("dd", {}, outcomeBadge(r.status), r.settled ? " settled" : " not settled yet"),
      el("dt", {}, "Digest"), el("dd", { class: "mono break", id: "digest" }, r.digest || "—"),
      el("dt", {}, "Verdict"), el("dd", {}, r.verdict || "—"),
      el("dt", {}, "Timestamp"), el("dd", {}, fmtTime(r.timestamp), r.timestamp_ms ? el("span", { class: "muted" }, " (" + r.timestamp_ms + " ms)") : null),
      el("dt", {}, "Decided in block"), el("dd", {}, r.height ? el("a", { href: "#/blocks/" + r.height }, fmtInt(r.height)) : "— (pending)"),
      el("dt", {}, "First attested in"), el("dd", {}, r.first_height ? el("a", { href: "#/blocks/" + r.first_height }, fmtInt(r.first_height)) : "—"),
      el("dt", {}, "Leaf hash"), el("dd", { class: "mono break" }, r.leaf_hash || "—"));
    const dl = accepted
      ? el("p", {}, el("a", { class: "btn primary", href: receipt, download: "receipt-" + r.stream + "-" + r.index + ".json", id: "receipt" }, "Download receipt"),
        " ", el("span", { class: "muted" }, "Check it offline with "), el("code", {}, "datadragon verify"),
        el("span", { class: "muted" }, "; it exists once the block after the deciding one is committed."))
      : null;
    return [el("div", { class: "two" }, el("div", { class: "card" }, facts), analysis(r, th)), dl,
      el("h2", { id: "results-h" }, "Validation results"), attestationTable(r)];
  }

  // The 51 % analysis: power behind each digest against the threshold.
  function analysis(r, th) {
    const total = r.total_power || 0;
    const num = th ? th.numerator : 1, den = th ? th.denominator : 2;
    const groups = new Map();
    const count = { valid: 0, faulty: 0, absent: 0, other: 0 };
    for (const a of r.attestations) {
      if (a.outcome === "agreed") count.valid++;
      else if (a.outcome === "faulty" || a.outcome === "equivocated") count.faulty++;
      else if (a.outcome === "absent") count.absent++;
      else count.other++;
      if (!a.digest) continue;
      const g = groups.get(a.digest) || { power: 0, names: [] };
      g.power += a.power; g.names.push(a.name || short(a.validator));
      groups.set(a.digest, g);
    }
    const agreeing = r.status === "accepted" ? r.power : Math.max(0, ...[...groups.values()].map((g) => g.power));
    const need = total * num / den;
    const fill = el("div", { class: "fill" + (agreeing > need ? "" : " bad") });
    fill.style.width = (total ? Math.min(100, (100 * agreeing) / total) : 0) + "%";
    const mark = el("div", { class: "mark", title: "threshold" });
    mark.style.left = (100 * num / den) + "%";
    const verdict = r.status === "accepted"
      ? "Accepted: " + fmtInt(agreeing) + " of " + fmtInt(total) + " power (" + pct(agreeing, total) + ") agreed, more than " + num + "/" + den + "."
      : r.status === "disputed"
        ? "Disputed: no digest held more than " + num + "/" + den + " of the power; the largest had " + pct(agreeing, total) + "."
        : "Pending: the largest digest so far has " + pct(agreeing, total) + " of the power; more than " + num + "/" + den + " is needed.";
    return el("section", { class: "card", "aria-labelledby": "analysis-h" },
      el("h2", { id: "analysis-h" }, "Majority analysis"),
      el("div", { class: "meter", role: "img", "aria-label": "agreeing power " + pct(agreeing, total) + ", threshold " + pct(num, den) }, fill, mark),
      el("p", { id: "analysis" }, verdict),
      el("dl", { class: "kv" },
        el("dt", {}, "Power agreeing / total"), el("dd", {}, fmtInt(agreeing) + " / " + fmtInt(total)),
        el("dt", {}, "Valid nodes (agreed)"), el("dd", { id: "count-valid" }, String(count.valid)),
        el("dt", {}, "Faulty nodes"), el("dd", { id: "count-faulty" }, String(count.faulty)),
        el("dt", {}, "Absent nodes"), el("dd", {}, String(count.absent) + (r.settled ? "" : " (listed once settled)")),
        count.other ? el("dt", {}, "Other (attested, gap, not heard)") : null, count.other ? el("dd", {}, String(count.other)) : null),
      groups.size > 1 ? el("div", {}, el("h3", {}, "Digests attested"), el("ul", {}, [...groups.entries()]
        .sort((a, b) => b[1].power - a[1].power)
        .map(([d, g]) => el("li", {}, hexCell(d), ": power " + g.power + " (" + pct(g.power, total) + ") — " + g.names.join(", "))))) : null);
  }

  function attestationTable(r) {
    const rows = r.attestations.map((a) => el("tr", {},
      el("th", { scope: "row" }, a.name || "—", " ", hexCell(a.validator, 6)),
      el("td", { class: "num" }, fmtInt(a.power)),
      el("td", {}, hexCell(a.digest), a.digest && r.digest ? (a.digest === r.digest ? " ✓" : " ≠") : null),
      el("td", {}, fmtTime(a.time), a.late ? el("span", { class: "badge warn" }, "late") : null),
      el("td", {}, a.verdict || "—"),
      el("td", {}, a.digest ? (a.signature_ok ? el("span", { class: "badge ok" }, "valid") : el("span", { class: "badge bad" }, "invalid")) : "—"),
      el("td", {}, outcomeBadge(a.outcome)),
      el("td", { class: "num" }, a.included_height ? el("a", { href: "#/blocks/" + a.included_height }, fmtInt(a.included_height)) : "—")));
    if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No attestations yet.")));
    return el("div", { class: "scroll" }, el("table", { id: "attestations" },
      el("caption", {}, "Every validator's attestation of this chunk. ✓ matches the accepted digest, ≠ differs. Signature: the Ziggy signature over the vote extension that carried it."),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Validator"), el("th", { scope: "col", class: "num" }, "Power"),
        el("th", { scope: "col" }, "Digest"), el("th", { scope: "col" }, "Observed at"),
        el("th", { scope: "col" }, "Verdict"), el("th", { scope: "col" }, "Signature"),
        el("th", { scope: "col" }, "Outcome"), el("th", { scope: "col", class: "num" }, "Included in"))),
      el("tbody", {}, rows)));
  }

  // --- blocks view --------------------------------------------------------

  function blockView(v, which) {
    const body = el("div", {}, el("p", { class: "muted" }, "Reading the block…"));
    const input = el("input", { id: "goto-height", type: "number", min: 1, inputmode: "numeric", "aria-label": "Block height" });
    const form = el("form", { class: "row", onsubmit: (e) => {
      e.preventDefault();
      const h = parseInt(input.value, 10);
      if (h > 0) location.hash = "#/blocks/" + h;
    } }, el("label", { for: "goto-height" }, "Go to height"), input, el("button", { type: "submit" }, "Go"));
    page(which === "latest" ? "Latest block" : "Block " + which,
      el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Network"), " › blocks"), form, body);
    const show = async () => {
      let b, st;
      try {
        [b, st] = await Promise.all([api("/v1/blocks/" + (which === "latest" ? "latest" : which)), api("/v1/status")]);
      } catch (e) {
        swap(body, errorBox(e));
        return;
      }
      if (!v.alive) return;
      const list = (xs) => xs.length === 0 ? el("span", { class: "muted" }, "none")
        : el("ul", {}, xs.map((k) => {
          const i = k.lastIndexOf("/");
          return el("li", {}, el("a", { href: "#/records/" + enc(k.slice(0, i)) + "/" + k.slice(i + 1) }, k));
        }));
      swap(body,
        el("nav", { class: "pager", "aria-label": "Blocks" },
          b.height > 1 ? el("a", { class: "btn", href: "#/blocks/" + (b.height - 1), id: "prev-block" }, "← " + (b.height - 1)) : null,
          el("strong", { id: "block-height" }, "Height " + fmtInt(b.height)),
          b.height < st.height ? el("a", { class: "btn", href: "#/blocks/" + (b.height + 1), id: "next-block" }, (b.height + 1) + " →") : null,
          which !== "latest" ? el("a", { href: "#/blocks/latest" }, "latest") : el("span", { class: "muted" }, "following the chain")),
        el("div", { class: "card" }, el("dl", { class: "kv" },
          el("dt", {}, "Time"), el("dd", {}, fmtTime(b.time)),
          el("dt", {}, "Record root"), el("dd", { class: "mono break" }, b.record_root),
          el("dt", {}, "Changeset hash"), el("dd", { class: "mono break" }, b.changeset_hash),
          el("dt", {}, "Previous app hash"), el("dd", { class: "mono break" }, b.prev_app_hash),
          el("dt", {}, "App hash (after)"), el("dd", { class: "mono break" }, b.app_hash),
          el("dt", {}, "Attestations / extensions"), el("dd", {}, b.attestations + " / " + b.extensions),
          el("dt", {}, "Accepted (" + b.accepted.length + ")"), el("dd", {}, list(b.accepted)),
          el("dt", {}, "Disputed (" + b.disputed.length + ")"), el("dd", {}, list(b.disputed)))));
    };
    if (which === "latest") v.every(show, POLL_MS); else show();
  }

  function notFound() {
    page("Not found", el("p", {}, "No such view. ", el("a", { href: "#/" }, "Back to the network.")));
  }

  // --- router -------------------------------------------------------------

  function route() {
    const hash = location.hash.replace(/^#\/?/, "");
    if (hash === "main") return; // the skip link
    const parts = hash.split("/").filter((p) => p !== "").map((p) => { try { return decodeURIComponent(p); } catch (e) { return p; } });
    const v = newView();
    let nav = parts.length === 0 ? "dashboard" : "";
    const isIndex = (s) => /^\d{1,19}$/.test(s);
    const focus = document.activeElement && document.activeElement !== document.body && document.activeElement !== $main;
    if (parts.length === 0) dashboard(v);
    else if (parts[0] === "streams" && parts.length === 2) streamView(v, parts[1]);
    else if (parts[0] === "records" && parts.length === 3 && isIndex(parts[2])) recordView(v, parts[1], Number(parts[2]));
    else if (parts[0] === "blocks" && parts.length === 1) { nav = "blocks"; blockView(v, "latest"); }
    else if (parts[0] === "blocks" && parts.length === 2 && (parts[1] === "latest" || isIndex(parts[1]))) { nav = "blocks"; blockView(v, parts[1]); }
    else notFound();
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === nav) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    // After in-page navigation, move focus to the new heading for keyboard and screen-reader users.
    if (focus) { const h1 = $main.querySelector("h1"); if (h1) h1.focus(); }
  }

  document.getElementById("skip").addEventListener("click", (e) => { e.preventDefault(); $main.focus(); });
  window.addEventListener("hashchange", route);
  route();
})();
