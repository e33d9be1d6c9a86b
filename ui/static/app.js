// rmmhub page glue: live updates over Server-Sent Events, turned into htmx triggers on <body>.
// Elements refresh themselves with hx-trigger="approvals-changed from:body".
(function () {
  "use strict";
  var body = document.body;
  var url = body && body.dataset.events;
  if (!url || !window.EventSource) return;
  var source = new EventSource(url);
  source.addEventListener("ready", function () { body.dataset.live = "on"; });
  source.addEventListener("approval", function (e) {
    var detail = {};
    try { detail = JSON.parse(e.data); } catch (err) { console.warn("bad live event", err); }
    htmx.trigger(body, "approvals-changed", detail);
  });
  source.onerror = function () { body.dataset.live = "off"; };
  window.addEventListener("pagehide", function () { source.close(); });
})();

// The flash area shows the latest error; a new user action (not a live refresh) clears it.
document.addEventListener("htmx:beforeRequest", function (e) {
  var trigger = e.detail.requestConfig && e.detail.requestConfig.triggeringEvent;
  var flash = document.getElementById("flash");
  if (flash && trigger && ["submit", "click", "change"].indexOf(trigger.type) >= 0) flash.innerHTML = "";
});
