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

  // fill replaces box's children with kids, skipping the null, undefined
  // and false that optional parts of a view leave (replaceChildren would
  // print them as text: "null").
  function fill(box, ...kids) {
    box.replaceChildren(...kids.flat().filter((k) => k !== undefined && k !== null && k !== false));
  }

  const enc = encodeURIComponent;
  const fmtInt = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));
  const short = (hex, n) => (!hex ? "—" : hex.length <= 2 * (n || 8) ? hex : hex.slice(0, n || 8) + "…" + hex.slice(-4));
  const pct = (a, b) => (b > 0 ? ((100 * a) / b).toFixed(1) + " %" : "—");

  function fmtBytes(n) {
    if (n === null || n === undefined) return "—";
    if (n < 1024) return n + " B";
    const u = ["KiB", "MiB", "GiB", "TiB"];
    let v = n / 1024, i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return v.toFixed(v < 10 ? 2 : 1) + " " + u[i];
  }

  // fmtAgo says how long ago a time in Unix milliseconds was.
  function fmtAgo(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 120) return s + "s ago";
    if (s < 7200) return Math.round(s / 60) + "m ago";
    if (s < 172800) return Math.round(s / 3600) + "h ago";
    return Math.round(s / 86400) + "d ago";
  }

  // The rule-violation codes of app/rules (codes.go); they never change.
  const RULES = {
    1: "message too large", 2: "chunk too large", 3: "not a JSON object", 4: "required field missing",
    5: "wrong type", 6: "below min", 7: "above max", 8: "not monotonic",
  };

  // verdictText spells out a verdict: ok, gap, or rule-violation:N with
  // what rule N is.
  function verdictText(v) {
    if (!v) return "—";
    const m = /^rule-violation:(\d+)$/.exec(v);
    if (!m) return v;
    return v + " (" + (RULES[m[1]] || "unknown rule") + ")";
  }

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
      absent: "warn", gap: "warn", pending: "warn", none: "", rejected: "bad", open: "warn" }[o] || "";
    return el("span", { class: "badge " + cls }, o || "—");
  }

  class HTTPError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }

  // fetchPolite is fetch that waits and tries again, a few times, when
  // the node answers 429 (its per-client rate limit), as Retry-After says.
  async function fetchPolite(url, opts) {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(url, opts);
      if (res.status !== 429 || attempt === 4) return res;
      const secs = Number(res.headers.get("Retry-After")) || 1;
      await new Promise((ok) => setTimeout(ok, Math.min(secs, 10) * 1000));
    }
  }

  let connOK = false;
  let lastAnswer = 0; // when the node last answered (ms since the epoch)
  async function api(path) {
    let res;
    try {
      res = await fetchPolite(path, { headers: { Accept: "application/json" }, cache: "no-store" });
    } catch (e) {
      connOK = false;
      setConn(false, "node unreachable — retrying");
      throw new HTTPError(0, "cannot reach the node (" + e.message + ")");
    }
    lastAnswer = Date.now();
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
    fill(box, ...nodes);
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
      alive: true, timers: [], sockets: [], cleanups: [],
      stop() {
        this.alive = false;
        this.timers.forEach(clearTimeout);
        this.cleanups.forEach((f) => { try { f(); } catch (e) { /* best effort */ } });
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
    fill($main, h1, ...kids);
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
    const histBox = el("div");
    page("Network", statsBox,
      el("h2", { id: "validators-h" }, "Validators"), valBox,
      el("h2", { id: "valset-h" }, "Validator set history"), histBox,
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
      try {
        const g = await api("/v1/governance");
        if (v.alive) swap(histBox, valsetHistory(g));
      } catch (e) {
        swap(histBox, el("p", {}, el("span", { class: "muted" }, "This node serves no governance view.")));
      }
    }, POLL_MS);
  }

  // valsetHistory: who joined, left or changed power, from which height,
  // with which approvals; then the proposals still open.
  function valsetHistory(g) {
    const what = (h) => {
      const who = h.name || (h.address ? h.address.slice(0, 12) + "…" : "a validator");
      if (h.action === "add") return "joined: " + who + " with power " + fmtInt(h.power);
      if (h.action === "remove") return "left: " + who;
      return "power: " + who + " → " + fmtInt(h.power);
    };
    const by = (h) => h.approvals.map((a) => a.name || "#" + a.validator).join(", ") +
      " (" + fmtInt(h.approved_power) + " of " + fmtInt(h.total_power) + ")";
    const rows = g.history.map((h) => el("tr", {},
      el("td", { class: "num" }, el("a", { href: "#/blocks/" + h.from }, fmtInt(h.from))),
      el("td", {}, what(h)), el("td", {}, by(h)),
      el("td", { class: "num" }, el("a", { href: "#/blocks/" + h.decided }, fmtInt(h.decided)))));
    const open = g.open.map((h) => el("tr", {},
      el("td", { class: "num" }, "open"), el("td", {}, what(h)), el("td", {}, by(h)),
      el("td", { class: "num" }, "proposed in " + fmtInt(h.proposed))));
    if (rows.length + open.length === 0) {
      // Not a bare muted paragraph: that is what a box still loading shows.
      return el("p", { id: "valset-none" }, el("span", { class: "muted" }, "The set is the genesis set: no change yet."));
    }
    return el("div", { class: "scroll" }, el("table", { id: "valset-history" },
      el("caption", {}, "A change runs when validators holding more than 2/3 of the power approve it, and is in force two blocks later."),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", class: "num" }, "In force from"), el("th", { scope: "col" }, "Change"),
        el("th", { scope: "col" }, "Approved by"), el("th", { scope: "col", class: "num" }, "Decided in block"))),
      el("tbody", {}, rows.concat(open))));
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
        el("th", { scope: "col" }, "Last attestation"), el("th", { scope: "col" }, "Health"))),
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
          el("td", { class: "num" }, fmtInt(x.late)), el("td", { class: "last-att" }, lastAttestation(x.last_attestation)),
          el("td", {}, health));
      }))));
  }

  // lastAttestation: the chunk a validator last attested (as counted by
  // this node since it started) and how long ago it observed it.
  function lastAttestation(la) {
    if (!la) return el("span", { class: "muted" }, "none yet");
    return el("span", {},
      el("a", { href: "#/records/" + enc(la.stream) + "/" + la.index }, la.stream + "/" + la.index),
      " ", el("span", { class: "muted", title: fmtTime(la.time_ms) + ", block " + la.height }, fmtAgo(la.time_ms)));
  }

  // streamTrouble: what this node says is wrong with a stream (its
  // gateway takes no pushes for it, or its source is unreachable or
  // behind), or null.
  function streamTrouble(s) {
    if (s.gateway_error) return { label: "gateway error", text: "This node's gateway takes no pushes for this stream: " + s.gateway_error };
    if (s.source_status) return { label: "source", text: "This node's observer: " + s.source_status };
    return null;
  }

  function modeBadge(mode) {
    return el("span", { class: "badge" + (mode === "push" ? " push" : "") }, mode || "observe");
  }

  function streamTable(streams) {
    if (streams.length === 0) return el("p", { class: "muted" }, "No streams registered.");
    return el("div", { class: "scroll" }, el("table", { id: "streams" },
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Stream"), el("th", { scope: "col" }, "Mode"), el("th", { scope: "col" }, "Source"),
        el("th", { scope: "col" }, "Chunks"), el("th", { scope: "col", class: "num" }, "Accepted"),
        el("th", { scope: "col", class: "num" }, "Disputed"), el("th", { scope: "col", class: "num" }, "Last index"),
        el("th", { scope: "col" }, "Decided per second"))),
      el("tbody", {}, streams.map((s) => {
        const rates = streamRates(s.id);
        const now = rates.length ? rates.slice(-5).reduce((a, b) => a + b, 0) / Math.min(5, rates.length) : null;
        return el("tr", {},
          el("th", { scope: "row" }, el("a", { href: "#/streams/" + enc(s.id) }, s.id),
            streamTrouble(s) ? [" ", el("span", { class: "badge warn", title: streamTrouble(s).text }, streamTrouble(s).label)] : null),
          el("td", {}, modeBadge(s.mode)),
          s.mode === "push" ? el("td", {}, el("a", { href: "#/upload/" + enc(s.id) }, "upload a file"))
            : el("td", { class: "mono" }, s.source || "—"),
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
        el("th", { scope: "col", class: "num" }, "Index (raw: #position)"), el("th", { scope: "col" }, "Status"),
        el("th", { scope: "col" }, "Digest"), el("th", { scope: "col" }, "Timestamp"),
        el("th", { scope: "col", class: "num" }, "Power"), el("th", { scope: "col", class: "num" }, "Block"))),
      tbody));
    page("Stream " + id, el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Network"), " › stream"),
      info, el("h2", {}, "Records as they are decided"), mode, list);

    // A raw stream's records are keyed by their position (the order the
    // chain gave them; their index is a 64-bit id JavaScript numbers cannot
    // hold); chunks without one (disputed) are on their block's page.
    const recs = new Map();
    let maxIndex = -1;
    let first = true;
    let raw = false;
    function add(r, live) {
      if (raw && !r.raw) return false;
      const k = r.raw ? r.raw.position : r.index;
      if (recs.has(k) && recs.get(k).status === r.status) return false;
      recs.set(k, Object.assign({}, r, { live: live && !first }));
      if (k > maxIndex) maxIndex = k;
      return true;
    }
    function render() {
      const idx = [...recs.keys()].sort((a, b) => b - a);
      for (const i of idx.slice(FEED_KEEP)) recs.delete(i);
      swap(tbody, ...idx.slice(0, FEED_KEEP).map((i) => {
        const r = recs.get(i);
        const row = el("tr", { class: r.live ? "new" : null },
          el("td", { class: "num" }, r.raw
            ? el("a", { href: "#/records/" + enc(id) + "/" + rawIndex(r.raw.chunk_id), title: "chunk " + r.raw.chunk_id }, "#" + fmtInt(r.raw.position))
            : el("a", { href: "#/records/" + enc(id) + "/" + r.index }, fmtInt(r.index))),
          el("td", {}, outcomeBadge(r.status)),
          el("td", {}, hexCell(r.digest)), el("td", {}, fmtTime(r.timestamp)),
          el("td", { class: "num" }, r.power + " / " + r.total_power),
          el("td", { class: "num" }, r.height ? el("a", { href: "#/blocks/" + r.height }, fmtInt(r.height)) : "—"));
        r.live = false;
        return row;
      }));
      if (idx.length === 0) fill(tbody, el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No records decided yet.")));
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
        fill(info, errorBox(e));
        mode.textContent = "";
        return;
      }
      if (!v.alive) return;
      fill(info, el("dl", { class: "stats" },
        stat("Accepted", fmtInt(s.accepted), "stream-accepted"), stat("Disputed", fmtInt(s.disputed)),
        s.mode === "raw" ? stat("Chunks placed", fmtInt(s.next_index || 0), "stream-positions")
          : stat("Last index", s.last_index === null ? "—" : fmtInt(s.last_index)),
        stat("Chunks", chunkPolicy(s.chunk), null, true), stat("Mode", modeBadge(s.mode), "stream-mode", true),
        s.mode === "push" ? stat("Source", el("a", { href: "#/upload/" + enc(id) }, "pushed to gateways: upload a file"), null, true)
          : stat("Source", s.source, null, true)),
        streamTrouble(s) ? el("p", { class: "err", role: "alert", id: "stream-trouble" }, streamTrouble(s).text) : null);
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
      raw = s.mode === "raw";
      const start = raw ? Math.max(0, (s.next_index || 0) - 50)
        : s.last_index === null ? 0 : Math.max(0, s.last_index - 49);
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

  // rawIndex is a raw chunk's index (the first 8 bytes of its id) in
  // decimal, exactly: JavaScript numbers cannot hold 64 bits.
  function rawIndex(chunkID) { return BigInt("0x" + chunkID.slice(0, 16)).toString(); }

  // index is the decimal string from the address (64 bits for a raw chunk).
  function recordView(v, stream, index) {
    const body = el("div", {}, el("p", { class: "muted" }, "Reading the record…"));
    const n = BigInt(index);
    const pager = el("div", { class: "pager", id: "pager" },
      n > 0n ? el("a", { class: "btn", href: "#/records/" + enc(stream) + "/" + (n - 1n) }, "← index " + (n - 1n)) : null,
      el("a", { class: "btn", href: "#/records/" + enc(stream) + "/" + (n + 1n) }, "index " + (n + 1n) + " →"));
    page("Record " + stream + " / " + index,
      el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Network"), " › ",
        el("a", { href: "#/streams/" + enc(stream) }, "stream " + stream), " › record"),
      pager, body);
    // A raw chunk's neighbours are the records at the positions either
    // side, not the indexes either side.
    function rawPager(x) {
      swap(pager,
        x.prev_chunk_id ? el("a", { class: "btn", id: "raw-prev-pos", href: "#/records/" + enc(stream) + "/" + rawIndex(x.prev_chunk_id) }, "← position " + fmtInt(x.position - 1)) : null,
        x.next_chunk_id ? el("a", { class: "btn", id: "raw-next-pos", href: "#/records/" + enc(stream) + "/" + rawIndex(x.next_chunk_id) }, "position " + fmtInt(x.position + 1) + " →")
          : el("span", { class: "muted" }, "the newest position so far"));
    }
    let threshold = null;
    v.every(async () => {
      let r;
      try {
        if (!threshold) threshold = (await api("/v1/status")).threshold;
        r = await api("/v1/records/" + enc(stream) + "/" + index);
      } catch (e) {
        fill(body, errorBox(e));
        if (e.status === 404) v.stop();
        return;
      }
      if (!v.alive) return;
      if (r.raw) rawPager(r.raw);
      swap(body, ...recordBody(r, threshold));
      if (r.status !== "pending" && r.settled) v.stop(); // nothing more will change
    }, RECORD_POLL_MS);
  }

  function recordBody(r, th) {
    const accepted = r.status === "accepted";
    const idx = r.raw ? rawIndex(r.raw.chunk_id) : String(r.index);
    const receipt = "/v1/receipts/" + enc(r.stream) + "/" + idx;
    const facts = el("dl", { class: "kv" },
      el("dt", {}, "Status"), el("dd", {}, outcomeBadge(r.status), r.settled ? " settled" : " not settled yet"),
      el("dt", {}, "Digest"), el("dd", { class: "mono break", id: "digest" }, r.digest || "—"),
      el("dt", {}, "Verdict"), el("dd", { id: "verdict" }, verdictText(r.verdict)),
      el("dt", {}, "Timestamp"), el("dd", {}, fmtTime(r.timestamp), r.timestamp_ms ? el("span", { class: "muted" }, " (" + r.timestamp_ms + " ms)") : null),
      el("dt", {}, "Decided in block"), el("dd", {}, r.height ? el("a", { href: "#/blocks/" + r.height }, fmtInt(r.height)) : "— (pending)"),
      el("dt", {}, "First attested in"), el("dd", {}, r.first_height ? el("a", { href: "#/blocks/" + r.first_height }, fmtInt(r.first_height)) : "—"),
      el("dt", {}, "Leaf hash"), el("dd", { class: "mono break" }, r.leaf_hash || "—"));
    const dl = accepted
      ? el("p", {}, el("a", { class: "btn primary", href: receipt, download: "receipt-" + r.stream + "-" + idx + ".json", id: "receipt" }, "Download receipt"),
        " ", el("span", { class: "muted" }, "Check it offline with "), el("code", {}, "datadragon verify"),
        el("span", { class: "muted" }, "; it exists once the block after the deciding one is committed. Or "),
        el("a", { href: "#/verify" }, "verify one here"), el("span", { class: "muted" }, "."))
      : null;
    return [el("div", { class: "two" }, el("div", { class: "card" }, facts), analysis(r, th)), dl,
      r.push ? pushSection(r) : null,
      r.raw ? rawSection(r) : null,
      r.push || (r.experts && r.experts.length) ? expertsSection(r) : null,
      el("h2", { id: "results-h" }, "Validation results"), attestationTable(r)];
  }

  // pushSection: where a pushed chunk lies in the pushed data, and who
  // vouches for it.
  function pushSection(r) {
    const p = r.push;
    const last = p.messages > 0 ? p.first_seq + p.messages - 1 : p.first_seq;
    const origin = p.origin && /[^0]/.test(p.origin) ? p.origin : "";
    // A fetched chunk's bytes travel beside consensus: the chain holds no
    // digest of its own, each validator attests the one it computed.
    const fetched = !p.private && (!p.digest || !/[^0]/.test(p.digest));
    return el("section", { class: "card push", "aria-labelledby": "push-h" },
      el("h2", { id: "push-h" }, "Push"),
      el("dl", { class: "kv", id: "push" },
        el("dt", {}, "Offset"), el("dd", { id: "push-offset" }, fmtInt(p.offset), el("span", { class: "muted" }, " bytes into the pushed data")),
        el("dt", {}, "Bytes"), el("dd", { id: "push-bytes" }, fmtInt(p.bytes), el("span", { class: "muted" }, " (" + fmtBytes(p.bytes) + ")")),
        el("dt", {}, "Messages"), el("dd", { id: "push-messages" }, fmtInt(p.messages),
          el("span", { class: "muted" }, p.messages > 0 ? " (seq " + p.first_seq + (last !== p.first_seq ? "–" + last : "") + ")" : "")),
        el("dt", {}, "Content"), el("dd", { id: "push-content" }, p.private
          ? [el("span", { class: "badge warn" }, "private"), " only the digest and the message lengths went on chain; the bytes stayed with the producer"]
          : fetched
            ? [el("span", { class: "badge" }, "public"), " the bytes travelled beside consensus: every validator fetched them from the gateway or a peer and hashed them itself"]
            : [el("span", { class: "badge" }, "public"), " the bytes went on chain and every validator hashed them"]),
        el("dt", {}, "Authenticity"), el("dd", { id: "push-auth" }, p.producer
          ? [el("span", { class: "badge ok" }, "authentic"), ": signed by ", el("span", { class: "mono break", id: "push-producer" }, p.producer),
            el("span", { class: "muted" }, " — every validator verified the producer's signature")]
          : [el("span", { class: "badge" }, "unsigned"), " (gateway push)"]),
        origin ? el("dt", {}, "Gateway log") : null, origin ? el("dd", { class: "mono" }, origin) : null,
        el("dt", {}, "Submitted in block"), el("dd", {}, p.tx_height ? el("a", { href: "#/blocks/" + p.tx_height }, fmtInt(p.tx_height)) : "—"),
        fetched ? null : el("dt", {}, "Chain's digest"), fetched ? null : el("dd", { class: "mono break" }, p.digest || "—"),
        fetched ? null : el("dt", {}, "Chain's verdict"), fetched ? null : el("dd", { id: "push-verdict" }, verdictText(p.verdict)),
        ...localFetch(r)));
  }

  // localFetch: what the validator of the node serving this page found
  // when it fetched the chunk's bytes — its own account, not the chain's.
  // A validator served bytes whose content id is not the one on chain
  // attests a gap; here it shows the digest those bytes have.
  function localFetch(r) {
    const f = r.local_fetch;
    if (!f) return [];
    const said = {
      "fetched": [el("span", { class: "badge ok" }, "fetched"), " bytes with the content id on chain, hashed and attested"],
      "content-mismatch": [el("span", { class: "badge bad" }, "content mismatch"),
        " the bytes it was served do not have the content id the gateway named, so it attested a gap"],
      "unavailable": [el("span", { class: "badge warn" }, "unavailable"), " no source served the bytes within the fetch window, so it attested a gap"],
    }[f.outcome] || f.outcome;
    const who = f.validator ? " (" + f.validator + ")" : "";
    const out = [
      el("dt", {}, "This node's fetch" + who), el("dd", { id: "fetch-outcome" }, said),
      el("dt", {}, "Content id on chain"), el("dd", { class: "mono break", id: "fetch-named" }, f.content_named || "—"),
    ];
    if (f.content && f.content !== f.content_named) {
      out.push(el("dt", {}, "Content id of the bytes served"), el("dd", { class: "mono break", id: "fetch-content" }, f.content));
    }
    if (f.digest) {
      out.push(el("dt", {}, "Digest this validator computed"), el("dd", { class: "mono break", id: "fetch-digest" }, f.digest,
        r.digest ? (f.digest === r.digest ? " ✓" : " ≠") : null));
    }
    if (f.source) out.push(el("dt", {}, "Fetched from"), el("dd", { class: "mono break" }, f.source));
    if (f.error) out.push(el("dt", {}, "Why not"), el("dd", { class: "wrap", id: "fetch-error" }, f.error));
    return out;
  }

  // rawSection: a raw stream's chunk — named by its content, linked to the
  // next one, placed by the chain.
  function rawSection(r) {
    const x = r.raw;
    const next = rawIndex(x.close);
    return el("section", { class: "card raw", "aria-labelledby": "raw-h" },
      el("h2", { id: "raw-h" }, "Raw feed chunk"),
      el("dl", { class: "kv", id: "raw" },
        el("dt", {}, "Chunk id"), el("dd", { class: "mono break", id: "raw-id" }, x.chunk_id,
          el("span", { class: "muted" }, " — the boundary hash of its first message")),
        el("dt", {}, "Position"), el("dd", { id: "raw-position" }, fmtInt(x.position),
          el("span", { class: "muted" }, " — the chain's index of this chunk in the stream")),
        el("dt", {}, "Messages"), el("dd", { id: "raw-messages" }, fmtInt(x.messages), el("span", { class: "muted" }, " after normalisation")),
        el("dt", {}, "Content hash"), el("dd", { class: "mono break" }, x.content),
        el("dt", {}, "Next chunk"), el("dd", { class: "mono break" },
          el("a", { href: "#/records/" + enc(r.stream) + "/" + next, id: "raw-next" }, x.close))));
  }

  // expertsSection: registered experts' signed endorsements and disputes.
  function expertsSection(r) {
    const xs = r.experts || [];
    const body = xs.length === 0 ? el("p", { class: "muted", id: "experts-none" }, "No registered expert has endorsed or disputed this record.")
      : el("div", { class: "scroll" }, el("table", { id: "experts" },
        el("caption", {}, "Signed judgements of the stream's registered experts. ✓: about the accepted digest."),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col" }, "Expert"), el("th", { scope: "col" }, "Judgement"), el("th", { scope: "col" }, "Note"),
          el("th", { scope: "col" }, "Digest"), el("th", { scope: "col", class: "num" }, "Block"), el("th", { scope: "col" }, "Signature"))),
        el("tbody", {}, xs.map((x) => el("tr", {},
          el("th", { scope: "row" }, hexCell(x.expert, 10)),
          el("td", {}, x.dispute ? el("span", { class: "badge bad" }, "disputes") : el("span", { class: "badge ok" }, "endorses")),
          el("td", { class: "note" }, x.note || el("span", { class: "muted" }, "no note")),
          el("td", {}, hexCell(x.digest), x.digest && r.digest ? (x.digest === r.digest ? " ✓" : " ≠") : null),
          el("td", { class: "num" }, x.height ? el("a", { href: "#/blocks/" + x.height }, fmtInt(x.height)) : "—"),
          el("td", {}, el("span", { class: "mono" }, short(x.signature, 6)),
            x.signature ? el("span", { class: "muted" }, " (" + fmtBytes(x.signature.length / 2) + ")") : null))))));
    return el("section", { "aria-labelledby": "experts-h" }, el("h2", { id: "experts-h" }, "Experts"), body);
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
      el("td", { class: "wrap" }, fmtTime(a.time), a.late ? [" ", el("span", { class: "badge warn" }, "late")] : null),
      el("td", { class: "wrap" }, verdictText(a.verdict)),
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

  // --- upload view: push a file through this node's gateway ---------------

  const PART = 4 << 20;            // bytes per upload request
  const CHUNK_POLL_MS = 500;       // refresh of an upload's chunks
  const MAX_FAILS = 8;             // failed requests in a row before an upload gives up
  const WHOLE_FILE_MAX = 16 << 20; // "verify" sends the whole file up to this size, else the chunk's bytes
  const SETTLED = new Set(["accepted", "disputed", "rejected"]);

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function randomHex(n) {
    const b = new Uint8Array(n);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  const receiptURL = (stream, index) => "/v1/receipts/" + enc(stream) + "/" + index;

  // postVerify asks this node to verify a receipt (text or Blob), with the
  // chunk's data when given.
  async function postVerify(rc, data, dataName) {
    const fd = new FormData();
    fd.append("receipt", rc instanceof Blob ? rc : new Blob([rc], { type: "application/json" }), "receipt.json");
    if (data) fd.append("data", data, dataName || "data");
    let res;
    try {
      res = await fetchPolite("/v1/receipts/verify", { method: "POST", body: fd, cache: "no-store" });
    } catch (e) {
      throw new HTTPError(0, "cannot reach the node (" + e.message + ")");
    }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok || !body) throw new HTTPError(res.status, (body && body.error) || res.status + " " + res.statusText);
    return body;
  }

  // pushFile uploads file as upload id in PART-sized requests. After a
  // failed request it asks the gateway what it has acknowledged and
  // resumes from there. onAck(bytes) reports progress; onRetry(error, n)
  // each failure. It resolves with the final upload status.
  async function pushFile(v, stream, file, id, token, onAck, onRetry) {
    const base = "/v1/push/" + enc(stream);
    const headers = { "Content-Type": "application/octet-stream" };
    if (token) headers.Authorization = "Bearer " + token;
    const ctl = new AbortController();
    v.cleanups.push(() => ctl.abort());
    const status = async () => {
      try {
        const res = await fetch(base + "/uploads/" + id, { cache: "no-store", signal: ctl.signal });
        const j = await res.json();
        if (res.ok) return j;
        if (res.status === 404) return { acked: 0, ended: false }; // nothing acknowledged yet
      } catch (e) { /* ask again after the next failure */ }
      return null;
    };
    let acked = 0, fails = 0, stalls = 0;
    for (;;) {
      const end = Math.min(file.size, acked + PART);
      const last = end === file.size;
      let st = null;
      try {
        const body = await file.slice(acked, end).arrayBuffer();
        let res;
        try {
          res = await fetch(base + "?upload=" + id + "&offset=" + acked + "&end=" + (last ? "1" : "0"),
            { method: "POST", headers, body, cache: "no-store", signal: ctl.signal });
        } catch (e) {
          throw new HTTPError(0, "cannot reach the node (" + e.message + ")");
        }
        let j = null;
        try { j = await res.json(); } catch (e) { j = null; }
        if (!res.ok || !j) throw new HTTPError(res.status, (j && j.error) || res.status + " " + res.statusText);
        st = j;
        fails = 0;
      } catch (e) {
        if (!v.alive) throw e;
        const s = e.status || 0;
        if (s >= 400 && s < 500 && s !== 408 && s !== 409 && s !== 429) throw e; // refused: retrying will not help
        if (++fails >= MAX_FAILS) throw new Error("the upload failed " + fails + " times in a row; the last error: " + e.message);
        onRetry(e, fails);
        await sleep(Math.min(8000, 250 * 2 ** fails));
        if (!v.alive) throw e;
        st = await status();
        if (!st) continue; // the node did not answer: try again from what we know
      }
      if (st.acked > file.size) throw new Error("the gateway acknowledges " + st.acked + " bytes, more than the file has");
      if (st.ended) { onAck(st.acked); return st; }
      stalls = st.acked > acked || fails > 0 ? 0 : stalls + 1;
      if (stalls >= 3) throw new Error("the gateway acknowledges nothing more after " + fmtInt(st.acked) + " bytes");
      acked = st.acked;
      onAck(acked);
    }
  }

  function uploadView(v, preset) {
    const streamSel = el("select", { id: "up-stream", disabled: true }, el("option", {}, "loading…"));
    const token = el("input", { id: "up-token", type: "password", class: "wide", autocomplete: "off", spellcheck: "false", "aria-describedby": "up-token-help" });
    const fileIn = el("input", { id: "up-file", type: "file", "aria-describedby": "up-chosen" });
    const chosen = el("p", { id: "up-chosen", class: "help" }, "No file chosen.");
    const drop = el("div", { class: "dropzone", id: "up-drop" },
      el("label", { for: "up-file" }, "File"), fileIn,
      el("p", { class: "help" }, "Choose a file, or drop one anywhere in this box."), chosen);
    const go = el("button", { type: "submit", class: "btn primary", id: "up-start", disabled: true }, "Upload");
    const formMsg = el("div", { id: "up-msg", role: "alert" });
    const fields = el("fieldset", {},
      el("legend", { class: "sr-only" }, "What to upload"),
      el("div", { class: "field" }, el("label", { for: "up-stream" }, "Push stream"), streamSel,
        el("p", { class: "help", id: "up-stream-help" }, "Streams in push mode take files from producers.")),
      el("div", { class: "field" }, el("label", { for: "up-token" }, "Write token (optional)"), token,
        el("p", { class: "help", id: "up-token-help" }, "Needed unless the stream is open to clients on the node's own machine. Sent as an Authorization header; never stored.")),
      drop, el("div", { class: "row" }, go, el("span", { class: "help" }, "Keep this page open until every chunk is decided.")));
    let file = null;
    const choose = (f) => {
      file = f || null;
      chosen.textContent = file ? "Chosen: " + file.name + " — " + fmtBytes(file.size) + " (" + fmtInt(file.size) + " bytes)" : "No file chosen.";
    };
    fileIn.addEventListener("change", () => choose(fileIn.files[0]));
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      const fs = e.dataTransfer && e.dataTransfer.files;
      if (!fs || fs.length === 0) return;
      try { fileIn.files = fs; } catch (x) { /* older browsers: keep our own reference */ }
      choose(fs[0]);
    });
    const run = el("section", { id: "up-run", "aria-labelledby": "up-run-h", hidden: true });
    const form = el("form", { class: "card form", id: "upload-form", "aria-labelledby": "up-form-h", onsubmit: (e) => {
      e.preventDefault();
      const f = file || fileIn.files[0];
      fill(formMsg);
      if (!streamSel.value) { fill(formMsg, el("p", { class: "err" }, "Choose a push stream first.")); return; }
      if (!f) { fill(formMsg, el("p", { class: "err" }, "Choose a file first.")); fileIn.focus(); return; }
      startUpload(v, streamSel.value, f, token.value.trim(), run, fields);
    } }, el("h2", { id: "up-form-h" }, "What to upload"), fields, formMsg);
    page("Upload a file",
      el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Network"), " › upload"),
      el("p", {}, "The file goes to this node's gateway in parts of " + fmtBytes(PART) + ", each acknowledged once it is durable. " +
        "The gateway cuts it into chunks by the stream's rule; every validator attests each chunk, and each accepted chunk gets a receipt you can check offline."),
      form, run);

    (async () => {
      let streams;
      try {
        streams = (await api("/v1/streams")).streams.filter((s) => s.mode === "push");
      } catch (e) {
        fill(formMsg, errorBox(e));
        return;
      }
      if (!v.alive) return;
      if (streams.length === 0) {
        fill(streamSel, el("option", { value: "" }, "no push streams"));
        fill(formMsg, el("p", { class: "err", id: "up-none" }, "This chain has no push streams. Register one with 'datadragon stream register', then upload here."));
        return;
      }
      const want = streams.some((s) => s.id === preset) ? preset : streams.some((s) => s.id === "uploads") ? "uploads" : streams[0].id;
      fill(streamSel, ...streams.map((s) => el("option", { value: s.id, selected: s.id === want },
        s.id + " (" + chunkPolicy(s.chunk) + (s.producers && s.producers.length ? "; signed chunks only" : "") + ")")));
      streamSel.value = want;
      streamSel.disabled = false;
      go.disabled = false;
    })();
  }

  async function startUpload(v, stream, file, token, run, fields) {
    const id = randomHex(16);
    fields.disabled = true;
    const progress = el("progress", { id: "up-progress", max: Math.max(1, file.size), value: 0, "aria-labelledby": "up-progress-label" });
    const progressText = el("p", { id: "up-progress-text", role: "status" }, "Starting…");
    const retryText = el("p", { id: "up-retry", class: "help" });
    const summary = el("p", { id: "chunk-summary", role: "status" }, "Waiting for the first chunk…");
    const tbody = el("tbody");
    const allBtn = el("button", { type: "button", class: "btn", id: "download-all", disabled: true }, "Download all receipts");
    const ddrBtn = el("button", { type: "button", class: "btn primary", id: "download-ddr", disabled: true }, "Download " + file.name + ".ddr");
    const allMsg = el("span", { class: "help", id: "download-all-msg", role: "status" });
    run.hidden = false;
    fill(run,
      el("h2", { id: "up-run-h" }, "Upload of " + file.name),
      el("p", { class: "help" }, "Stream ", el("a", { href: "#/streams/" + enc(stream) }, stream), " · upload id ", el("code", { id: "up-id" }, id)),
      el("p", { id: "up-progress-label", class: "label" }, "Bytes acknowledged by the gateway"), progress, progressText, retryText,
      el("h2", { id: "chunks-h" }, "Chunks"), summary,
      el("div", { class: "scroll" }, el("table", { id: "chunks" },
        el("caption", {}, "The chunks the gateway cut the file into, as the chain decides them. A receipt appears once the block after the deciding one is committed."),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col", class: "num" }, "#"), el("th", { scope: "col", class: "num" }, "Offset"),
          el("th", { scope: "col", class: "num" }, "Bytes"), el("th", { scope: "col", class: "num" }, "Messages"),
          el("th", { scope: "col" }, "Status"), el("th", { scope: "col", class: "num" }, "Index"),
          el("th", { scope: "col" }, "Receipt"), el("th", { scope: "col" }, "Check"))),
        tbody)),
      el("p", { class: "row" }, ddrBtn, allBtn, allMsg));
    run.querySelector("h2").scrollIntoView({ block: "nearest" });

    const t0 = performance.now();
    const onAck = (n) => {
      progress.value = n;
      const secs = (performance.now() - t0) / 1000;
      progressText.textContent = fmtBytes(n) + " of " + fmtBytes(file.size) + " acknowledged (" + pct(n, Math.max(1, file.size)) + ")" +
        (secs > 0.5 && n > 0 ? " · " + fmtBytes(n / secs) + "/s" : "");
    };
    const onRetry = (e, n) => { retryText.textContent = "A part failed (" + e.message + "); resuming from what the gateway has acknowledged (attempt " + n + ")."; };
    const rows = watchChunks(v, stream, id, file, tbody, summary, () => {
      allBtn.disabled = ![...rows.values()].some((r) => r.ready);
      ddrBtn.disabled = allBtn.disabled;
      fields.disabled = false;
    });
    allBtn.addEventListener("click", () => downloadAll(stream, id, rows, allBtn, allMsg));
    ddrBtn.addEventListener("click", () => downloadDDR(stream, file, rows, ddrBtn, allMsg));
    try {
      const st = await pushFile(v, stream, file, id, token, onAck, onRetry);
      if (!v.alive) return;
      retryText.textContent = "";
      progressText.textContent = "Uploaded: all " + fmtInt(st.acked) + " bytes acknowledged by the gateway. The chain decides the chunks below.";
    } catch (e) {
      if (!v.alive) return;
      rows.failed = true;
      fill(progressText, el("span", { class: "err" }, "The upload stopped: " + e.message));
      fields.disabled = false;
    }
  }

  // watchChunks polls an upload's chunks and keeps one table row per
  // chunk, updated in place (so focus and verification results stay). It
  // stops once the upload has ended and every chunk is decided and every
  // accepted chunk's receipt exists; then it calls done.
  function watchChunks(v, stream, id, file, tbody, summary, done) {
    const rows = new Map(); // offset → row
    const url = "/v1/push/" + enc(stream) + "/chunks?upload=" + id;
    let ended = false;

    function makeRow(c, n) {
      const row = { offset: c.offset, bytes: c.bytes, status: "", index: null, decided: 0, ready: false };
      row.statusTd = el("td");
      row.indexTd = el("td", { class: "num" }, "—");
      row.receiptTd = el("td", {}, el("span", { class: "muted" }, "—"));
      row.result = el("span", { class: "vres", role: "status" });
      row.verifyBtn = el("button", { type: "button", class: "verify", disabled: true, "aria-label": "Verify chunk " + n + "'s receipt" }, "verify");
      row.verifyBtn.addEventListener("click", () => verifyRow(row));
      row.tr = el("tr", { "data-offset": c.offset },
        el("td", { class: "num" }, String(n)), el("td", { class: "num" }, fmtInt(c.offset)),
        el("td", { class: "num", title: fmtInt(c.bytes) + " bytes" }, fmtBytes(c.bytes)), row.messagesTd = el("td", { class: "num" }, fmtInt(c.messages)),
        row.statusTd, row.indexTd, row.receiptTd, el("td", { class: "wrap" }, row.verifyBtn, " ", row.result));
      return row;
    }

    async function verifyRow(row) {
      row.verifyBtn.disabled = true;
      row.result.className = "vres";
      row.result.textContent = "checking…";
      try {
        const res = await fetchPolite(receiptURL(stream, row.index), { cache: "no-store" });
        if (!res.ok) throw new HTTPError(res.status, "the receipt is not available (" + res.status + ")");
        const text = await res.text();
        const whole = file.size <= WHOLE_FILE_MAX;
        const part = whole ? file : file.slice(row.offset, row.offset + row.bytes);
        const pin = DDVerify.pinned();
        if (pin) {
          // In this page, against the pinned genesis: the node is not asked.
          await browserVerifier();
          const out = await DDVerify.verify(new TextEncoder().encode(text), new TextEncoder().encode(pin.text), await DDVerify.bytesOf(part));
          if (!v.alive) return;
          row.result.className = "vres " + (out.valid ? "ok" : "bad");
          row.result.textContent = out.valid ? "✓ valid (in this page)" : "✗ broken link: " + out.link;
          row.result.title = out.valid ? "checked in this page against the pinned genesis " + pin.name + " (SHA-256 " + pin.sha256 + ")" + (whole ? ", with the whole file" : ", with the chunk's bytes of the file") : out.error;
          row.verifyBtn.disabled = false;
          return;
        }
        const out = await postVerify(text, part, file.name);
        if (!v.alive) return;
        row.result.className = "vres " + (out.valid ? "ok" : "bad");
        row.result.textContent = out.valid ? "✓ valid" : "✗ broken link: " + out.link;
        row.result.title = out.valid ? "asked this node, which trusts its own genesis; pin a genesis on the Verify page to check in this page instead. Checked " + out.checked.join(", ") + (whole ? " against the whole file" : " against the chunk's bytes of the file") : out.error;
      } catch (e) {
        row.result.className = "vres bad";
        row.result.textContent = "✗ " + e.message;
      }
      row.verifyBtn.disabled = false;
    }

    function setStatus(row, c) {
      row.status = c.status;
      fill(row.statusTd, outcomeBadge(c.status.replace("_", " ")));
      if (c.error) row.statusTd.append(" ", el("span", { class: "help" }, c.error));
      if (c.index !== undefined && c.index !== null && row.index !== c.index) {
        row.index = c.index;
        fill(row.indexTd, el("a", { href: "#/records/" + enc(stream) + "/" + c.index }, fmtInt(c.index)));
      }
      if (c.status === "accepted") fill(row.receiptTd, el("span", { class: "muted" }, "after the next block…"));
      else if (SETTLED.has(c.status)) fill(row.receiptTd, el("span", { class: "muted" }, "none (" + c.status + ")"));
    }

    function receiptReady(row) {
      row.ready = true;
      fill(row.receiptTd, el("a", { href: receiptURL(stream, row.index), class: "receipt-link",
        download: "receipt-" + stream + "-" + row.index + ".json" }, "receipt"));
      row.verifyBtn.disabled = false;
    }

    function render(list) {
      let n = 0;
      const count = {};
      let bytes = 0;
      for (const c of list) {
        n++;
        bytes += c.bytes;
        count[c.status] = (count[c.status] || 0) + 1;
        let row = rows.get(c.offset);
        if (!row) {
          row = makeRow(c, n);
          rows.set(c.offset, row);
          tbody.append(row.tr);
        } else if (row.bytes !== c.bytes) { // the open chunk grows
          row.bytes = c.bytes;
          row.tr.children[2].textContent = fmtBytes(c.bytes);
          row.tr.children[2].title = fmtInt(c.bytes) + " bytes";
          row.messagesTd.textContent = fmtInt(c.messages);
        } else if (row.messagesTd.textContent !== fmtInt(c.messages)) {
          row.messagesTd.textContent = fmtInt(c.messages);
        }
        if (row.status !== c.status || (c.index !== undefined && c.index !== row.index)) setStatus(row, c);
      }
      const parts = Object.entries(count).map(([k, x]) => x + " " + k.replace("_", " "));
      const all = list.length > 0 && list.every((c) => SETTLED.has(c.status)) && ended && bytes === file.size;
      summary.textContent = (all ? "All " + list.length + " chunks are decided: " : list.length + " chunk" + (list.length === 1 ? "" : "s") + " so far: ") +
        (parts.join(", ") || "none") + ".";
      summary.classList.toggle("done", all);
      return all || (ended && file.size === 0);
    }

    const tick = async () => {
      if (!v.alive) return;
      let settled = false;
      try {
        const j = await api(url);
        ended = j.ended;
        settled = render(j.chunks || []);
        // Receipts: an accepted record's exists once the app has committed
        // the block after the one that decided it.
        const waiting = [...rows.values()].filter((r) => r.status === "accepted" && !r.ready);
        for (const r of waiting.filter((r) => !r.decided).slice(0, 16)) {
          const rec = await api("/v1/records/" + enc(stream) + "/" + r.index);
          if (rec.status === "accepted" && rec.height) r.decided = rec.height;
        }
        if (waiting.some((r) => r.decided)) {
          const st = await api("/v1/status");
          for (const r of waiting) if (r.decided && st.height > r.decided) receiptReady(r);
        }
      } catch (e) {
        summary.textContent = "Cannot read the chunks (" + e.message + "); retrying.";
      }
      if (!v.alive) return;
      const pending = [...rows.values()].some((r) => r.status === "accepted" && !r.ready);
      if (settled && !pending) { done(); return; }
      if (rows.failed && !ended) { done(); return; } // the upload stopped: what was sent is still shown
      v.timers.push(setTimeout(tick, CHUNK_POLL_MS));
    };
    tick();
    return rows;
  }

  // collectReceipts fetches the receipts of every accepted chunk, in file
  // order, as one JSON array of their own bytes (nothing is re-encoded).
  async function collectReceipts(stream, rows, msg) {
    const ready = [...rows.values()].filter((r) => r.ready).sort((a, b) => a.offset - b.offset);
    const texts = [];
    for (const r of ready) {
      msg.textContent = "Fetching receipt " + (texts.length + 1) + " of " + ready.length + "…";
      const res = await fetchPolite(receiptURL(stream, r.index), { cache: "no-store" });
      if (!res.ok) throw new Error("receipt of index " + r.index + ": " + res.status);
      texts.push((await res.text()).trim());
    }
    return { n: texts.length, json: "[\n" + texts.join(",\n") + "\n]\n" };
  }

  function saveBlob(blob, name) {
    const href = URL.createObjectURL(blob);
    const a = el("a", { href, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60000);
  }

  // downloadAll saves the receipts of every accepted chunk as one JSON
  // array, in file order.
  async function downloadAll(stream, id, rows, btn, msg) {
    btn.disabled = true;
    let got;
    try {
      got = await collectReceipts(stream, rows, msg);
    } catch (e) {
      msg.textContent = "Could not collect the receipts: " + e.message;
      btn.disabled = false;
      return;
    }
    saveBlob(new Blob([got.json], { type: "application/json" }), "receipts-" + stream + "-" + id + ".json");
    msg.textContent = "Saved " + got.n + " receipt" + (got.n === 1 ? "" : "s") + " as one JSON array.";
    btn.disabled = false;
  }

  // downloadDDR saves the file receipt, FILE.ddr, as 'datadragon stream'
  // writes it: assembled in this page by the WebAssembly verifier from the
  // chunks' receipts, with the fewest signatures above the threshold the
  // node states (a wrong one only makes the receipt fail to verify).
  async function downloadDDR(stream, file, rows, btn, msg) {
    btn.disabled = true;
    try {
      const got = await collectReceipts(stream, rows, msg);
      let th = { numerator: 0, denominator: 0 };
      try {
        const st = await (await fetchPolite("/v1/status", { cache: "no-store" })).json();
        if (st && st.threshold) th = st.threshold;
      } catch (e) { /* keep every signature */ }
      await browserVerifier();
      const b = await DDVerify.build(new TextEncoder().encode(got.json), th.numerator || 0, th.denominator || 0);
      saveBlob(new Blob([b], { type: "application/octet-stream" }), file.name + ".ddr");
      msg.textContent = "Saved " + file.name + ".ddr (" + fmtInt(b.length) + " bytes, " + got.n + " chunk" + (got.n === 1 ? "" : "s") + "): check it on the Verify page or with 'datadragon verify'.";
    } catch (e) {
      msg.textContent = "Could not make the file receipt: " + e.message;
    }
    btn.disabled = false;
  }

  // --- verify view --------------------------------------------------------

  // The receipt verifier runs in this page (DDVerify, ddverify.js: the
  // project's Go verifier compiled to WebAssembly): checking a node's
  // claim must not mean asking the node.
  function browserVerifier() {
    return DDVerify.load(async () => {
      const res = await fetch("/explorer/verifier.wasm.gz", { cache: "force-cache" });
      if (!res.ok) throw new HTTPError(res.status, "the verifier is not available (" + res.status + ")");
      return new Uint8Array(await res.arrayBuffer());
    });
  }

  function verifyView(v) {
    const text = el("textarea", { id: "vf-text", rows: 6, spellcheck: "false", autocomplete: "off", "aria-describedby": "vf-text-help" });
    const rfile = el("input", { id: "vf-receipt", type: "file", accept: ".ddr,.json,application/json" });
    const gfile = el("input", { id: "vf-genesis", type: "file", accept: ".json,application/json", "aria-describedby": "vf-genesis-help" });
    const pinned = el("p", { class: "help", id: "vf-genesis-help" });
    const unpin = el("button", { type: "button", class: "btn", id: "vf-unpin" }, "Forget the pinned genesis");
    const dfile = el("input", { id: "vf-data", type: "file", "aria-describedby": "vf-data-help" });
    const btn = el("button", { type: "submit", class: "btn primary", id: "vf-go", disabled: true }, "Verify");
    const result = el("div", { id: "vf-result", role: "status", "aria-live": "polite" });
    const showPin = () => {
      const p = DDVerify.pinned();
      pinned.textContent = p ? "Pinned in this browser: " + p.name + " — chain " + p.chain_id + ", SHA-256 " + p.sha256 + ". Choose another file to replace it."
        : "The network's genesis.json, from a source you trust (not this node): 'datadragon devnet' prints where it is. It is pinned in this browser for next time.";
      unpin.hidden = !p;
    };
    unpin.addEventListener("click", () => { DDVerify.unpin(); showPin(); });
    showPin();
    fill(result, el("p", { class: "help" }, "Loading the verifier…"));
    browserVerifier().then(() => {
      if (!v.alive) return;
      btn.disabled = false;
      fill(result, el("p", { class: "help", id: "vf-ready" }, "Verifier loaded: the receipt, the genesis and the file stay in this page."));
    }, (err) => { if (v.alive) fill(result, errorBox(err)); });
    const form = el("form", { class: "card form", id: "verify-form", onsubmit: async (e) => {
      e.preventDefault();
      const rc = rfile.files[0] ? await DDVerify.bytesOf(rfile.files[0]) : new TextEncoder().encode(text.value.trim());
      if (!rc.length) {
        fill(result, el("p", { class: "err" }, "Paste a receipt or choose its file (FILE.ddr or a chunk's JSON receipt)."));
        text.focus();
        return;
      }
      let genesis = null, gname = "";
      const gf = gfile.files[0];
      if (gf) { genesis = await DDVerify.bytesOf(gf); gname = gf.name; }
      else if (DDVerify.pinned()) { const p = DDVerify.pinned(); genesis = new TextEncoder().encode(p.text); gname = p.name + " (pinned)"; }
      else {
        fill(result, el("p", { class: "err" }, "Choose the network's genesis.json: the receipt is checked against it, and against nothing this node says."));
        gfile.focus();
        return;
      }
      const data = dfile.files[0];
      btn.disabled = true;
      fill(result, el("p", { class: "muted" }, "Verifying in this page…"));
      try {
        const out = await DDVerify.verify(rc, genesis, data ? await DDVerify.bytesOf(data) : null);
        if (gf && out.genesis_sha256) {
          DDVerify.pin({ name: gf.name, text: new TextDecoder().decode(genesis), chain_id: out.chain_id, sha256: out.genesis_sha256 });
          showPin();
        }
        if (v.alive) fill(result, el("div", { class: "card", id: "vf-verdict" }, DDVerify.render(out, gname)));
      } catch (err) {
        if (v.alive) fill(result, errorBox(err));
      }
      btn.disabled = false;
    } },
      el("div", { class: "field" }, el("label", { for: "vf-receipt" }, "Receipt file"), rfile,
        el("p", { class: "help" }, "FILE.ddr as 'datadragon stream FILE' wrote it, or a chunk's JSON receipt.")),
      el("div", { class: "field" }, el("label", { for: "vf-text" }, "…or paste a JSON receipt"), text,
        el("p", { class: "help", id: "vf-text-help" }, "As GET /v1/receipts/STREAM/INDEX answers.")),
      el("div", { class: "field" }, el("label", { for: "vf-genesis" }, "Trusted genesis"), gfile, pinned, unpin),
      el("div", { class: "field" }, el("label", { for: "vf-data" }, "The file (optional)"), dfile,
        el("p", { class: "help", id: "vf-data-help" }, "Hashed in this page: the pushed file, the chunk's bytes, or an observed chunk's messages as a JSON list of {\"seq\", \"data\"}.")),
      el("div", { class: "row" }, btn));
    page("Verify a receipt",
      el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Network"), " › verify"),
      el("p", { id: "vf-caveat", class: "note-box" }, "Checked in this page by DataDragon's own verifier, compiled to WebAssembly: nothing is sent to the node, and the answer trusts only the genesis you give. The same check on the command line: ",
        el("code", {}, "datadragon verify FILE.ddr --genesis genesis.json"), "; for anyone without it, ",
        el("code", {}, "datadragon receipt verifier > verify.html"), " writes this verifier as one file that works offline."),
      form, result);
  }

  function receiptVerdict(out, withData) {
    if (!out.valid) {
      return el("div", { class: "card result bad", id: "vf-verdict" },
        el("p", { class: "big" }, "✗ broken link: " + out.link),
        el("p", { class: "break" }, out.error),
        el("p", { class: "help" }, "The first link of the receipt that does not hold; nothing after it was checked."));
    }
    return el("div", { class: "card result ok", id: "vf-verdict" },
      el("p", { class: "big" }, "✓ valid"),
      el("dl", { class: "kv" },
        el("dt", {}, "Record"), el("dd", {}, el("a", { href: "#/records/" + enc(out.stream) + "/" + out.index }, out.stream + " / " + out.index)),
        el("dt", {}, "Digest"), el("dd", { class: "mono break" }, out.digest),
        el("dt", {}, "Chain"), el("dd", {}, out.chain_id),
        el("dt", {}, "Links checked"), el("dd", { id: "vf-checked" }, out.checked.join(", ")),
        el("dt", {}, "Data"), el("dd", {}, withData ? "hashes to the record's digest" : el("span", { class: "muted" }, "not checked: choose the data file to check the bytes too"))));
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
    // Up to 2^64 − 1: a raw chunk's index takes all 64 bits.
    const isIndex = (s) => /^\d{1,20}$/.test(s) && BigInt(s) < (1n << 64n);
    const focus = document.activeElement && document.activeElement !== document.body && document.activeElement !== $main;
    if (parts.length === 0) dashboard(v);
    else if (parts[0] === "streams" && parts.length === 2) streamView(v, parts[1]);
    else if (parts[0] === "records" && parts.length === 3 && isIndex(parts[2])) recordView(v, parts[1], parts[2]);
    else if (parts[0] === "upload" && parts.length <= 2) { nav = "upload"; uploadView(v, parts[1]); }
    else if (parts[0] === "verify" && parts.length === 1) { nav = "verify"; verifyView(v); }
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
  // Views that ask the node nothing by themselves (the verify page) still
  // show whether it is reachable: a status read whenever no other request
  // answered for a while.
  const HEARTBEAT_MS = 5000;
  const heartbeat = async () => {
    if (Date.now() - lastAnswer >= HEARTBEAT_MS - 100) {
      try { await api("/v1/status"); } catch (e) { /* api shows it in the header */ }
    }
    setTimeout(heartbeat, HEARTBEAT_MS);
  };
  setTimeout(heartbeat, 300);
})();
