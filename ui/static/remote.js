// Remote Connection window: tabs, tickets from the gate, and the relay link every live tab uses.
// A first ticket may arrive in the URL fragment (never sent to a server in a request line); it is
// removed from the address bar at once, and the relay accepts each ticket once.
(function () {
  "use strict";
  const body = document.body;
  const device = body.dataset.device;
  const csrf = body.dataset.csrf;
  const status = document.getElementById("remote-status");
  const idle = document.getElementById("remote-idle");
  const viewers = document.getElementById("remote-viewers");
  const params = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, "", location.pathname);
  const links = {};

  function setState(state, text) { status.dataset.state = state; status.textContent = text; }

  // Soft navigation away from a live session is blocked (the window is a locked popup).
  window.addEventListener("beforeunload", (event) => {
    if (Object.values(links).some((l) => l.live)) event.preventDefault();
  });

  // A WebSocket to the relay that resumes the same session after a brief drop (no new ticket, no
  // new consent prompt) and hands binary frames and control messages to its tab.
  class RelayLink {
    constructor(kind, relay, ticket, handlers) {
      this.kind = kind; this.relay = relay; this.handlers = handlers;
      this.resume = null; this.session = null; this.ended = false; this.live = false;
      this.bytesIn = 0; this.bytesOut = 0; this.role = null; this.viewOnly = false;
      links[kind] = this;
      this.dial(relay + "/relay/v1?ticket=" + encodeURIComponent(ticket));
    }
    dial(url) {
      const socket = new WebSocket(url);
      socket.binaryType = "arraybuffer";
      this.socket = socket;
      socket.onopen = () => { if (this.handlers.open) this.handlers.open(socket); };
      socket.onmessage = (event) => {
        if (typeof event.data === "string") { this.control(JSON.parse(event.data)); return; }
        this.bytesIn += event.data.byteLength;
        this.handlers.binary(event.data);
      };
      socket.onclose = (event) => {
        if (socket !== this.socket) return;
        this.live = false;
        if (this.ended || (event.code >= 4400 && event.code < 4500)) {
          this.ended = true;
          const why = event.reason || "closed";
          setState("ended", "Session ended: " + why);
          if (this.handlers.ended) this.handlers.ended(why, event.code);
          return;
        }
        if (this.resume) {
          setState("reconnecting", "Connection lost, reconnecting…");
          if (this.handlers.dropped) this.handlers.dropped();
          setTimeout(() => this.dial(this.relay + "/relay/v1?session=" + this.session + "&resume=" + this.resume), 1000);
        } else {
          setState("error", "Could not connect to the relay");
        }
      };
    }
    control(msg) {
      if (msg.type === "hello") {
        this.resume = msg.resume; this.session = msg.session; this.role = msg.role; this.viewOnly = msg.view_only;
        this.live = true;
        document.querySelectorAll('.view-only-toggle[data-kind="' + this.kind + '"]').forEach((box) => {
          box.checked = msg.view_only; box.disabled = msg.role !== "controller";
        });
        setState(msg.agent ? "connected" : "waiting", msg.agent ? "Connected" : "Waiting for the device…");
      } else if (msg.type === "agent") {
        setState(msg.connected ? "connected" : "reconnecting", msg.connected ? "Connected" : "The device dropped, waiting for it…");
      } else if (msg.type === "viewers") {
        viewers.textContent = msg.viewers.map((v) => v.user + (v.view_only ? " (view only)" : "")).join(", ");
        const me = msg.viewers.find((v) => v.slot === this.slot);
        if (me) this.viewOnly = me.view_only;
      } else if (msg.type === "idle-warning") {
        idle.hidden = false;
        idle.textContent = "No input for a while: the session closes in " + Math.round(msg.remaining_seconds) + " s unless you type.";
      } else if (msg.type === "consent") {
        setState(msg.state === "waiting" ? "consent" : "connected", msg.message);
      } else if (msg.type === "error") {
        setState("error", msg.message);
      }
      if (msg.type === "hello") this.slot = msg.slot;
      if (this.handlers.control) this.handlers.control(msg);
    }
    get open() { return this.socket && this.socket.readyState === WebSocket.OPEN; }
    send(data) {
      if (!this.open) return;
      this.bytesOut += data.byteLength !== undefined ? data.byteLength : data.length;
      this.socket.send(data);
    }
    sendControl(payload) { if (this.open) this.socket.send(JSON.stringify(payload)); }
    input() { idle.hidden = true; }
    end() { this.ended = true; this.sendControl({ type: "end" }); }
  }

  async function requestTicket(kind) {
    const response = await fetch("/rmm/devices/" + device + "/remote/" + kind + "/ticket", {
      method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin",
    });
    if (!response.ok) return { status: "failed", message: "the hub answered " + response.status };
    return response.json();
  }

  async function approvedTicket(kind, approvalId) {
    const response = await fetch("/rmm/devices/" + device + "/remote/" + kind + "/approved/" + approvalId, {
      method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({ status: "failed", message: "the hub answered " + response.status }));
    return body;
  }

  // An approval-gated tab waits on the page's event stream for its approval's decision, then takes
  // the ticket the approved run minted. Each (re)connect of the stream asks once too, so a decision
  // that fell between two streams is not missed.
  function waitForApproval(kind, approvalId) {
    status.dataset.approval = String(approvalId);
    setState("pending", "Waiting for approval #" + approvalId + ": the window connects by itself once it is approved.");
    return new Promise((resolve) => {
      const source = new EventSource("/ui/events");
      let asking = false;
      const ask = async () => {
        if (asking) return;
        asking = true;
        const grant = await approvedTicket(kind, approvalId);
        asking = false;
        if (grant.status === "pending_approval") return;
        source.close();
        resolve(grant);
      };
      source.addEventListener("ready", ask);
      source.addEventListener("approval", (event) => {
        let detail = {};
        try { detail = JSON.parse(event.data); } catch (err) { return; }
        if (detail.approval_id === approvalId && detail.topic === "approval.decided") ask();
      });
    });
  }

  // Start a tab's session: with the fragment's ticket for the first tab, else a fresh one from the gate.
  async function start(kind, handlers) {
    let grant = null;
    if (params.get("kind") === kind && params.get("ticket")) {
      grant = { status: "done", relay_url: params.get("relay"), ticket: params.get("ticket") };
      params.delete("ticket");
    } else if (params.get("kind") === kind && /^[0-9]+$/.test(params.get("approval") || "")) {
      grant = { status: "pending_approval", approval_id: parseInt(params.get("approval"), 10) };
      params.delete("approval");
    } else {
      setState("connecting", "Asking the hub for a " + kind + " session…");
      grant = await requestTicket(kind);
    }
    if (grant.status === "pending_approval" && grant.approval_id) grant = await waitForApproval(kind, grant.approval_id);
    if (grant.status !== "done") { setState(grant.status === "pending_approval" ? "pending" : "error", grant.message); return null; }
    if (grant.note) { setState("ended", grant.note); return null; }
    setState("connecting", "Connecting to the relay…");
    return new RelayLink(kind, grant.relay_url, grant.ticket, handlers);
  }

  const tabHandlers = {};
  let current = null;
  // A tab script's ``fn`` runs whenever its tab is shown (at once if it already is: module scripts
  // may run after the first tab was chosen).
  function onTab(name, fn) {
    tabHandlers[name] = fn;
    if (current === name) fn();
  }

  function showTab(name) {
    current = name;
    document.querySelectorAll("[data-tab]").forEach((tab) => tab.setAttribute("aria-selected", String(tab.dataset.tab === name)));
    document.querySelectorAll("[data-panel]").forEach((panel) => { panel.hidden = panel.dataset.panel !== name; });
    if (tabHandlers[name]) tabHandlers[name]();
  }
  document.querySelectorAll("[data-tab]").forEach((tab) => tab.addEventListener("click", () => showTab(tab.dataset.tab)));
  document.querySelectorAll("[data-end]").forEach((button) => button.addEventListener("click", () => {
    const link = links[button.dataset.end];
    if (link) link.end();
  }));
  document.querySelectorAll(".view-only-toggle").forEach((box) => box.addEventListener("change", () => {
    const link = links[box.dataset.kind];
    if (link) link.sendControl({ type: "view-only", value: box.checked });
  }));

  window.Remote = { start, showTab, onTab, setState, links, device, csrf, firstKind: params.get("kind"), RelayLink };
  document.addEventListener("DOMContentLoaded", () => showTab(params.get("kind") || "shell"));
})();
