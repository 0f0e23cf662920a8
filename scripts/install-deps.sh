#!/usr/bin/env bash
# Installs the system parts the tests use (DESIGN §10): a Docker engine, static busybox for the
# test image, dpkg-dev for local apt repositories, Prometheus, docker-compose (benchmark baseline),
# chromium for the browser tests of the approvals page.
# Idempotent: when every package is already installed it only checks and exits (no apt-get update).
set -euo pipefail

PACKAGES=(
  docker.io                 # dockerd + docker CLI (containerd, runc come as dependencies)
  docker-compose            # Debian's compose v1 (Python); benchmark baseline, works offline
  busybox-static            # static binary that becomes the image systemmanager-test/busybox:1
  dpkg-dev                  # dpkg-scanpackages for the local file: apt repository
  prometheus                # promtool check metrics + a real scraper on loopback
  prometheus-node-exporter  # reference /metrics output
  git                       # approved proposals are committed when manifests are a git work tree
  procps                    # ps/pgrep/pkill used by scripts and tests
  iproute2                  # ss, to see who listens on loopback ports
  ca-certificates           # npm registry over TLS
  chromium                  # headless browser for the approvals page tests (playwright-core drives it)
  iputils-ping              # ping, run by the ping_host tool (loopback targets in tests)
  traceroute                # traceroute, run by the traceroute tool
  openssl                   # self-signed certificates for the check_ssl_certificate tests
)

say() { printf '[install-deps] %s\n' "$*"; }

SUDO=()
if [[ $EUID -ne 0 ]]; then
  command -v sudo >/dev/null || { say "must run as root (or with sudo available)"; exit 1; }
  SUDO=(sudo)
fi

installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]; }
# Debian's prometheus package ships promtool; the metrics tests pipe scrapes into it by name.
promtool_on_path() { command -v promtool >/dev/null || { say "promtool is not on PATH after installing prometheus"; exit 1; }; }

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  say "all ${#PACKAGES[@]} packages already installed"
  promtool_on_path
  exit 0
fi
say "missing: ${missing[*]}"

# Package maintainer scripts (docker.io, prometheus, prometheus-node-exporter) try to start their
# services through invoke-rc.d. This machine (and CI) has no systemd and the tests start what they
# need themselves, so deny every service start while installing: policy-rc.d exit 101 = "action
# forbidden", which invoke-rc.d treats as success. A pre-existing policy-rc.d (Docker base images
# ship one) is put back afterwards.
POLICY=/usr/sbin/policy-rc.d
BACKUP=""
if [[ -e $POLICY ]]; then
  BACKUP=$(mktemp /tmp/policy-rc.d.XXXXXX)
  "${SUDO[@]}" cp -p "$POLICY" "$BACKUP"
fi
restore_policy() {
  if [[ -n $BACKUP ]]; then "${SUDO[@]}" mv -f "$BACKUP" "$POLICY"; else "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
"${SUDO[@]}" chmod 755 "$POLICY"

# Remember which daemons run now, so that anything the install starts anyway can be stopped.
# (pgrep matches the 15-character process name, hence "prometheus-node" for the exporter.)
daemons_running() {
  for n in prometheus prometheus-node dockerd containerd; do pgrep -x "$n" || true; done | sort
}
before=$(daemons_running)

APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
say "apt-get update"
"${APT[@]}" update -qq
say "apt-get install ${missing[*]}"
"${APT[@]}" install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

# Stop (by pid) only daemons that were not running before the install.
started=$(comm -13 <(printf '%s\n' "$before") <(daemons_running) | grep -v '^$' || true)
if [[ -n $started ]]; then
  say "stopping services started by the install: $(echo $started)"
  # shellcheck disable=SC2086
  "${SUDO[@]}" kill $started 2>/dev/null || true
fi

for p in "${PACKAGES[@]}"; do installed "$p" || { say "still not installed: $p"; exit 1; }; done
promtool_on_path
say "done"
