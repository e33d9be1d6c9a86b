#!/usr/bin/env bash
# RustDesk client install steps for macOS, run by the rmmhub agent (as root, from launchd) when the
# installer opted in to RustDesk and no client is installed: mount the downloaded dmg read-only,
# copy RustDesk.app to /Applications, detach. Screen recording and accessibility permissions still
# need a person at the Mac (or an MDM profile): macOS does not let a script grant them.
set -euo pipefail

PACKAGE='/tmp/rmmhub-rustdesk-x/rustdesk pkg'
KIND=macos
[ "$KIND" = macos ] || { echo "rmmhub-agent: not a macOS RustDesk package: $KIND" >&2; exit 2; }
MOUNT="$(mktemp -d /tmp/rmmhub-rustdesk.XXXXXX)"
cleanup() { hdiutil detach -quiet "$MOUNT" >/dev/null 2>&1 || true; rmdir "$MOUNT" 2>/dev/null || true; }
trap cleanup EXIT
hdiutil attach -nobrowse -readonly -quiet -mountpoint "$MOUNT" "$PACKAGE"
rm -rf /Applications/RustDesk.app
ditto "$MOUNT/RustDesk.app" /Applications/RustDesk.app
xattr -dr com.apple.quarantine /Applications/RustDesk.app 2>/dev/null || true
