#!/usr/bin/env bash
# RustDesk client install steps for Linux, run by the rmmhub agent (as root) when the installer
# opted in to RustDesk and no client is installed. PACKAGE is the file the agent downloaded (and
# checked); KIND says which one it is. After this the agent configures the client
# (--config/--password) and reads its ID (--get-id).
set -euo pipefail

PACKAGE=@@PACKAGE@@
KIND=@@KIND@@
BIN_DIR="${RMMHUB_AGENT_RUSTDESK_BIN_DIR:-/usr/local/bin}"

case "$KIND" in
  linux-deb)
    # apt resolves the client's dependencies (GTK, PulseAudio libraries).
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$PACKAGE"
    ;;
  linux-rpm)
    if command -v dnf >/dev/null 2>&1; then
      dnf install -y -q "$PACKAGE"
    elif command -v yum >/dev/null 2>&1; then
      yum install -y -q "$PACKAGE"
    else
      zypper --non-interactive install --allow-unsigned-rpm "$PACKAGE"
    fi
    ;;
  linux-appimage)
    mkdir -p "$BIN_DIR"
    install -m 0755 "$PACKAGE" "$BIN_DIR/rustdesk"
    ;;
  *)
    echo "rmmhub-agent: unknown RustDesk package kind $KIND" >&2
    exit 2
    ;;
esac
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] && systemctl list-unit-files rustdesk.service >/dev/null 2>&1; then
  systemctl enable --now rustdesk.service || true
fi
