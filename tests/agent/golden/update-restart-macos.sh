#!/bin/sh
# rmmhub agent: bring the launchd daemon back up after a self-update was rolled back.
# Written and run by the update watchdog (agent/update_restart.py) once the previous version is back
# in place: `launchctl kickstart -k` restarts the job (ending whatever still runs as it); a job
# that is not loaded any more is bootstrapped from its plist again (RunAtLoad starts it).
set -eu

LABEL=com.rmmhub.agent
PLIST=/Library/LaunchDaemons/com.rmmhub.agent.plist
DOMAIN=system

if launchctl kickstart -k "$DOMAIN/$LABEL"; then
  printf 'rmmhub-agent: launchd restarted %s\n' "$DOMAIN/$LABEL"
  exit 0
fi
if [ ! -f "$PLIST" ]; then
  printf 'rmmhub-agent: %s is not loaded and %s is gone\n' "$LABEL" "$PLIST" >&2
  exit 1
fi
launchctl bootstrap "$DOMAIN" "$PLIST"
printf 'rmmhub-agent: launchd loaded %s\n' "$PLIST"
