// The assistant chat: renders a conversation from the API (as text, never HTML), sends messages as a
// stream (SSE over fetch), streams the reply of a run that resumed after an approval as the hub
// publishes its pieces (live "assistant.delta" events), and reloads when the conversation changed.
// data-stream-chunks / data-live-chunks count the pieces received (the reply arrives in pieces, not whole).
(function () {
  "use strict";
  var root = document.getElementById("assistant-chat");
  if (!root) return;
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var text = document.getElementById("chat-text");
  var plan = document.getElementById("chat-plan");
  var runPlan = document.getElementById("chat-run-plan");
  var api = "/api/v1/assistant/conversations";
  var headers = {"Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf};

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }
  function json(value) { return JSON.stringify(value, null, 2); }

  function step(entry) {
    var box = el("details", "assistant-step status-" + (entry.status || ""));
    box.dataset.status = entry.status || "";
    if (entry.approval_id) box.dataset.approval = entry.approval_id;
    var label = entry.tool + " \u2014 " + (entry.status || "") + (entry.policy ? " (policy " + entry.policy + ")" : "");
    if (entry.status === "pending_approval") label += " \u2014 waiting for approval #" + entry.approval_id;
    box.appendChild(el("summary", null, label));
    box.appendChild(el("div", "muted", entry.text || entry.message || ""));
    box.appendChild(el("pre", null, "arguments: " + json(entry.args || {})));
    if (entry.result !== null && entry.result !== undefined) box.appendChild(el("pre", "assistant-result", json(entry.result)));
    return box;
  }

  function render(conv) {
    log.textContent = "";
    var planned = false;
    conv.entries.forEach(function (entry) {
      if (entry.kind === "tool") {
        log.appendChild(step(entry));
        if (entry.status === "planned") planned = true;
      } else {
        log.appendChild(el("p", "assistant-msg assistant-" + entry.kind, (entry.kind === "user" ? "You: " : "Assistant: ") + entry.text));
      }
    });
    runPlan.hidden = !planned;
    root.dataset.entries = String(conv.entries.length);
    root.setAttribute("data-bound", "");
  }

  function load() {
    var id = root.dataset.conversation;
    if (!id) { root.setAttribute("data-bound", ""); return Promise.resolve(); }
    return fetch(api + "/" + id, {headers: headers}).then(function (r) { return r.json(); }).then(render);
  }

  function ensureConversation() {
    if (root.dataset.conversation) return Promise.resolve(root.dataset.conversation);
    return fetch(api, {method: "POST", headers: headers, body: "{}"}).then(function (r) { return r.json(); }).then(function (c) {
      root.dataset.conversation = String(c.id);
      history.replaceState(null, "", "/assistant?c=" + c.id);
      return String(c.id);
    });
  }

  function stream(id, body) {
    var reply = el("p", "assistant-msg assistant-assistant", "Assistant: ");
    log.appendChild(el("p", "assistant-msg assistant-user", "You: " + body.text));
    log.appendChild(reply);
    return fetch(api + "/" + id + "/messages?stream=true", {method: "POST", headers: headers, body: JSON.stringify(body)}).then(function (r) {
      var reader = r.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return load();
          buffer += decoder.decode(chunk.value, {stream: true});
          var events = buffer.split("\n\n");
          buffer = events.pop();
          events.forEach(function (raw) {
            var name = (raw.match(/^event: (.*)$/m) || [])[1];
            var data = JSON.parse((raw.match(/^data: (.*)$/m) || [null, "{}"])[1]);
            if (name === "step") log.insertBefore(step(data), reply);
            else if (name === "delta") {
              reply.textContent += data.text;
              root.dataset.streamChunks = String(Number(root.dataset.streamChunks || 0) + 1);
            }
            else if (name === "error") reply.textContent += data.message;
          });
          return pump();
        });
      }
      return pump();
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = {text: text.value, plan: plan.checked};
    if (!body.text.trim()) return;
    text.value = "";
    root.removeAttribute("data-bound");
    ensureConversation().then(function (id) { return stream(id, body); });
  });
  runPlan.addEventListener("click", function () {
    root.removeAttribute("data-bound");
    fetch(api + "/" + root.dataset.conversation + "/plan/run", {method: "POST", headers: headers}).then(load);
  });
  function liveDelta(text) {
    var reply = document.getElementById("chat-live-reply");
    if (!reply) {
      reply = el("p", "assistant-msg assistant-assistant assistant-live", "Assistant: ");
      reply.id = "chat-live-reply";
      log.appendChild(reply);
    }
    reply.textContent += text;
    root.dataset.liveChunks = String(Number(root.dataset.liveChunks || 0) + 1);
  }
  document.body.addEventListener("assistant-changed", function (e) {
    if (!e.detail || String(e.detail.conversation_id) !== root.dataset.conversation) return;
    if (e.detail.topic === "assistant.delta") liveDelta(e.detail.text);
    else load();
  });
  load();
})();
