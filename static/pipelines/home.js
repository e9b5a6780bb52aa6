// The pipelines page: polls /api/pipelines/overview and redraws. Every value is set as text.
(function () {
  "use strict";
  const REFRESH_MS = 10000;
  const fmt = new Intl.NumberFormat("en-IN");
  const timeFmt = new Intl.DateTimeFormat("en-IN", { timeZone: "Asia/Kolkata", dateStyle: "medium", timeStyle: "medium" });
  const hourFmt = new Intl.DateTimeFormat("en-IN", { timeZone: "Asia/Kolkata", hour: "2-digit", minute: "2-digit" });
  const dayFmt = new Intl.DateTimeFormat("en-IN", { timeZone: "UTC", day: "2-digit", month: "short" });
  const $ = (id) => document.getElementById(id);
  let loadedChart = null, timelineChart = null, timelineTicker = "_busiest";

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function when(iso) { return iso ? timeFmt.format(new Date(iso)) : "never"; }
  function ago(iso) {
    if (!iso) return "never";
    const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " days ago";
  }
  function until(iso) {
    if (!iso) return "not scheduled";
    const s = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
    if (s <= 5) return "due now";
    if (s < 60) return "in " + s + " s";
    if (s < 3600) return "in " + Math.round(s / 60) + " min";
    return "at " + timeFmt.format(new Date(iso));
  }
  function bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KB", "MB", "GB", "TB"]; let i = 0; let v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : v) + " " + units[i];
  }
  function csrf() {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  async function getJSON(url) {
    const res = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.detail || ("HTTP " + res.status));
    return body;
  }

  function renderStats(data) {
    const w = data.warehouse || {}, l = data.lake || {};
    const stock = w.stock_data || {}, social = w.social_mentions || {};
    // A large table's count is PostgreSQL's estimate (an exact count would read every row): shown as such.
    const count = (t) => (t.records_estimated ? "≈ " : "") + fmt.format(t.records || 0);
    $("st-stock").textContent = count(stock);
    $("st-social").textContent = count(social);
    $("st-stock").title = stock.records_estimated ? "estimated by PostgreSQL: an exact count reads every row" : "";
    $("st-tickers").textContent = fmt.format(stock.distinct_tickers || 0);
    $("st-newest").textContent = stock.newest ? timeFmt.format(new Date(stock.newest)) : "–";
    $("st-days").textContent = fmt.format(data.trading_days || 0);
    $("st-objects").textContent = fmt.format(l.objects ?? 0);
    $("st-size").textContent = bytes(l.bytes);
    const ratio = l.compression_ratio;
    $("st-ratio").textContent = l.space_saved_pct !== undefined ? Math.round(l.space_saved_pct) + "%" : (ratio ? Math.round((1 - 1 / ratio) * 100) + "%" : "–");
  }

  function renderPipelines(data) {
    const box = $("pipelines");
    box.replaceChildren();
    for (const p of data.pipelines) {
      const card = el("div", null, "stat pipeline-card");
      card.dataset.pipeline = p.name;
      const h = el("h3");
      h.append(el("span", p.title));
      const run = p.last_run;
      h.append(el("span", run ? run.status : "no runs yet", "badge " + (run ? run.status : "")));
      card.append(h);
      if (run) {
        card.append(el("p", "Last run " + ago(run.finished_at || run.started_at || run.created) +
          ": " + fmt.format(run.inserted) + " rows loaded" +
          (run.rejected ? ", " + fmt.format(run.rejected) + " set aside" : "") +
          (run.duration_seconds !== null ? " in " + run.duration_seconds.toFixed(1) + " s" : "")));
        if (run.error) card.append(el("p", "Problem: " + run.error.slice(0, 160), "error"));
      } else {
        card.append(el("p", "This pipeline has not run yet.", "muted"));
      }
      card.append(el("p", p.schedule_enabled ? "Next run " + until(p.next_run) : "No schedule enabled", "muted"));
      if (data.can_run) {
        const button = el("button", "Run now");
        button.type = "button";
        button.addEventListener("click", () => runNow(p.name, button));
        card.append(button);
      }
      box.append(card);
    }
  }

  async function runNow(name, button) {
    button.disabled = true;
    const old = button.textContent;
    button.textContent = "Queuing…";
    try {
      const res = await fetch("/api/pipelines/" + encodeURIComponent(name) + "/run", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
      });
      const body = await res.json().catch(() => ({}));
      button.textContent = res.status === 202 ? "Queued run #" + body.id : (body.detail || "Could not queue");
    } catch (err) {
      button.textContent = "Could not queue: " + err.message;
    }
    setTimeout(() => { button.disabled = false; button.textContent = old; refresh(); }, 2500);
  }

  function renderRuns(data) {
    const body = $("runs").querySelector("tbody");
    body.replaceChildren();
    if (!data.recent_runs.length) {
      const tr = el("tr"); const td = el("td", "No runs yet.", "muted"); td.colSpan = 11; tr.append(td); body.append(tr);
      return;
    }
    for (const r of data.recent_runs) {
      const tr = el("tr");
      tr.append(el("td", r.id), el("td", r.pipeline), el("td", r.trigger));
      const st = el("td"); st.append(el("span", r.status, "badge " + r.status)); tr.append(st);
      tr.append(el("td", when(r.started_at || r.created)),
        el("td", r.duration_seconds !== null ? r.duration_seconds.toFixed(1) + " s" : "–"),
        el("td", fmt.format(r.fetched)), el("td", fmt.format(r.inserted)), el("td", fmt.format(r.rejected)),
        el("td", fmt.format(r.duplicates)), el("td", (r.error || "").slice(0, 120)));
      body.append(tr);
    }
  }

  const COLORS = { nse_api: "#0b6e4f", nse_bhavcopy: "#8250df", twitter: "#0969da", telegram: "#bf8700", replay: "#57606a" };
  function renderLoaded(data) {
    const rows = data.loaded_per_run || [];
    $("loaded-empty").hidden = rows.length > 0;
    if (typeof Chart === "undefined") return;
    const labels = rows.map((r) => hourFmt.format(new Date(r.finished_at)));
    const dataset = { label: "rows loaded", data: rows.map((r) => r.inserted), backgroundColor: rows.map((r) => COLORS[r.pipeline] || "#57606a") };
    if (!loadedChart) {
      loadedChart = new Chart($("loaded-chart"), {
        type: "bar", data: { labels, datasets: [dataset] },
        options: { animation: false, plugins: { legend: { display: false },
          tooltip: { callbacks: { title: (items) => { const r = rows[items[0].dataIndex]; return r ? r.pipeline + " #" + r.id : ""; } } } },
          scales: { y: { beginAtZero: true, title: { display: true, text: "rows" } } } },
      });
    } else {
      loadedChart.data.labels = labels; loadedChart.data.datasets[0] = dataset; loadedChart.update();
    }
  }

  async function renderTimeline() {
    $("timeline-error").hidden = true;
    const daily = $("timeline-range").value === "days";
    let data;
    try {
      data = await getJSON("/api/pipelines/timeline/" + encodeURIComponent(timelineTicker) + (daily ? "?days=30" : ""));
    } catch (err) {
      $("timeline-error").textContent = "Could not load that ticker: " + err.message;
      $("timeline-error").hidden = false;
      return;
    }
    $("timeline-ticker").textContent = data.ticker || "no data yet";
    // Per day: the close, the day's mentions and its pump score; per hour: the last price and the hour's.
    const pts = (daily ? data.days : data.points) || [];
    $("timeline-empty").hidden = pts.length > 0;
    if (typeof Chart === "undefined") return;
    const labels = pts.map((p) => (daily ? dayFmt.format(new Date(p.date)) : hourFmt.format(new Date(p.hour))));
    const datasets = [
      { type: "line", label: daily ? "close (₹)" : "price (₹)", data: pts.map((p) => (daily ? p.close : p.price)), borderColor: "#0b6e4f", yAxisID: "price", spanGaps: true },
      { type: "bar", label: "mentions", data: pts.map((p) => p.mentions), backgroundColor: "rgba(9,105,218,.45)", yAxisID: "count" },
      { type: "line", label: "pump score (0–1)", data: pts.map((p) => p.pump_score), borderColor: "#cf222e", yAxisID: "pump" },
    ];
    if (!timelineChart) {
      timelineChart = new Chart($("timeline-chart"), {
        data: { labels, datasets },
        options: { animation: false, scales: {
          price: { position: "left", title: { display: true, text: "price ₹" } },
          count: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "mentions" } },
          pump: { position: "right", min: 0, max: 1, grid: { drawOnChartArea: false }, title: { display: true, text: "pump" } } } },
      });
    } else {
      timelineChart.data.labels = labels; timelineChart.data.datasets = datasets; timelineChart.update();
    }
  }

  async function refresh() {
    try {
      const data = await getJSON("/api/pipelines/overview");
      $("page-error").hidden = true;
      $("sim-badge").hidden = !data.simulated;
      renderStats(data); renderPipelines(data); renderRuns(data); renderLoaded(data);
      $("updated").textContent = "Updated " + hourFmt.format(new Date());
    } catch (err) {
      $("page-error").textContent = "Could not refresh the page data: " + err.message + ". Retrying in 10 seconds.";
      $("page-error").hidden = false;
    }
    renderTimeline();
  }

  $("timeline-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("timeline-input").value.trim();
    timelineTicker = value || "_busiest";
    renderTimeline();
  });
  $("timeline-range").addEventListener("change", () => renderTimeline());
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
