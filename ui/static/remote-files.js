// Files tab: browse the device, download and upload with progress bars. Every transfer first asks the
// gate (rmm-transfer-file) for a grant the relay checks; bytes stream in 256 KiB chunks both ways.
(function () {
  "use strict";
  const R = window.Remote;
  const startButton = document.getElementById("files-start");
  const pathInput = document.getElementById("files-path");
  const table = document.querySelector("#files-table tbody");
  const transfers = document.getElementById("files-transfers");
  const limitLabel = document.getElementById("files-limit");
  const uploadInput = document.getElementById("files-upload");
  const CHUNK = 256 * 1024;
  const HIGH = 4 * 1024 * 1024;
  let link = null;
  let slot = null;
  let limit = Number(document.body.dataset.fileLimit);
  let folder = "";
  let download = null;
  const uploads = {};

  const human = (n) => n >= 1 << 30 ? (n / (1 << 30)).toFixed(1) + " GiB" : n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B";
  const newId = () => Math.random().toString(36).slice(2, 12);

  function progressRow(id, label, total) {
    const row = document.createElement("div");
    row.className = "transfer"; row.dataset.transfer = id; row.dataset.state = "running";
    const text = document.createElement("span"); text.textContent = label + " ";
    const bar = document.createElement("progress"); bar.max = total || 1; bar.value = 0;
    const note = document.createElement("span"); note.className = "muted";
    row.append(text, bar, note);
    transfers.prepend(row);
    return { row, bar, note };
  }

  async function grant(direction, path) {
    const body = new URLSearchParams({ direction, path });
    const response = await fetch("/rmm/remote/sessions/" + link.session + "/transfer", {
      method: "POST", headers: { "X-CSRF-Token": R.csrf }, body, credentials: "same-origin",
    });
    const answer = response.ok ? await response.json() : { status: "failed", message: "the hub answered " + response.status };
    if (answer.status !== "done") { R.setState("error", "Transfer not allowed: " + answer.message); return null; }
    return answer.grant;
  }

  function list(path) { link.input(); link.sendControl({ type: "list", path }); }

  function render(msg) {
    folder = msg.path; pathInput.value = msg.path;
    table.replaceChildren();
    const parent = msg.path.replace(/\/[^/]+\/?$/, "") || "/";
    const rows = msg.path === "/" ? msg.entries : [{ name: "..", dir: true, size: 0, mtime: 0, up: parent }, ...msg.entries];
    for (const entry of rows) {
      const tr = document.createElement("tr");
      tr.dataset.name = entry.name;
      const name = document.createElement("td");
      const full = entry.up || (msg.path.replace(/\/$/, "") + "/" + entry.name);
      if (entry.dir) {
        const open = document.createElement("button"); open.type = "button"; open.className = "btn btn-ghost btn-sm";
        open.textContent = entry.name + "/"; open.addEventListener("click", () => list(full)); name.append(open);
      } else name.textContent = entry.name;
      const size = document.createElement("td"); size.textContent = entry.dir ? "" : human(entry.size);
      const when = document.createElement("td"); when.textContent = entry.mtime ? new Date(entry.mtime * 1000).toLocaleString() : "";
      const actions = document.createElement("td");
      if (!entry.dir) {
        const get = document.createElement("button"); get.type = "button"; get.className = "btn btn-sm"; get.textContent = "Download";
        get.dataset.download = entry.name;
        get.addEventListener("click", () => startDownload(full, entry.name, entry.size));
        actions.append(get);
      }
      tr.append(name, size, when, actions);
      table.append(tr);
    }
    table.dataset.path = msg.path;
  }

  async function startDownload(path, name, size) {
    if (download) { R.setState("error", "A download is already running"); return; }
    if (size > limit) { R.setState("error", name + " is over the " + human(limit) + " limit"); return; }
    const token = await grant("download", path);
    if (!token) return;
    const id = newId();
    download = { id, name, parts: [], received: 0, ui: progressRow(id, "↓ " + name, size) };
    link.input();
    link.sendControl({ type: "download", id, path, grant: token });
  }

  async function startUpload(file) {
    if (file.size > limit) { R.setState("error", file.name + " is over the " + human(limit) + " limit"); return; }
    const token = await grant("upload", folder);
    if (!token) return;
    const id = newId();
    uploads[id] = { file, ui: progressRow(id, "↑ " + file.name, file.size) };
    link.input();
    link.sendControl({ type: "upload", id, path: folder, name: file.name, size: file.size, grant: token });
  }

  async function sendUpload(id) {
    const upload = uploads[id];
    for (let offset = 0; offset < upload.file.size; offset += CHUNK) {
      while (link.socket.bufferedAmount > HIGH) await new Promise((resolve) => setTimeout(resolve, 10));
      const chunk = await upload.file.slice(offset, offset + CHUNK).arrayBuffer();
      link.send(chunk);
      upload.ui.bar.value = Math.min(upload.file.size, offset + chunk.byteLength);
    }
    link.input();
    link.sendControl({ type: "upload-done", id });
  }

  function finish(ui, state, note) { ui.row.dataset.state = state; ui.note.textContent = note; }

  function control(msg) {
    if (msg.type === "hello") { slot = msg.slot; return; }
    if (msg.slot !== undefined && msg.slot !== slot) return;
    if (msg.type === "files-ready") {
      limit = Math.min(limit, msg.limit);
      limitLabel.textContent = "Size limit " + human(limit);
      list(pathInput.value || msg.home);
    } else if (msg.type === "listing") {
      render(msg);
    } else if (msg.type === "file-start" && download && download.id === msg.id) {
      download.ui.bar.max = msg.size || 1;
    } else if (msg.type === "upload-ready" && uploads[msg.id]) {
      sendUpload(msg.id);
    } else if (msg.type === "file-done") {
      if (download && download.id === msg.id) {
        const blob = new Blob(download.parts);
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob); a.download = download.name; a.hidden = true;
        document.body.append(a); a.click(); a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 60000);
        finish(download.ui, "done", human(msg.size) + " · sha256 " + msg.sha256);
        download = null;
      } else if (uploads[msg.id]) {
        finish(uploads[msg.id].ui, "done", human(msg.size) + " · sha256 " + msg.sha256);
        delete uploads[msg.id];
        list(folder);
      }
    } else if (msg.type === "file-error") {
      const ui = download && download.id === msg.id ? download.ui : uploads[msg.id] && uploads[msg.id].ui;
      if (ui) finish(ui, "failed", msg.message);
      if (download && download.id === msg.id) download = null;
      delete uploads[msg.id];
      R.setState("error", msg.message);
    }
  }

  function binary(data) {
    if (!download) return;
    download.parts.push(new Uint8Array(data));
    download.received += data.byteLength;
    download.ui.bar.value = download.received;
  }

  async function startFiles() {
    startButton.disabled = true;
    link = await R.start("files", { binary, control, ended: () => { startButton.disabled = false; link = null; } });
    if (!link) startButton.disabled = false;
  }

  startButton.addEventListener("click", startFiles);
  document.getElementById("files-go").addEventListener("click", () => { if (link) list(pathInput.value); });
  uploadInput.addEventListener("change", () => { if (link && uploadInput.files.length) startUpload(uploadInput.files[0]); uploadInput.value = ""; });
  R.onTab("files", () => { if (R.firstKind === "files" && !link) { R.firstKind = null; startFiles(); } });
})();
