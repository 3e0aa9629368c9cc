#!/usr/bin/env sh
# Send one message to the peer at $PEER from a script and fail loudly if it is
# not acknowledged within 10 s. Usage: PEER=ws://127.0.0.1:8081/ws ./notify.sh "text"
set -eu
here=$(dirname "$0")
printf '1 %s\n' "$*" | "$here/../bin/run.js" start notifier --port 0 --peer "${PEER:-ws://127.0.0.1:8081/ws}" \
  --grace 0 --drain-timeout 10s --json >/dev/null
