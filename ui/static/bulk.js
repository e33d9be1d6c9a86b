// Device list bulk actions: the selection count, "select the page", and the controls each action needs.
(function () {
  "use strict";
  function form() { return document.getElementById("bulk-form"); }
  function update() {
    var f = form();
    if (!f) return;
    var all = document.getElementById("bulk-all");
    var ticked = document.querySelectorAll("input.select-device:checked").length;
    var table = document.getElementById("device-table");
    var total = table ? table.getAttribute("data-total") : "0";
    f.querySelector("[data-testid=bulk-count]").textContent = all && all.checked ? total : String(ticked);
    var matching = f.querySelector("[data-testid=matching-count]");
    if (matching) matching.textContent = total;
    var action = f.querySelector("[name=action]").value;
    f.querySelectorAll("[data-for]").forEach(function (el) {
      var show = el.getAttribute("data-for").split(" ").indexOf(action) >= 0;
      el.hidden = !show;
      el.disabled = !show;
    });
  }
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t && t.id === "select-page") {
      document.querySelectorAll("input.select-device").forEach(function (box) { box.checked = t.checked; });
    }
    update();
  });
  document.addEventListener("htmx:afterSwap", update);
  document.addEventListener("DOMContentLoaded", update);
})();
