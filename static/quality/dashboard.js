// Trend charts of the quality dashboard. Data comes from a json_script block (never from innerHTML).
(function () {
  "use strict";
  var node = document.getElementById("quality-trends");
  if (!node || typeof Chart === "undefined") return;
  var trends = JSON.parse(node.textContent);
  var colours = { stock_quotes: "#0b6e4f", social_mentions: "#0969da", bhavcopy_rows: "#9a6700", daily_bars: "#8250df" };
  var HOUR = 3600 * 1000;
  var format = function (ms, withTime) {
    var options = { timeZone: "Asia/Kolkata", day: "2-digit", month: "short" };
    if (withTime) { options.hour = "2-digit"; options.minute = "2-digit"; }
    return new Date(ms).toLocaleString("en-IN", options);
  };
  var drawn = 0;
  window.qualityCharts = {};
  Object.keys(trends).forEach(function (metric) {
    var canvas = document.getElementById("trend-" + metric);
    if (!canvas) return;
    var xs = [];
    var datasets = Object.keys(trends[metric].datasets).map(function (name) {
      var points = trends[metric].datasets[name].map(function (p) { xs.push(p[0]); return { x: p[0], y: p[1] }; });
      return {
        label: name.replace(/_/g, " "),
        data: points,
        borderColor: colours[name] || "#555",
        backgroundColor: colours[name] || "#555",
        pointRadius: points.length < 3 ? 4 : 2,
        tension: 0.2,
      };
    });
    if (!xs.length) {
      // Nothing measured: say so instead of an empty chart on an axis of epoch dates.
      var empty = document.createElement("p");
      empty.className = "muted no-data";
      empty.textContent = "No data yet.";
      canvas.replaceWith(empty);
      return;
    }
    drawn += 1;
    // An axis around the measurements: at least an hour wide, so one point sits in a sensible window.
    var min = Math.min.apply(null, xs), max = Math.max.apply(null, xs);
    if (max - min < HOUR) { var mid = (min + max) / 2; min = mid - HOUR / 2; max = mid + HOUR / 2; }
    var withTime = max - min <= 3 * 24 * HOUR;
    window.qualityCharts[metric] = new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        parsing: false,
        scales: {
          x: { type: "linear", min: min, max: max, ticks: { callback: function (v) { return format(v, withTime); }, maxTicksLimit: 6 } },
        },
        plugins: { tooltip: { callbacks: { title: function (items) { return items.length ? format(items[0].parsed.x, true) + " IST" : ""; } } } },
      },
    });
  });
  if (!drawn) document.getElementById("trends-empty").hidden = false;
})();
