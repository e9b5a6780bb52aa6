// The lake browser. Lake content is untrusted (tweets, Telegram posts): every value reaches the page
// through textContent or createElement, never innerHTML.
(function () {
  "use strict";
  const API = "/api/data/lake";
  const $ = (id) => document.getElementById(id);
  const state = { source: "", date: "", objectId: null, nextUrl: null, busy: 0 };

  function setStatus(text) { $("lake-status").textContent = text; }
  function busy(delta) {
    state.busy += delta;
    $("lake-refresh").disabled = state.busy > 0;
    setStatus(state.busy > 0 ? "Loading…" : "");
  }
  function showError(message) {
    const box = $("lake-error");
    box.textContent = message;
    box.hidden = !message;
  }

  async function getJSON(url) {
    busy(1);
    try {
      let response;
      try {
        response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      } catch (err) {
        throw new Error("The server could not be reached (" + err.message + "). Check your connection and press Refresh.");
      }
      let body = null;
      try { body = await response.json(); } catch (err) { body = null; }
      if (!response.ok) {
        const detail = body && body.detail ? body.detail : response.statusText;
        if (response.status === 401 || response.status === 403) {
          throw new Error("Your session has ended: log in again to browse the lake (" + detail + ").");
        }
        throw new Error("The lake answered " + response.status + ": " + detail);
      }
      return body;
    } finally {
      busy(-1);
    }
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function fmtInt(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-IN"); }
  function fmtBytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let i = 0, v = Number(n);
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return (i === 0 ? v : v.toFixed(1)) + " " + units[i];
  }
  function fmtRatio(r) { return r ? r.toFixed(1) + "×" : "–"; }
  function fmtIST(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return d.toLocaleString("en-IN", { timeZone: "Asia/Kolkata", dateStyle: "medium", timeStyle: "medium" }) + " IST";
  }

  // ---- stats and sources -------------------------------------------------------------------
  function renderStats(stats) {
    const values = {
      objects: fmtInt(stats.objects),
      bytes: fmtBytes(stats.bytes),
      records: fmtInt(stats.records),
      compression_ratio: stats.compression_ratio
        ? fmtRatio(stats.compression_ratio) + " (" + stats.space_saved_pct + "% smaller)" : "–",
    };
    for (const [key, value] of Object.entries(values)) {
      document.querySelector('[data-stat="' + key + '"]').textContent = value;
    }
    const body = document.querySelector("#lake-sources tbody");
    body.replaceChildren();
    if (!stats.sources.length) {
      const row = el("tr");
      const cell = el("td", "The lake is empty: nothing has been stored yet.", "muted");
      cell.colSpan = 8;
      row.append(cell);
      body.append(row);
    }
    for (const s of stats.sources) {
      const row = el("tr");
      row.dataset.source = s.source;
      row.append(el("td", s.source), el("td", fmtInt(s.objects)), el("td", fmtInt(s.records)),
        el("td", fmtBytes(s.bytes)), el("td", fmtRatio(s.compression_ratio)), el("td", s.first_date),
        el("td", s.last_date), el("td", fmtInt(s.simulated_objects)));
      body.append(row);
    }
    const select = $("lake-source");
    select.replaceChildren(el("option", stats.sources.length ? "Choose a source" : "No sources yet"));
    select.firstChild.value = "";
    for (const s of stats.sources) {
      const opt = el("option", s.source + " (" + fmtInt(s.objects) + " objects)");
      opt.value = s.source;
      select.append(opt);
    }
    const known = stats.sources.some((s) => s.source === state.source);
    if (!known) { state.source = ""; }
    select.value = state.source;
    select.disabled = !stats.sources.length;
  }

  async function loadStats() {
    renderStats(await getJSON(API + "/stats"));
  }

  // ---- dates -------------------------------------------------------------------------------
  async function loadDates(keepDate) {
    const select = $("lake-date");
    select.disabled = true;
    if (!state.source) {
      select.replaceChildren(el("option", "Choose a source first"));
      select.firstChild.value = "";
      clearObjects("Choose a source and a day to list its objects.");
      return;
    }
    select.replaceChildren(el("option", "Loading days…"));
    const body = await getJSON(API + "/sources/" + encodeURIComponent(state.source) + "/dates");
    select.replaceChildren();
    for (const day of body.days) {
      const opt = el("option", day.date + " · " + fmtInt(day.objects) + " objects, " + fmtInt(day.records) + " records");
      opt.value = day.date;
      select.append(opt);
    }
    select.disabled = !body.days.length;
    const wanted = keepDate && body.dates.includes(state.date) ? state.date : body.dates[0] || "";
    state.date = wanted;
    select.value = wanted;
    await loadObjects();
  }

  // ---- objects of the day ------------------------------------------------------------------
  function clearObjects(hint) {
    $("lake-objects").hidden = true;
    $("lake-objects").querySelector("tbody").replaceChildren();
    $("lake-more").hidden = true;
    $("lake-objects-hint").textContent = hint;
    $("lake-objects-hint").hidden = false;
  }

  function objectRow(obj) {
    const row = el("tr");
    row.dataset.id = obj.id;
    const keyCell = el("td");
    keyCell.append(el("span", obj.key.split("/").pop(), "key"));
    if (obj.simulated) {
      keyCell.append(" ", el("span", "simulated", "badge sim"));
    }
    const status = el("span", obj.status, "badge " + (obj.status === "missing" || obj.status === "corrupt" ? "bad" : "ok"));
    const statusCell = el("td");
    statusCell.append(status);
    const view = el("button", "View");
    view.type = "button";
    view.addEventListener("click", () => loadObject(obj.id, { scroll: true }).catch((err) => showError(err.message)));
    const viewCell = el("td");
    viewCell.append(view);
    row.append(el("td", fmtIST(obj.timestamp)), keyCell, el("td", fmtInt(obj.records)), el("td", fmtBytes(obj.bytes)),
      statusCell, viewCell);
    if (obj.id === state.objectId) row.classList.add("selected");
    return row;
  }

  async function loadObjects(url) {
    if (!state.source || !state.date) {
      clearObjects("This source holds no days yet.");
      return;
    }
    const first = !url;
    if (first) {
      clearObjects("Loading the objects of " + state.date + "…");
      $("lake-objects-hint").className = "loading";
      url = API + "/sources/" + encodeURIComponent(state.source) + "/data?include_data=false&page_size=100&date=" +
        encodeURIComponent(state.date);
    }
    const page = await getJSON(url);
    const tbody = $("lake-objects").querySelector("tbody");
    for (const obj of page.results) tbody.append(objectRow(obj));
    $("lake-objects-hint").className = "muted";
    $("lake-objects-hint").textContent = fmtInt(page.count) + " object(s) stored on " + state.date + " (UTC), oldest first.";
    $("lake-objects").hidden = false;
    state.nextUrl = page.next;
    $("lake-more").hidden = !page.next;
  }

  // ---- the JSON viewer ---------------------------------------------------------------------
  function summaryText(value) {
    if (Array.isArray(value)) return "[ " + value.length + (value.length === 1 ? " item ]" : " items ]");
    const n = Object.keys(value).length;
    return "{ " + n + (n === 1 ? " key }" : " keys }");
  }

  function leafSpan(value) {
    if (value === null) return el("span", "null", "z");
    if (typeof value === "string") return el("span", JSON.stringify(value), "s");
    if (typeof value === "number") return el("span", String(value), "n");
    if (typeof value === "boolean") return el("span", String(value), "b");
    return el("span", JSON.stringify(value));
  }

  // Children are built when a branch is first opened, so a 1,000-record batch opens instantly.
  function jsonNode(label, value, open) {
    if (value !== null && typeof value === "object") {
      const details = el("details");
      const summary = el("summary");
      if (label !== null) summary.append(el("span", label, "k"), ": ");
      summary.append(el("span", summaryText(value), "hint"));
      details.append(summary);
      let built = false;
      const build = () => {
        if (built) return;
        built = true;
        const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
        for (const [k, v] of entries) details.append(jsonNode(k, v, false));
      };
      details.addEventListener("toggle", () => { if (details.open) build(); });
      details.expand = () => { build(); details.open = true; };
      if (open) details.expand();
      return details;
    }
    const line = el("div", null, "leaf");
    if (label !== null) line.append(el("span", label, "k"), ": ");
    line.append(leafSpan(value));
    return line;
  }

  async function loadObject(id, { scroll = false } = {}) {
    state.objectId = id;
    for (const row of document.querySelectorAll("#lake-objects tbody tr")) {
      row.classList.toggle("selected", Number(row.dataset.id) === id);
    }
    const card = $("lake-viewer-card");
    card.hidden = false;
    // Below a long list the viewer opens out of sight: bring it into view (a click, not a refresh).
    if (scroll) card.scrollIntoView({ block: "start" });
    const viewer = $("lake-viewer");
    viewer.replaceChildren(el("p", "Loading the object…", "loading"));
    const obj = await getJSON(API + "/objects/" + id);
    $("lake-viewer-title").textContent = obj.key;
    $("lake-download").href = obj.download_url;
    const meta = [fmtIST(obj.timestamp), fmtInt(obj.records) + " record(s)", fmtBytes(obj.bytes) + " compressed",
      fmtBytes(obj.raw_bytes) + " of JSON", "status " + obj.status];
    if (obj.run_id) meta.push("pipeline run " + obj.run_id);
    $("lake-viewer-meta").replaceChildren(meta.join(" · "));
    if (obj.simulated) $("lake-viewer-meta").append(" ", el("span", "simulated", "badge sim"));
    if (obj.error) {
      viewer.replaceChildren(el("p", "This object cannot be shown: " + obj.error, "error"));
      $("lake-viewer-plain").textContent = "";
      return obj;
    }
    if (obj.inline === false || obj.envelope === null) {
      // Too big to show here (LAKE_INLINE_MAX_BYTES): say so, and point at the download.
      const link = el("a", "Download the object (.json.gz)");
      link.href = obj.download_url;
      const note = el("p", (obj.detail || "This object is too big to show here.") + " ");
      note.append(link);
      viewer.replaceChildren(note);
      $("lake-viewer-plain").textContent = "";
      return obj;
    }
    viewer.replaceChildren(jsonNode(null, obj.envelope, true));
    // Open the data branch too: that is what people come for.
    const dataBranch = viewer.querySelector(":scope > details > details:last-of-type");
    if (dataBranch) {
      dataBranch.expand();
      // A batch opens on its first record; the others stay folded.
      const firstRecord = dataBranch.querySelector(":scope > details");
      if (firstRecord) firstRecord.expand();
    }
    $("lake-viewer-plain").textContent = JSON.stringify(obj.envelope, null, 2);
    return obj;
  }

  // ---- wiring ------------------------------------------------------------------------------
  async function refresh() {
    showError("");
    try {
      await loadStats();
      if (state.source) await loadDates(true);
      if (state.objectId !== null && !$("lake-viewer-card").hidden) await loadObject(state.objectId);
    } catch (err) {
      showError(err.message);
    }
  }

  $("lake-source").addEventListener("change", (event) => {
    state.source = event.target.value;
    state.date = "";
    showError("");
    loadDates(false).catch((err) => showError(err.message));
  });
  $("lake-date").addEventListener("change", (event) => {
    state.date = event.target.value;
    showError("");
    loadObjects().catch((err) => showError(err.message));
  });
  $("lake-more").addEventListener("click", () => {
    if (state.nextUrl) loadObjects(state.nextUrl).catch((err) => showError(err.message));
  });
  $("lake-refresh").addEventListener("click", refresh);
  $("lake-plain-toggle").addEventListener("click", () => {
    const plain = $("lake-viewer-plain");
    plain.hidden = !plain.hidden;
    $("lake-viewer").hidden = !plain.hidden;
    $("lake-plain-toggle").textContent = plain.hidden ? "Show as plain text" : "Show as a tree";
  });

  // A link to one object (/lake/?object=ID, as the suspicious tickers page gives): open it, with its source
  // and day listed around it.
  async function start() {
    await refresh();
    const wanted = new URLSearchParams(window.location.search).get("object");
    if (wanted === null) return;
    const id = Number(wanted);
    if (!/^[0-9]+$/.test(wanted) || !Number.isSafeInteger(id) || id < 1) {
      showError("The link names no lake object: 'object' must be an object's number, not '" + wanted + "'.");
      return;
    }
    try {
      const obj = await loadObject(id, { scroll: true });
      if (obj && obj.source && obj.date) {
        state.source = obj.source;
        state.date = obj.date;
        $("lake-source").value = obj.source;
        await loadDates(true);
        // The day lists 100 objects a page, oldest first: page on to the linked one (a busy day has ~300).
        const listed = () => document.querySelector('#lake-objects tbody tr[data-id="' + id + '"]');
        for (let pages = 1; pages < 20 && state.nextUrl && !listed(); pages++) await loadObjects(state.nextUrl);
        if (listed()) listed().scrollIntoView({ block: "nearest" });
        $("lake-viewer-card").scrollIntoView({ block: "start" });
      }
    } catch (err) {
      $("lake-viewer-card").hidden = true;
      showError(err.message);
    }
  }

  start();
})();
