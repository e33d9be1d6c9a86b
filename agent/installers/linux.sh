#!/usr/bin/env bash
# rmmhub agent installer for Linux, rendered by the hub for one installer token.
#   curl -fsSL <hub>/install/<token>/linux | sudo bash
# Installs the agent wheel into its own virtualenv under PREFIX, enrolls this machine, and runs the
# agent as a systemd service (restart on failure, start at boot). In quick-support mode nothing is
# installed: the agent runs in the foreground from a temporary directory that is removed at the end.
#
# Overrides (environment): RMMHUB_AGENT_PREFIX (default /opt/rmmhub-agent),
# RMMHUB_AGENT_SYSTEMD_DIR (default /etc/systemd/system), RMMHUB_AGENT_PYTHON (interpreter),
# RMMHUB_AGENT_PIP_ARGS (extra pip arguments, e.g. a local index), RMMHUB_AGENT_NO_START=1 (write
# the unit but do not enable/start it).
set -euo pipefail

HUB_URL=@@HUB_URL@@
INSTALLER_TOKEN=@@TOKEN@@
QUICK_SUPPORT=@@QUICK_SUPPORT@@
AGENT_VERSION=@@AGENT_VERSION@@
SERVICE_NAME=rmmhub-agent

log() { printf 'rmmhub-agent: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_python() {
  local candidate
  for candidate in "${RMMHUB_AGENT_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
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
  python="$(find_python)" || die "Python 3.11+ with venv is required (Debian/Ubuntu: apt-get install python3 python3-venv; RHEL/Fedora: dnf install python3.11)"
  read -r -a pip_args <<<"${RMMHUB_AGENT_PIP_ARGS:-}"
  wheel_dir="$(mktemp -d)"
  wheel="$wheel_dir/rmmhub_agent-$AGENT_VERSION-py3-none-any.whl"
  log "downloading the agent from $HUB_URL"
  curl -fsSL --retry 3 -o "$wheel" "$HUB_URL/agent/v1/download/agent.whl" || die "could not download the agent wheel"
  log "creating $1/venv with $python"
  "$python" -m venv "$1/venv"
  "$1/venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "${pip_args[@]}" "$wheel"
  rm -rf "$wheel_dir"
}

write_unit() {  # $1: prefix, $2: unit file
  cat >"$2" <<UNIT
[Unit]
Description=rmmhub endpoint agent
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=$1/venv/bin/python -m agent run --state-dir $1/state
WorkingDirectory=$1
Environment=PYTHONUNBUFFERED=1
Restart=on-failure
RestartSec=10
# 3: the hub revoked this device; restarting cannot help.
RestartPreventExitStatus=3

[Install]
WantedBy=multi-user.target
UNIT
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
  local prefix="${RMMHUB_AGENT_PREFIX:-/opt/rmmhub-agent}"
  local systemd_dir="${RMMHUB_AGENT_SYSTEMD_DIR:-/etc/systemd/system}"
  local unit_file="$systemd_dir/$SERVICE_NAME.service"
  [ "$(id -u)" -eq 0 ] || [ -n "${RMMHUB_AGENT_PREFIX:-}" ] || die "run as root: curl -fsSL ... | sudo bash"
  [[ "$prefix" =~ ^/[A-Za-z0-9/._-]+$ ]] || die "prefix must be an absolute path of [A-Za-z0-9/._-]: $prefix"

  mkdir -p "$prefix" "$systemd_dir"
  chmod 0755 "$prefix"
  install_venv "$prefix"
  cd "$prefix"
  log "enrolling with $HUB_URL"
  RMMHUB_AGENT_TOKEN="$INSTALLER_TOKEN" "$prefix/venv/bin/python" -m agent enroll --hub "$HUB_URL" \
    --state-dir "$prefix/state" --service systemd --install-prefix "$prefix" --service-file "$unit_file"
  write_unit "$prefix" "$unit_file"
  log "wrote $unit_file"

  if [ -z "${RMMHUB_AGENT_NO_START:-}" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload
    systemctl enable --now "$SERVICE_NAME.service"
    log "service $SERVICE_NAME enabled and started"
  else
    log "systemd is not running here: start the agent with '$prefix/venv/bin/python -m agent run --state-dir $prefix/state'"
  fi
  log "installed in $prefix"
}

main "$@"
