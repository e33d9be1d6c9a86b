#!/usr/bin/env bash
# rmmhub agent installer for Linux, rendered by the hub for one installer token.
#   curl -fsSL <hub>/install/<token>/linux | sudo bash
# Installs the single-file agent the hub built for this architecture (no Python needed here) under
# PREFIX/bin, enrolls this machine, and runs the agent as a systemd service (restart on failure,
# start at boot). Where the hub has no binary for this architecture it says so and falls back to the
# agent wheel in its own virtualenv (Python 3.11+ needed then). In quick-support mode nothing is
# installed: the agent runs in the foreground from a temporary directory that is removed at the end.
#
# Overrides (environment): RMMHUB_AGENT_PREFIX (default /opt/rmmhub-agent),
# RMMHUB_AGENT_SYSTEMD_DIR (default /etc/systemd/system), RMMHUB_AGENT_PYTHON (interpreter),
# RMMHUB_AGENT_PIP_ARGS (extra pip arguments, e.g. a local index), RMMHUB_AGENT_NO_START=1 (write
# the unit but do not enable/start it), RMMHUB_AGENT_FORCE_VENV=1 (skip the single-file agent).
set -euo pipefail

HUB_URL=@@HUB_URL@@
INSTALLER_TOKEN=@@TOKEN@@
QUICK_SUPPORT=@@QUICK_SUPPORT@@
AGENT_VERSION=@@AGENT_VERSION@@
# "platform:sha256 ..." of the uv binaries this hub serves; where uv fetches CPython from.
UV=@@UV@@
PYTHON_MIRROR=@@PYTHON_MIRROR@@
PYTHON_VERSION=3.12
SERVICE_NAME=rmmhub-agent
# "arch:sha256 ..." of the single-file agents this hub serves.
BINARIES=@@BINARIES@@
AGENT=()  # the command that runs the agent, set by install_agent

log() { printf 'rmmhub-agent: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

lookup_sha256() {  # $1: "name:sha256 ..." list, $2: name -> the SHA-256, or fail
  local entry
  for entry in $1; do
    if [ "${entry%%:*}" = "$2" ]; then
      printf '%s' "${entry#*:}"
      return 0
    fi
  done
  return 1
}

fetch_verified() {  # $1: URL, $2: target file, $3: expected SHA-256
  local actual
  curl -fsSL --retry 3 -o "$2.download" "$1" || die "could not download $1"
  if command -v sha256sum >/dev/null 2>&1; then
    actual="$(sha256sum "$2.download" | cut -d' ' -f1)"
  else
    actual="$(shasum -a 256 "$2.download" | cut -d' ' -f1)"
  fi
  [ "$actual" = "$3" ] || die "the SHA-256 of $1 is $actual, not the published $3"
  chmod 0755 "$2.download"
  mv -f "$2.download" "$2"
}

install_uv_venv() {  # $1: prefix, $2: uv platform; fails (1) when the hub serves no uv for it
  local expected uv wheel_dir wheel python_request pip_args=() managed=()
  expected="$(lookup_sha256 "$UV" "$2")" || return 1
  read -r -a pip_args <<<"${RMMHUB_AGENT_PIP_ARGS:-}"
  uv="$1/bin/uv"
  mkdir -p "$1/bin"
  log "downloading uv for $2 from $HUB_URL"
  fetch_verified "$HUB_URL/agent/v1/download/uv/$2" "$uv" "$expected"
  export UV_PYTHON_INSTALL_DIR="$1/python" UV_CACHE_DIR="$1/cache" UV_NO_CONFIG=1
  local mirror="${RMMHUB_AGENT_PYTHON_MIRROR:-$PYTHON_MIRROR}"
  if [ -n "$mirror" ]; then
    export UV_PYTHON_INSTALL_MIRROR="$mirror"
  fi
  if [ -n "${RMMHUB_AGENT_PYTHON:-}" ]; then
    python_request="$RMMHUB_AGENT_PYTHON"
    log "using the interpreter $python_request (RMMHUB_AGENT_PYTHON)"
  else
    python_request="$PYTHON_VERSION"
    managed=(--managed-python)
    log "provisioning a private CPython $PYTHON_VERSION in $1/python${mirror:+ from $mirror}"
    "$uv" python install --quiet "$PYTHON_VERSION" || die "uv could not install CPython $PYTHON_VERSION"
  fi
  wheel_dir="$(mktemp -d)"
  wheel="$wheel_dir/rmmhub_agent-$AGENT_VERSION-py3-none-any.whl"
  log "downloading the agent from $HUB_URL"
  curl -fsSL --retry 3 -o "$wheel" "$HUB_URL/agent/v1/download/agent.whl" || die "could not download the agent wheel"
  "$uv" venv --quiet --python "$python_request" ${managed[@]+"${managed[@]}"} "$1/venv" || die "uv could not create $1/venv"
  "$uv" pip install --quiet --python "$1/venv/bin/python" ${pip_args[@]+"${pip_args[@]}"} "$wheel" || die "installing the agent wheel failed"
  rm -rf "$wheel_dir" "$1/cache"
}

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

install_binary() {  # $1: prefix; fails (1) when the hub has no binary for this architecture
  local arch expected
  arch="$(uname -m)"
  [ -z "${RMMHUB_AGENT_FORCE_VENV:-}" ] || return 1
  expected="$(lookup_sha256 "$BINARIES" "$arch")" || return 1
  mkdir -p "$1/bin"
  log "downloading the single-file agent for $arch from $HUB_URL"
  fetch_verified "$HUB_URL/agent/v1/download/linux-$arch/rmmhub-agent" "$1/bin/rmmhub-agent" "$expected"
  log "installed the single-file agent (no Python needed) in $1/bin"
}

install_agent() {  # $1: prefix; sets AGENT
  if install_binary "$1"; then
    AGENT=("$1/bin/rmmhub-agent")
    return 0
  fi
  log "no single-file agent for $(uname -m) on this hub: falling back to a Python virtualenv"
  if ! install_uv_venv "$1" "linux-$(uname -m)"; then
    log "no uv for linux-$(uname -m) on this hub either: using this machine's Python"
    install_venv "$1"
  fi
  AGENT=("$1/venv/bin/python" -m agent)
}

write_unit() {  # $1: prefix, $2: unit file
  cat >"$2" <<UNIT
[Unit]
Description=rmmhub endpoint agent
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${AGENT[*]} run --state-dir $1/state
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
  install_agent "$workdir"
  log "starting a quick-support session (Ctrl+C ends it)"
  cd "$workdir"
  RMMHUB_AGENT_TOKEN="$INSTALLER_TOKEN" "${AGENT[@]}" run --foreground --quick-support \
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
  install_agent "$prefix"
  cd "$prefix"
  log "enrolling with $HUB_URL"
  RMMHUB_AGENT_TOKEN="$INSTALLER_TOKEN" "${AGENT[@]}" enroll --hub "$HUB_URL" \
    --state-dir "$prefix/state" --service systemd --install-prefix "$prefix" --service-file "$unit_file"
  write_unit "$prefix" "$unit_file"
  log "wrote $unit_file"

  if [ -z "${RMMHUB_AGENT_NO_START:-}" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload
    systemctl enable --now "$SERVICE_NAME.service"
    log "service $SERVICE_NAME enabled and started"
  else
    log "systemd is not running here: start the agent with '${AGENT[*]} run --state-dir $prefix/state'"
  fi
  log "installed in $prefix"
}

main "$@"
