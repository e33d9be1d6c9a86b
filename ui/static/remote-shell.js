// SSH tab: xterm.js on the agent's PTY through the relay; resize travels out of band as a control message.
(function () {
  "use strict";
  const R = window.Remote;
  const mount = document.getElementById("remote-terminal");
  const startButton = document.getElementById("shell-start");
  let term = null;
  let fit = null;
  let link = null;
  const encoder = new TextEncoder();

  function ensureTerminal() {
    if (term) return;
    term = new window.Terminal({ cursorBlink: true, scrollback: 5000, convertEol: false });
    fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(mount);
    fit.fit();
    window.remoteTerminal = term;
    term.onData((data) => { if (link) { link.input(); link.send(encoder.encode(data)); } });
    term.onResize(({ cols, rows }) => { if (link) link.sendControl({ type: "resize", cols, rows }); });
    window.addEventListener("resize", () => fit.fit());
  }

  // Flow control: xterm.js parses at 5-35 MB/s; while more than HIGH bytes wait to be parsed the
  // socket is not read further (the relay and the agent's PTY then wait too, losing nothing).
  const HIGH = 4 << 20;
  let pending = 0;
  const queue = [];
  function pump() {
    while (queue.length && pending < HIGH) {
      const chunk = queue.shift();
      pending += chunk.byteLength;
      term.write(chunk, () => { pending -= chunk.byteLength; pump(); });
    }
  }

  async function startShell() {
    ensureTerminal();
    startButton.disabled = true;
    link = await R.start("shell", {
      binary: (data) => { queue.push(new Uint8Array(data)); pump(); },
      control: (msg) => { if (msg.type === "hello") link.sendControl({ type: "resize", cols: term.cols, rows: term.rows }); },
      ended: () => { startButton.disabled = false; link = null; },
    });
    if (!link) startButton.disabled = false;
  }

  startButton.addEventListener("click", startShell);
  R.onTab("shell", () => {
    ensureTerminal();
    requestAnimationFrame(() => fit.fit());
    if (R.firstKind === "shell" && !link) { R.firstKind = null; startShell(); }
  });
})();
