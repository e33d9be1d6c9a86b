// Replays a shell recording (asciicast v2) in xterm.js: output events are written at their recorded
// times (scaled by the chosen speed; "instant" writes them all at once), resizes resize the terminal.
(function () {
  "use strict";
  const button = document.getElementById("replay-start");
  if (!button) return;
  const mount = document.getElementById("replay-terminal");
  let term = null;

  async function replay() {
    const response = await fetch(button.dataset.cast, { credentials: "same-origin" });
    if (!response.ok) { mount.textContent = "The recording could not be loaded (" + response.status + ")."; return; }
    const lines = (await response.text()).split("\n").filter((line) => line.trim());
    const header = JSON.parse(lines.shift());
    if (term) term.dispose();
    term = new window.Terminal({ cols: header.width || 80, rows: header.height || 24, convertEol: false });
    term.open(mount);
    window.replayTerminal = term;
    mount.dataset.state = "playing";
    const speed = Number(document.getElementById("replay-speed").value);
    const started = performance.now();
    for (const line of lines) {
      const [at, code, data] = JSON.parse(line);
      if (speed > 0) {
        const wait = at * 1000 / speed - (performance.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 2000)));
      }
      if (code === "o") term.write(data);
      else if (code === "r") { const [cols, rows] = data.split("x").map(Number); term.resize(cols, rows); }
    }
    term.write("", () => { mount.dataset.state = "done"; });
  }
  button.addEventListener("click", replay);
})();
