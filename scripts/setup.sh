#!/usr/bin/env bash
# Installs everything Strata needs on a Debian machine with Node 20 and builds it.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "strata setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Debian packages: a compiler toolchain for native modules, FUSE for mounts, tools the tests
# compare against (attr, rsync, awscli for the S3 gateway; curl moves bench/gateway's large objects; tmux to watch strata stats in a terminal,
# rsvg-convert to render bench charts, the Prometheus client's text-format parser to read /metrics),
# the SQL servers metadata can live on (PostgreSQL, MariaDB) and Redis, a target of bucket event
# notifications (tests start throwaway instances of all three).
apt_missing=()
for pkg in build-essential python3 pkg-config fuse3 libfuse3-dev attr rsync awscli curl postgresql mariadb-server mariadb-client redis-server tmux librsvg2-bin python3-prometheus-client; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || apt_missing+=("$pkg")
done
if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "strata setup: missing Debian packages: ${apt_missing[*]}; install them with: sudo apt-get install ${apt_missing[*]}" >&2
    exit 1
  fi
  say "installing Debian packages: ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

# npm dependencies: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash scripts/build.sh
