#!/usr/bin/env bash
# What the tests need beyond npm: a real nats-server (cluster and load-agent
# tests) and Chromium (the console's browser test), both from the OS packages.
# As root on Debian/Ubuntu the missing ones are installed; otherwise this stops
# at once with one line saying how to get them.
set -euo pipefail

missing=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: installing ${missing[*]} from the OS packages (apt-get install -y ${missing[*]})" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null; }
  exit 0
fi
echo "error: the tests need ${missing[*]}: install them first, e.g. sudo apt-get install -y ${missing[*]}" >&2
exit 1
