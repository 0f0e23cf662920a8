#!/usr/bin/env bash
# Installs systemmanager on a Debian/Ubuntu host with systemd: a dedicated system user, the app in
# /opt/systemmanager (production dependencies only), the unit and its settings. Run as root from a
# checkout of the repository. Idempotent; it never overwrites an existing /etc/default/systemmanager.
# Needs: node >= 20.19 and npm on PATH. Docker is optional (the user joins the docker group if it exists).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${PREFIX:-/opt/systemmanager}
USER_NAME=systemmanager
say() { printf '[install] %s\n' "$*"; }

[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
command -v node >/dev/null || { echo "node (>= 20.19) is required" >&2; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || { echo "node >= 20.19 is required, found $(node --version)" >&2; exit 1; }

if ! id -u "$USER_NAME" >/dev/null 2>&1; then
  say "creating system user $USER_NAME"
  useradd --system --home-dir /var/lib/systemmanager --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
fi
if getent group docker >/dev/null; then
  usermod -a -G docker "$USER_NAME"
else
  say "no docker group: Containers cannot be managed until Docker is installed (then re-run this script)"
  # The unit asks for SupplementaryGroups=docker; without the group systemd refuses to start it.
  mkdir -p /etc/systemd/system/systemmanager.service.d
  printf '[Service]\nSupplementaryGroups=\n' > /etc/systemd/system/systemmanager.service.d/no-docker.conf
fi

say "copying the app to $PREFIX"
install -d -m 0755 "$PREFIX"
for part in bin controllers mcp resources schemas manifests docs package.json package-lock.json tsconfig.json; do
  [[ -e "$SRC/$part" ]] && cp -a "$SRC/$part" "$PREFIX/"
done
(cd "$PREFIX" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
chown -R root:root "$PREFIX"

install -d -m 0755 /etc/systemmanager
if [[ ! -d /etc/systemmanager/manifests ]]; then
  cp -a "$PREFIX/manifests/default" /etc/systemmanager/manifests
fi
[[ -e /etc/default/systemmanager ]] || install -m 0644 "$SRC/deploy/systemmanager.default" /etc/default/systemmanager
install -m 0644 "$SRC/deploy/systemmanager.service" /etc/systemd/system/systemmanager.service

systemctl daemon-reload
systemctl enable --now systemmanager.service
say "started; the first admin token is in /var/lib/systemmanager/bootstrap-token (readable by root and $USER_NAME only)"
