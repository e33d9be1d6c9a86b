// RMM pages: System-tab gauges with uPlot sparklines (network: in and out bytes/s) (refreshed every 10 s), copy buttons, run dialogs.
(function () {
  "use strict";

  var COLORS = { cpu: "#2563eb", memory: "#7c3aed", disk: "#0f766e", load: "#b45309", network: "#0891b2", network_out: "#db2777" };
  var plots = {};

  function rate(v) {
    var units = ["B", "KB", "MB", "GB"], i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : Math.round(v)) + " " + units[i] + "/s";
  }

  function fmt(key, v) {
    if (v === null || v === undefined) return "—";
    if (key === "network") return rate(v) + " in";
    return key === "load" ? v.toFixed(2) : Math.round(v) + "%";
  }

  function sparkOpts(key, el) {
    var pct = key !== "load" && key !== "network";
    var series = [{}, { stroke: COLORS[key], width: 1.5, fill: COLORS[key] + "22", spanGaps: true, points: { show: false } }];
    if (key === "network") series.push({ stroke: COLORS.network_out, width: 1.5, spanGaps: true, points: { show: false } });
    return {
      width: Math.max(el.clientWidth, 160), height: 54, legend: { show: false }, cursor: { show: false },
      select: { show: false }, padding: [4, 2, 2, 2],
      scales: { x: { time: true }, y: pct ? { range: [0, 100] } : { range: function (u, lo, hi) { return [0, Math.max(1, hi * 1.2)]; } } },
      axes: [{ show: false }, { show: false }],
      series: series
    };
  }

  function draw(key, t, values, more) {
    var el = document.getElementById("spark-" + key);
    if (!el || !window.uPlot) return;
    var data = more ? [t, values, more] : [t, values];
    if (plots[key]) { plots[key].setData(data); }
    else { el.innerHTML = ""; plots[key] = new uPlot(sparkOpts(key, el), data, el); }
    el.dataset.points = String(t.length);
  }

  function setGauge(key, value) {
    var card = document.querySelector('.gauge[data-metric="' + key + '"]');
    if (!card) return;
    var label = card.querySelector(".gauge-value");
    if (label) label.textContent = fmt(key, value);
    var bar = card.querySelector(".meter span");
    if (bar && value !== null && value !== undefined) {
      bar.style.width = Math.min(100, value) + "%";
      bar.parentElement.setAttribute("aria-valuenow", String(value));
    }
  }

  function refresh(section) {
    return fetch(section.dataset.metricsUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("metrics " + r.status); return r.json(); })
      .then(function (m) {
        var s = m.series;
        ["cpu", "memory", "disk", "load"].forEach(function (k) { draw(k, s.t, s[k]); });
        if (s.net_recv) draw("network", s.t, s.net_recv, s.net_sent);
        if (m.latest) {
          setGauge("cpu", m.latest.cpu); setGauge("memory", m.latest.memory);
          setGauge("disk", m.latest.disk); setGauge("load", m.latest.load_1);
          setGauge("network", m.latest.net_recv);
          var out = document.querySelector('[data-testid="network-out"]');
          if (out && m.latest.net_sent !== null && m.latest.net_sent !== undefined) out.textContent = rate(m.latest.net_sent) + " out";
        }
        section.dataset.updated = String(m.now);
        section.dataset.samples = String(s.t.length);
      })
      .catch(function (err) { section.dataset.error = String(err); console.warn(err); });
  }

  function initGauges() {
    var section = document.getElementById("gauges");
    if (!section) return;
    refresh(section);
    var every = parseInt(section.dataset.refreshMs || "10000", 10);
    var timer = setInterval(function () { if (!document.hidden) refresh(section); }, every);
    window.addEventListener("pagehide", function () { clearInterval(timer); });
    window.addEventListener("resize", function () {
      Object.keys(plots).forEach(function (k) {
        var el = document.getElementById("spark-" + k);
        if (el) plots[k].setSize({ width: Math.max(el.clientWidth, 160), height: 54 });
      });
    });
  }

  // Copy buttons: <button data-copy="#element-id">.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-copy]");
    if (btn) {
      var src = document.querySelector(btn.dataset.copy);
      if (!src) return;
      var text = src.textContent.trim();
      var done = function () { btn.dataset.copied = "true"; var old = btn.textContent; btn.textContent = "Copied"; setTimeout(function () { btn.textContent = old; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(src, text); done(); });
      } else { fallbackCopy(src, text); done(); }
      return;
    }
    var close = e.target.closest("[data-close-dialog]");
    if (close) { var dlg = close.closest("dialog"); if (dlg) { dlg.close(); dlg.remove(); } }
  });

  function fallbackCopy(src, text) {
    var area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } finally { area.remove(); }
  }

  // Dialogs loaded by htmx open themselves.
  document.addEventListener("htmx:afterSettle", function (e) {
    var dlg = e.target.querySelector && e.target.querySelector("dialog[data-autoshow]");
    if (dlg && !dlg.open) dlg.showModal();
  });

  // The Remote Connection window opens as a locked popup (no menubar, toolbar or location bar).
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-remote-window]");
    if (!link) return;
    e.preventDefault();
    window.open(link.href, link.target, "popup,width=1280,height=820,menubar=no,toolbar=no,location=no");
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initGauges);
  else initGauges();
})();
