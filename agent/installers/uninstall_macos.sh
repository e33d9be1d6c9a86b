#!/bin/sh
# rmmhub agent uninstall routine for macOS (launchd). Run by the agent itself after it reported
# the uninstall to the hub. Inputs (environment): RMMHUB_AGENT_PREFIX, RMMHUB_AGENT_SERVICE_FILE.
set -eu

PREFIX="${RMMHUB_AGENT_PREFIX:?RMMHUB_AGENT_PREFIX is required}"
PLIST="${RMMHUB_AGENT_SERVICE_FILE:-/Library/LaunchDaemons/com.rmmhub.agent.plist}"
LABEL="$(basename "$PLIST" .plist)"

case "$PREFIX" in
  /|/usr|/usr/*|/etc|/etc/*|/bin|/sbin|/Library|/System|/System/*|/Users|/var|"") echo "refusing to remove prefix '$PREFIX'" >&2; exit 1 ;;
esac

rm -f "$PLIST"
rm -rf "$PREFIX"
if command -v launchctl >/dev/null 2>&1; then
  # Boot the job out last, detached: launchd stops the agent (which is waiting to exit anyway).
  nohup /bin/sh -c "sleep 3; launchctl bootout system/$LABEL" >/dev/null 2>&1 &
fi
echo "removed $PLIST and $PREFIX"
