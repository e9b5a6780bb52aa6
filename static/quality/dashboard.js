// Trend charts of the quality dashboard. Data comes from a json_script block (never from innerHTML).
(function () {
  "use strict";
  var node = document.getElementById("quality-trends");
  if (!node || typeof Chart === "undefined") return;
  var trends = JSON.parse(node.textContent);
  var colours = { stock_quotes: "#0b6e4f", social_mentions: "#0969da", bhavcopy_rows: "#9a6700", daily_bars: "#8250df" };
  var ist = function (ms) {
    return new Date(ms).toLocaleString("en-IN", { timeZone: "Asia/Kolkata", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" });
  };
  var drawn = 0;
  window.qualityCharts = {};
  Object.keys(trends).forEach(function (metric) {
    var canvas = document.getElementById("trend-" + metric);
    if (!canvas) return;
    var datasets = Object.keys(trends[metric].datasets).map(function (name) {
      drawn += 1;
      return {
        label: name.replace(/_/g, " "),
        data: trends[metric].datasets[name].map(function (p) { return { x: p[0], y: p[1] }; }),
        borderColor: colours[name] || "#555",
        backgroundColor: colours[name] || "#555",
        pointRadius: 2,
        tension: 0.2,
      };
    });
    window.qualityCharts[metric] = new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        parsing: false,
        scales: { x: { type: "linear", ticks: { callback: function (v) { return ist(v); }, maxTicksLimit: 6 } } },
        plugins: { tooltip: { callbacks: { title: function (items) { return items.length ? ist(items[0].parsed.x) + " IST" : ""; } } } },
      },
    });
  });
  if (!drawn) document.getElementById("trends-empty").hidden = false;
})();
