// Screen tab: noVNC (served locally) on the agent's VNC bridge through the relay, with Datto's toolbar:
// fit / original size, full screen, Ctrl-Alt-Del, view only, clipboard as keystrokes, live connection
// figures and the device's CPU / memory / disk / load graphs from the hub's metrics.
import RFB from "/static/vendor/novnc/core/rfb.js";

const R = window.Remote;
const target = document.getElementById("remote-screen");
const startButton = document.getElementById("screen-start");
const figures = {
  latency: document.getElementById("fig-latency"),
  throughput: document.getElementById("fig-throughput"),
  fps: document.getElementById("fig-fps"),
};
let link = null;
let rfb = null;
let channel = null;
let frames = 0;
let scaled = true;

// noVNC accepts any object shaped like a WebSocket; this one carries the relay link's binary frames
// (the relay's JSON control messages stay with the link).
class RelayChannel {
  constructor(socketLink) {
    this.link = socketLink;
    this.binaryType = "arraybuffer";
    this.protocol = "";
    this.onopen = null;
    this.onmessage = null;
    this.onerror = null;
    this.onclose = null;
    this.state = "open";
  }
  get readyState() { return this.state; }
  send(data) { this.link.send(data); }
  close() { this.state = "closed"; if (this.onclose) this.onclose({ code: 1000, reason: "closed", wasClean: true }); }
  deliver(data) { if (this.onmessage) this.onmessage({ data }); }
}

function attachViewer() {
  if (rfb) { rfb.disconnect(); rfb = null; }
  target.replaceChildren();
  channel = new RelayChannel(link);
  rfb = new RFB(target, channel, { shared: true });
  rfb.scaleViewport = scaled;
  rfb.clipViewport = !scaled;
  rfb.viewOnly = link.viewOnly;
  rfb.addEventListener("connect", () => { target.dataset.connected = "true"; R.setState("connected", "Connected"); });
  rfb.addEventListener("disconnect", () => { target.dataset.connected = "false"; });
  rfb.addEventListener("securityfailure", (e) => R.setState("error", "VNC security failure: " + (e.detail.reason || "refused")));
  rfb.addEventListener("credentialsrequired", () => {
    const password = window.prompt("The device's VNC server asks for a password");
    if (password !== null) rfb.sendCredentials({ password });
  });
  // Frames per second: noVNC's display flips once per completed FramebufferUpdate (noVNC 1.7 internals).
  const display = rfb._display;
  if (display && typeof display.flip === "function") {
    const flip = display.flip.bind(display);
    display.flip = (...args) => { frames += 1; return flip(...args); };
  }
  window.remoteScreen = rfb;
}

async function startScreen() {
  startButton.disabled = true;
  link = await R.start("screen", {
    binary: (data) => { if (channel) channel.deliver(data); },
    control: (msg) => {
      if (msg.type === "hello") attachViewer();
      if (msg.type === "pong" && typeof msg.t === "number") figures.latency.textContent = Math.round(performance.now() - msg.t) + " ms";
      if (msg.type === "viewers" && rfb) rfb.viewOnly = link.viewOnly;
    },
    dropped: () => { if (channel) channel.close(); channel = null; },
    ended: () => { startButton.disabled = false; if (channel) channel.close(); channel = null; link = null; },
  });
  if (!link) startButton.disabled = false;
}

// Live figures once a second: latency by a ping through the relay, throughput and frames counted here.
let lastBytes = 0;
setInterval(() => {
  if (!link || !link.open) return;
  link.sendControl({ type: "ping", t: performance.now() });
  const bytes = link.bytesIn + link.bytesOut;
  figures.throughput.textContent = ((bytes - lastBytes) / 1024).toFixed(1) + " KB/s";
  figures.fps.textContent = String(frames);
  target.dataset.fps = String(frames);
  lastBytes = bytes;
  frames = 0;
}, 1000);

function setScaled(value) {
  scaled = value;
  document.getElementById("screen-fit").setAttribute("aria-pressed", String(value));
  document.getElementById("screen-original").setAttribute("aria-pressed", String(!value));
  if (rfb) { rfb.scaleViewport = value; rfb.clipViewport = !value; }
}

startButton.addEventListener("click", startScreen);
document.getElementById("screen-fit").addEventListener("click", () => setScaled(true));
document.getElementById("screen-original").addEventListener("click", () => setScaled(false));
document.getElementById("screen-fullscreen").addEventListener("click", () => {
  if (document.fullscreenElement) document.exitFullscreen(); else target.requestFullscreen();
});
document.getElementById("screen-cad").addEventListener("click", () => { if (rfb) { link.input(); rfb.sendCtrlAltDel(); } });
document.getElementById("screen-view-only").addEventListener("change", (event) => { if (rfb) rfb.viewOnly = event.target.checked; });
document.getElementById("screen-clipboard").addEventListener("click", async () => {
  if (!rfb) return;
  let text = "";
  try { text = await navigator.clipboard.readText(); } catch (err) { R.setState("error", "The browser did not allow reading the clipboard"); return; }
  typeText(text);
});

// Types ASCII text as key presses (Datto's "send clipboard as keystrokes": ASCII, under 100 characters).
function typeText(text) {
  if (!/^[\x20-\x7e\n\t]*$/.test(text) || text.length >= 100) { R.setState("error", "Clipboard as keystrokes takes ASCII text under 100 characters"); return; }
  link.input();
  for (const ch of text) {
    const keysym = ch === "\n" ? 0xff0d : ch === "\t" ? 0xff09 : ch.charCodeAt(0);
    rfb.sendKey(keysym, null, true);
    rfb.sendKey(keysym, null, false);
  }
}
window.remoteTypeText = typeText;

// The device's performance graphs (the hub's existing metrics, refreshed every 10 s).
const plots = {};
async function refreshGraphs() {
  const response = await fetch("/rmm/devices/" + R.device + "/metrics", { credentials: "same-origin" });
  if (!response.ok || !window.uPlot) return;
  const data = await response.json();
  const t = data.series.t;
  document.querySelectorAll(".remote-graph").forEach((el) => {
    const key = el.dataset.series;
    const values = data.series[key] || [];
    const rows = [t, values];
    if (plots[key]) { plots[key].setData(rows); return; }
    plots[key] = new window.uPlot({
      width: 210, height: 70, title: el.dataset.label, legend: { show: false }, cursor: { show: false },
      axes: [{ show: false }, { size: 36 }], series: [{}, { stroke: "#4fa3ff", width: 1 }],
      scales: { x: { time: true } },
    }, rows, el);
  });
}

R.onTab("screen", () => {
  refreshGraphs();
  if (R.firstKind === "screen" && !link) { R.firstKind = null; startScreen(); }
});
setInterval(() => { if (!document.getElementById("panel-screen").hidden) refreshGraphs(); }, 10000);
