// rmmhub page glue: live updates over Server-Sent Events, turned into htmx triggers on <body>.
// Elements refresh themselves with hx-trigger="approvals-changed from:body".
(function () {
  "use strict";
  var body = document.body;
  var url = body && body.dataset.events;
  if (!url || !window.EventSource) return;
  var source = new EventSource(url);
  var connectedBefore = false;
  // The server ends each stream after a while (so shutdowns never wait on it) and the browser
  // reconnects; after any reconnect, refresh once in case an event fell into the gap.
  source.addEventListener("ready", function () {
    body.dataset.live = "on";
    if (connectedBefore) {
      htmx.trigger(body, "approvals-changed", {resync: true});
      htmx.trigger(body, "command-changed", {resync: true});
    }
    connectedBefore = true;
  });
  source.addEventListener("approval", function (e) {
    var detail = {};
    try { detail = JSON.parse(e.data); } catch (err) { console.warn("bad live event", err); }
    htmx.trigger(body, "approvals-changed", detail);
  });
  // Command boxes re-read their command on its command.updated events. A box swapped in while an
  // event was on its way (its element was being replaced, so the trigger was lost) catches up on
  // htmx:load, from the newest status the stream reported for that command.
  var COMMAND_RANK = {queued: 0, delivered: 1, running: 2};
  var newestStatus = {};
  function rank(status) { return Object.prototype.hasOwnProperty.call(COMMAND_RANK, status) ? COMMAND_RANK[status] : 3; }
  source.addEventListener("command", function (e) {
    var detail = {};
    try { detail = JSON.parse(e.data); } catch (err) { console.warn("bad live event", err); }
    var seen = newestStatus[detail.command_id];
    if (!seen || rank(detail.status) >= rank(seen)) newestStatus[detail.command_id] = detail.status;
    htmx.trigger(body, "command-changed", detail);
  });
  document.addEventListener("htmx:load", function (e) {
    var elt = e.detail && e.detail.elt;
    var id = elt && elt.dataset && elt.dataset.commandId;
    if (!id || !elt.hasAttribute("hx-trigger")) return;
    var seen = newestStatus[id];
    if (seen && rank(seen) > rank(elt.dataset.commandStatus)) {
      htmx.trigger(body, "command-changed", {command_id: Number(id), status: seen, catch_up: true});
    }
  });
  source.addEventListener("assistant", function (e) {
    var detail = {};
    try { detail = JSON.parse(e.data); } catch (err) { console.warn("bad live event", err); }
    body.dispatchEvent(new CustomEvent("assistant-changed", {detail: detail}));
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

// A session that ended mid-page: htmx followed the redirect to /login; load the sign-in page
// as a whole page instead of swapping it into a fragment.
document.addEventListener("htmx:beforeSwap", function (e) {
  var url = (e.detail.xhr && e.detail.xhr.responseURL) || "";
  if (url && new URL(url).pathname === "/login") {
    e.detail.shouldSwap = false;
    window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  }
});

// Bind swapped-in content in the same task that inserts it. htmx binds new content in its settle step, a
// few milliseconds later; a click in between (a live refresh can swap the queue at any moment) would
// submit an unbound form natively. Processing is idempotent: htmx skips nodes it has already bound.
document.addEventListener("htmx:afterSwap", function () { htmx.process(document.body); });

// Live fragments (hx-ext="live-fragment": they refresh themselves on live events and are replaced whole).
// 1. A request from inside one (a decision, an Output button) that is on its way when a live refresh answers
//    keeps its fragment: that refresh is not swapped in (the answer would land in a detached copy and vanish), and
//    the fragment refreshes again once the last such request has ended (XHR loadend: success, error or abort).
// 2. An answer for a fragment that has left the page meanwhile (a newer answer replaced it) is dropped: swapped
//    into the detached copy, it would carry the fragment's preserved elements (an opened output) off the page.
(function () {
  var LIVE = "[id][hx-ext~='live-fragment']";
  var busy = {};
  var stale = {};
  function refresh(id) {
    var live = document.getElementById(id);
    var event = live && (live.getAttribute("hx-trigger") || "").split(" ")[0];
    if (event) htmx.trigger(document.body, event, {resync: true});
  }
  htmx.defineExtension("live-fragment", {
    onEvent: function (name, evt) {
      var target = evt.detail && evt.detail.target;
      if (name === "htmx:beforeSwap" && target && !document.body.contains(target)) return false;
      return true;
    },
  });
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt;
    var xhr = e.detail.xhr;
    var live = elt && elt.parentElement && elt.parentElement.closest(LIVE);
    if (!live || !xhr) return;
    var id = live.id;
    busy[id] = (busy[id] || 0) + 1;
    xhr.addEventListener("loadend", function () {
      busy[id] -= 1;
      if (busy[id] === 0 && stale[id]) { delete stale[id]; refresh(id); }
    });
  });
  document.addEventListener("htmx:beforeSwap", function (e) {
    var elt = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (!elt || !elt.id || !busy[elt.id] || !elt.matches(LIVE) || e.detail.target !== elt) return;
    e.detail.shouldSwap = false;
    stale[elt.id] = true;
  });
})();

// A fragment htmx swapped in is live once its hx- attributes are processed (htmx's settle step, a few
// milliseconds after the swap). Mark it then, so scripts and browser tests act on bound elements only.
document.addEventListener("htmx:load", function (e) {
  var elt = e.detail && e.detail.elt;
  if (elt && elt.setAttribute) elt.setAttribute("data-bound", "");
});

// The Content-Security-Policy allows no inline handlers or style attributes; these take their place.
// <form data-confirm="Question?"> asks before submitting.
document.addEventListener("submit", function (e) {
  var form = e.target.closest && e.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
});
// <button data-remove-closest="#panel"> removes the enclosing element matching the selector.
document.addEventListener("click", function (e) {
  var btn = e.target.closest && e.target.closest("[data-remove-closest]");
  if (!btn) return;
  var target = btn.closest(btn.dataset.removeClosest);
  if (target) target.remove();
});
// Meter bars take their width from aria-valuenow (0-100).
function sizeMeters(root) {
  var bars = root.querySelectorAll ? root.querySelectorAll(".meter[aria-valuenow] > span") : [];
  Array.prototype.forEach.call(bars, function (bar) {
    var value = parseFloat(bar.parentElement.getAttribute("aria-valuenow")) || 0;
    bar.style.width = Math.max(0, Math.min(100, value)) + "%";
  });
}
document.addEventListener("htmx:load", function (e) { if (e.detail && e.detail.elt) sizeMeters(e.detail.elt); });
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { sizeMeters(document); });
else sizeMeters(document);
