#!/usr/bin/env bash
# Starts a Docker engine for the tests (DESIGN §10) unless one already answers, then makes sure the
# test image systemmanager-test/busybox:1 exists. Idempotent; stop it with scripts/stop-dockerd.sh.
#
# Flags, and why (verified on Debian 12, docker.io 20.10.24, no systemd, cgroup v1, as root):
#   --iptables=false --ip6tables=false  never touch the host firewall
#   --bridge=none                       no docker0 and no private-range subnet; containers use
#                                       network "none" or "host" (listening on 127.0.0.1 only)
#   --ip-forward=false                  leave the host's net.ipv4.ip_forward alone
#   --storage-driver=vfs                works on any filesystem, no overlay mount needed
# Nothing else was needed here: the default data root (/var/lib/docker), exec root and socket
# work, dockerd starts its own containerd, runc works with cgroup v1 (memory/cpu/pids limits
# apply), and seccomp/apparmor are not available on this kernel, so there is nothing to disable.
set -euo pipefail

LOG=${SYSTEMMANAGER_DOCKERD_LOG:-/tmp/systemmanager-dockerd.log}
IMAGE=systemmanager-test/busybox:1
say() { printf '[start-dockerd] %s\n' "$*"; }

# remove_stale_pidfile FILE NAME: removes FILE unless it names a live (non-zombie) process NAME.
remove_stale_pidfile() {
  local pid; pid=$(cat "$1" 2>/dev/null || true)
  if [[ -n $pid ]] && [[ "$(ps -o stat=,comm= -p "$pid" 2>/dev/null)" != [!Z]*" $2" ]]; then
    say "removing stale $1 (pid $pid)"; rm -f "$1"
  fi
}

if docker info >/dev/null 2>&1; then
  say "Docker engine already answers"
else
  command -v dockerd >/dev/null || { say "dockerd not found: run scripts/install-deps.sh"; exit 1; }
  [[ $EUID -eq 0 ]] || { say "dockerd must be started as root"; exit 1; }
  # A dockerd that died (or was killed) leaves its pidfiles behind: with docker.pid naming a process
  # dockerd refuses to start, with containerd.pid it waits 15 s for that containerd and gives up.
  # Here pid 1 reaps orphans only now and then, so a dead daemon can linger as a zombie for a few
  # seconds: a pidfile naming a zombie or some other program is stale too.
  remove_stale_pidfile /var/run/docker.pid dockerd
  remove_stale_pidfile /var/run/docker/containerd/containerd.pid containerd
  say "starting dockerd (log: $LOG)"
  # setsid + nohup: the daemon outlives this script and the CI step that ran it.
  setsid nohup dockerd --iptables=false --ip6tables=false --bridge=none --ip-forward=false \
    --storage-driver=vfs >>"$LOG" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    if ! kill -0 "$pid" 2>/dev/null; then
      say "dockerd exited during startup; last lines of $LOG:"; tail -n 20 "$LOG" >&2; exit 1
    fi
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    say "dockerd did not answer within 30 s; last lines of $LOG:"; tail -n 20 "$LOG" >&2; exit 1
  fi
  say "dockerd is up (pid $pid)"
fi

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "image $IMAGE present"
else
  # Nothing can be pulled: build the image from the static busybox binary, exactly as DESIGN §10.
  # The image holds only /bin/busybox and /bin/sh, so commands run as `sh -c '...'` or
  # `busybox <applet>` (sh runs busybox applets by name, e.g. sh -c 'exec httpd -f ...').
  say "building $IMAGE from /bin/busybox"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && mkdir -p r/bin && cp /bin/busybox r/bin/ && ln -s busybox r/bin/sh \
    && tar -C r -c . | docker import - "$IMAGE" >/dev/null)
  say "image $IMAGE built"
fi
