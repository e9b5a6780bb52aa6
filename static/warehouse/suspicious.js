// The suspicious-tickers page: fetches /api/data/warehouse/suspicious and renders it with textContent only
// (every value from the warehouse is text, never markup).
(function () {
  "use strict";
  const form = document.getElementById("filters");
  const table = document.getElementById("suspicious");
  const body = table.querySelector("tbody");
  const status = document.getElementById("s-status");
  const errorBox = document.getElementById("s-error");

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }
  function link(href, text) { return el("a", text, { href: href }); }
  function pct(value) { return value === null || value === undefined ? "–" : (value * 100).toFixed(1) + " %"; }

  function evidence(row) {
    const cell = el("td");
    const list = el("ul", null, { class: "msgs" });
    for (const m of row.flagged.top) {
      const item = el("li");
      item.appendChild(el("span", m.text, { class: "msg-text" }));
      const tags = el("div", null, { class: "tags" });
      tags.appendChild(el("span", `score ${m.pump_score.toFixed(2)} · ${m.platform}${m.channel ? " · " + m.channel : ""}`));
      if (m.rules.length) tags.appendChild(el("span", " · rules: " + m.rules.join(", ")));
      if (m.terms.length) tags.appendChild(el("span", " · terms: " + m.terms.join(", ")));
      tags.appendChild(document.createTextNode(" · "));
      tags.appendChild(link(m.admin_url, "row"));
      if (m.lake_object_page) {
        tags.appendChild(document.createTextNode(" · "));
        tags.appendChild(link(m.lake_object_page, "lake object " + m.lake_object_id));
      }
      item.appendChild(tags);
      list.appendChild(item);
    }
    if (!row.flagged.top.length) list.appendChild(el("li", "no flagged messages"));
    cell.appendChild(list);
    const links = el("div", null, { class: "tags" });
    links.appendChild(link(row.links.flagged_rows, "flagged rows"));
    links.appendChild(document.createTextNode(" · "));
    links.appendChild(link(row.links.rows, "all rows"));
    links.appendChild(document.createTextNode(" · "));
    links.appendChild(link(row.links.daily_bars, "daily bars"));
    for (const obj of row.links.lake_objects) {
      links.appendChild(document.createTextNode(" · "));
      links.appendChild(link(obj.page, "lake object " + obj.id));
      links.appendChild(document.createTextNode(" ("));
      links.appendChild(link(obj.download, "download"));
      links.appendChild(document.createTextNode(")"));
    }
    cell.appendChild(links);
    return cell;
  }

  function render(data) {
    body.replaceChildren();
    for (const row of data.results) {
      const tr = el("tr", null, { "data-ticker": row.ticker });
      tr.appendChild(el("td", row.rank, { class: "num" }));
      tr.appendChild(el("td", row.ticker));
      tr.appendChild(el("td", row.pump_score.toFixed(3), { class: "num score" }));
      tr.appendChild(el("td", `${row.mentions} (${row.mention_baseline}; ×${row.mention_ratio})`, { class: "num" }));
      tr.appendChild(el("td", `${row.flagged.count} of ${row.mentions}`, { class: "num" }));
      // Close to close, and the day's high when a pump's spike was given back by the close.
      const move = el("td", pct(row.price_change), { class: "num" });
      if (row.high_change !== null && row.high_change !== undefined && row.high_change !== row.price_change) {
        move.appendChild(el("div", "high " + pct(row.high_change), { class: "sub" }));
      }
      tr.appendChild(move);
      tr.appendChild(el("td", row.volume_ratio === null ? "–" : "×" + row.volume_ratio, { class: "num" }));
      tr.appendChild(evidence(row));
      body.appendChild(tr);
    }
    table.hidden = data.results.length === 0;
    status.textContent = data.date === null
      ? "No pump scores yet: run the social pipelines."
      : `${data.results.length} ticker-days on ${data.date} with a score of at least ${data.min_score}.`;
    if (data.date && !form.elements.date.value) form.elements.date.value = data.date;
  }

  async function load() {
    const params = new URLSearchParams();
    if (form.elements.date.value) params.set("date", form.elements.date.value);
    if (form.elements.min_score.value) params.set("min_score", form.elements.min_score.value);
    errorBox.hidden = true;
    status.textContent = "Loading…";
    try {
      const response = await fetch(form.dataset.api + "?" + params, { headers: { Accept: "application/json" } });
      const data = await response.json();
      if (!response.ok) throw new Error(data.detail || response.statusText);
      render(data);
    } catch (err) {
      errorBox.textContent = "Could not load the list: " + err.message;
      errorBox.hidden = false;
      status.textContent = "";
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
})();
