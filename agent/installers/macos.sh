#!/usr/bin/env bash
# rmmhub agent installer for macOS, rendered by the hub for one installer token.
#   curl -fsSL <hub>/install/<token>/macos | sudo bash
# Installs the agent wheel into its own virtualenv under PREFIX, enrolls this Mac, and runs the
# agent as a launchd daemon (RunAtLoad, KeepAlive on failure). Quick-support mode installs nothing
# and runs the agent in the foreground from a temporary directory removed at the end.
#
# Overrides (environment): RMMHUB_AGENT_PREFIX (default /usr/local/rmmhub-agent),
# RMMHUB_AGENT_LAUNCHD_DIR (default /Library/LaunchDaemons), RMMHUB_AGENT_PYTHON,
# RMMHUB_AGENT_PIP_ARGS, RMMHUB_AGENT_NO_START=1 (write the plist but do not load it).
set -euo pipefail

HUB_URL=@@HUB_URL@@
INSTALLER_TOKEN=@@TOKEN@@
QUICK_SUPPORT=@@QUICK_SUPPORT@@
AGENT_VERSION=@@AGENT_VERSION@@
LABEL=com.rmmhub.agent

log() { printf 'rmmhub-agent: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_python() {
  local candidate
  for candidate in "${RMMHUB_AGENT_PYTHON:-}" /Library/Frameworks/Python.framework/Versions/3.1[1-9]/bin/python3 \
    /opt/homebrew/bin/python3 /usr/local/bin/python3 python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

install_venv() {  # $1: prefix
  local python wheel_dir wheel pip_args=()
  python="$(find_python)" || die "Python 3.11+ is required: install it from python.org or with 'brew install python@3.12'"
  read -r -a pip_args <<<"${RMMHUB_AGENT_PIP_ARGS:-}"
  wheel_dir="$(mktemp -d)"
  wheel="$wheel_dir/rmmhub_agent-$AGENT_VERSION-py3-none-any.whl"
  log "downloading the agent from $HUB_URL"
  curl -fsSL --retry 3 -o "$wheel" "$HUB_URL/agent/v1/download/agent.whl" || die "could not download the agent wheel"
  "$python" -m venv "$1/venv"
  "$1/venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "${pip_args[@]}" "$wheel"
  rm -rf "$wheel_dir"
}

write_plist() {  # $1: prefix, $2: plist path
  sed "s|__PREFIX__|$1|g" >"$2" <<'PLIST'
@@PLIST@@
PLIST
  chmod 0644 "$2"
}

quick_support() {
  # Global, not local: the EXIT trap runs after this function has returned (set -u).
  SESSION_DIR="$(mktemp -d)"
  trap 'rm -rf "$SESSION_DIR"' EXIT
  local workdir="$SESSION_DIR"
  install_venv "$workdir"
  log "starting a quick-support session (Ctrl+C ends it)"
  cd "$workdir"
  RMMHUB_AGENT_TOKEN="$INSTALLER_TOKEN" "$workdir/venv/bin/python" -m agent run --foreground --quick-support \
    --hub "$HUB_URL" --state-dir "$workdir/state" </dev/tty || true
}

main() {
  command -v curl >/dev/null 2>&1 || die "curl is required"
  if [ "$QUICK_SUPPORT" = 1 ]; then
    quick_support
    return
  fi
  local prefix="${RMMHUB_AGENT_PREFIX:-/usr/local/rmmhub-agent}"
  local launchd_dir="${RMMHUB_AGENT_LAUNCHD_DIR:-/Library/LaunchDaemons}"
  local plist="$launchd_dir/$LABEL.plist"
  [ "$(id -u)" -eq 0 ] || [ -n "${RMMHUB_AGENT_PREFIX:-}" ] || die "run as root: curl -fsSL ... | sudo bash"
  [[ "$prefix" =~ ^/[A-Za-z0-9/._-]+$ ]] || die "prefix must be an absolute path of [A-Za-z0-9/._-]: $prefix"

  mkdir -p "$prefix" "$launchd_dir"
  chmod 0755 "$prefix"
  install_venv "$prefix"
  cd "$prefix"
  log "enrolling with $HUB_URL"
  RMMHUB_AGENT_TOKEN="$INSTALLER_TOKEN" "$prefix/venv/bin/python" -m agent enroll --hub "$HUB_URL" \
    --state-dir "$prefix/state" --service launchd --install-prefix "$prefix" --service-file "$plist"
  write_plist "$prefix" "$plist"
  log "wrote $plist"

  if [ -z "${RMMHUB_AGENT_NO_START:-}" ] && command -v launchctl >/dev/null 2>&1; then
    launchctl bootout "system/$LABEL" >/dev/null 2>&1 || true
    launchctl bootstrap system "$plist"
    launchctl enable "system/$LABEL"
    log "launchd daemon $LABEL loaded"
  else
    log "launchctl not used: load the daemon with 'launchctl bootstrap system $plist'"
  fi
  log "installed in $prefix"
}

main "$@"
