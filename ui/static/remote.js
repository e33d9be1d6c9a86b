// Remote Connection window: xterm.js on the agent's PTY through the relay.
// The ticket arrives in the URL fragment (never sent to a server in a request line) and is
// removed from the address bar at once; the relay accepts it once.
(function () {
  "use strict";
  const params = new URLSearchParams(location.hash.slice(1));
  const relay = params.get("relay");
  const ticket = params.get("ticket");
  history.replaceState(null, "", location.pathname);
  const status = document.getElementById("remote-status");
  const idle = document.getElementById("remote-idle");
  const viewers = document.getElementById("remote-viewers");
  const viewOnly = document.getElementById("remote-view-only");
  const setState = (state, text) => { status.dataset.state = state; status.textContent = text; };

  // Soft navigation away from a live session is blocked (the window is a locked popup).
  window.addEventListener("beforeunload", (event) => { if (status.dataset.state === "connected") event.preventDefault(); });

  if (!relay || !ticket) { setState("error", "No session ticket: open the window from the device page."); return; }

  const term = new window.Terminal({ cursorBlink: true, scrollback: 5000, convertEol: false });
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById("remote-terminal"));
  fit.fit();
  window.remoteTerminal = term;

  let socket = null;
  let resume = null;
  let session = null;
  let ended = false;
  const encoder = new TextEncoder();

  function dial(url) {
    socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      if (typeof event.data === "string") { control(JSON.parse(event.data)); return; }
      term.write(new Uint8Array(event.data));
    };
    socket.onclose = (event) => {
      if (ended || event.code >= 4400 && event.code < 4500) {
        ended = true;
        setState("ended", "Session ended: " + (event.reason || "closed"));
        return;
      }
      if (resume) { setState("reconnecting", "Connection lost, reconnecting…"); setTimeout(() => dial(relay + "/relay/v1?session=" + session + "&resume=" + resume), 1000); }
      else setState("error", "Could not connect to the relay");
    };
  }

  function send(payload) { if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload)); }

  function control(msg) {
    if (msg.type === "hello") {
      resume = msg.resume; session = msg.session;
      viewOnly.checked = msg.view_only; viewOnly.disabled = msg.role !== "controller";
      setState(msg.agent ? "connected" : "waiting", msg.agent ? "Connected" : "Waiting for the device…");
      send({ type: "resize", cols: term.cols, rows: term.rows });
    } else if (msg.type === "agent") {
      setState(msg.connected ? "connected" : "reconnecting", msg.connected ? "Connected" : "The device dropped, waiting for it…");
    } else if (msg.type === "viewers") {
      viewers.textContent = msg.viewers.map((v) => v.user + (v.view_only ? " (view only)" : "")).join(", ");
    } else if (msg.type === "idle-warning") {
      idle.hidden = false;
      idle.textContent = "No input for a while: the session closes in " + Math.round(msg.remaining_seconds) + " s unless you type.";
    } else if (msg.type === "error") {
      setState("error", msg.message);
    }
  }

  term.onData((data) => {
    idle.hidden = true;
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  term.onResize(({ cols, rows }) => send({ type: "resize", cols, rows }));
  window.addEventListener("resize", () => fit.fit());
  viewOnly.addEventListener("change", () => send({ type: "view-only", value: viewOnly.checked }));
  document.getElementById("remote-end").addEventListener("click", () => { ended = true; send({ type: "end" }); });
  dial(relay + "/relay/v1?ticket=" + encodeURIComponent(ticket));
})();
