#!/usr/bin/env bash
# Stops the Docker engine started by scripts/start-dockerd.sh (by the pid in dockerd's pidfile),
# waiting for it to exit; dockerd then stops the containerd it started. No-op if none runs.
set -euo pipefail

PIDFILE=/var/run/docker.pid
say() { printf '[stop-dockerd] %s\n' "$*"; }

# Running = exists and is not a zombie (pid 1 here reaps orphans only now and then).
running() { [[ "$(ps -o stat= -p "$1" 2>/dev/null)" == [!Z]* ]]; }

pid=$(cat "$PIDFILE" 2>/dev/null || true)
if [[ -z $pid ]] || ! running "$pid"; then
  say "no dockerd running"; exit 0
fi
say "stopping dockerd (pid $pid)"
kill "$pid"
for _ in $(seq 1 60); do
  running "$pid" || { say "stopped"; exit 0; }
  sleep 0.5
done
say "dockerd (pid $pid) still running after 30 s"; exit 1
