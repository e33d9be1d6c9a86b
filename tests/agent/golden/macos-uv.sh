#!/usr/bin/env bash
# rmmhub agent installer for macOS, rendered by the hub for one installer token.
#   curl -fsSL <hub>/install/<token>/macos | sudo bash
# Downloads uv from the hub, which provisions a private CPython under PREFIX/python (no system
# Python, no developer tools; RMMHUB_AGENT_PYTHON_MIRROR names the CPython download source) and
# installs the agent wheel from the hub into PREFIX/venv; enrolls this Mac and runs the agent as a
# launchd daemon (RunAtLoad, KeepAlive on failure). Quick-support mode installs nothing
# and runs the agent in the foreground from a temporary directory removed at the end.
#
# Overrides (environment): RMMHUB_AGENT_PREFIX (default /usr/local/rmmhub-agent),
# RMMHUB_AGENT_LAUNCHD_DIR (default /Library/LaunchDaemons), RMMHUB_AGENT_PYTHON (an existing
# interpreter instead of a private CPython), RMMHUB_AGENT_PYTHON_MIRROR (CPython download source),
# RMMHUB_AGENT_PIP_ARGS, RMMHUB_AGENT_NO_START=1 (write the plist but do not load it).
set -euo pipefail

HUB_URL=https://hub.example.com
INSTALLER_TOKEN=tok_0123456789abcdef
QUICK_SUPPORT=0
AGENT_VERSION=@VERSION@
# "platform:sha256 ..." of the uv binaries this hub serves; where uv fetches CPython from.
UV='macos-aarch64:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd macos-x86_64:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc windows-aarch64:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb windows-x86_64:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
PYTHON_MIRROR=https://mirror.example.com/python-build-standalone
PYTHON_VERSION=3.12
LABEL=com.rmmhub.agent

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

install_agent() {  # $1: prefix: uv from the hub provisions a private CPython (no developer tools needed)
  local arch
  arch="$(uname -m)"
  [ "$arch" != arm64 ] || arch=aarch64
  if ! install_uv_venv "$1" "macos-$arch"; then
    log "the hub serves no uv for macos-$arch: falling back to this Mac's Python"
    install_venv "$1"
  fi
}

write_plist() {  # $1: prefix, $2: plist path
  sed "s|__PREFIX__|$1|g" >"$2" <<'PLIST'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>Label</key>
    <string>com.rmmhub.agent</string>
    <key>ProgramArguments</key>
    <array>
        <string>__PREFIX__/venv/bin/python</string>
        <string>-m</string>
        <string>agent</string>
        <string>run</string>
        <string>--state-dir</string>
        <string>__PREFIX__/state</string>
    </array>
    <key>WorkingDirectory</key>
    <string>__PREFIX__</string>
    <key>EnvironmentVariables</key>
    <dict>
        <key>PYTHONUNBUFFERED</key>
        <string>1</string>
    </dict>
    <key>RunAtLoad</key>
    <true/>
    <key>KeepAlive</key>
    <dict>
        <!-- Restart after a crash, not after a clean exit (uninstall, revoked device). -->
        <key>SuccessfulExit</key>
        <false/>
    </dict>
    <key>ThrottleInterval</key>
    <integer>10</integer>
    <key>StandardOutPath</key>
    <string>__PREFIX__/agent.log</string>
    <key>StandardErrorPath</key>
    <string>__PREFIX__/agent.log</string>
</dict>
</plist>
PLIST
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
  install_agent "$prefix"
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
