#!/bin/sh
# rmmhub agent uninstall routine for Linux (systemd). Run by the agent itself after it reported
# the uninstall to the hub. Inputs (environment): RMMHUB_AGENT_PREFIX, RMMHUB_AGENT_SERVICE_FILE.
set -eu

PREFIX="${RMMHUB_AGENT_PREFIX:?RMMHUB_AGENT_PREFIX is required}"
UNIT_FILE="${RMMHUB_AGENT_SERVICE_FILE:-/etc/systemd/system/rmmhub-agent.service}"
UNIT_NAME="$(basename "$UNIT_FILE")"

case "$PREFIX" in
  /|/usr|/usr/*|/etc|/etc/*|/bin|/sbin|/lib*|/var|/home|/root|"") echo "refusing to remove prefix '$PREFIX'" >&2; exit 1 ;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  # Disable only: stopping the unit would kill the agent running this script. The agent exits 0
  # next, and Restart=on-failure does not restart a clean exit.
  systemctl disable "$UNIT_NAME" >/dev/null 2>&1 || true
fi
rm -f "$UNIT_FILE"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
fi
rm -rf "$PREFIX"
echo "removed $UNIT_FILE and $PREFIX"
