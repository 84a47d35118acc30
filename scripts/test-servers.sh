#!/usr/bin/env bash
# Installs, once, what the integration tests start themselves. Idempotent: a second run installs nothing.
# Each test starts and stops its own server instances on 127.0.0.1; nothing here is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

# Unleash: PostgreSQL 15 from Debian (run by the test as the `postgres` user) and unleash-server 7.5.x,
# the last line that runs on Node 20. unleash-server is ~190 MB, so it lives in .cache/ (gitignored),
# outside the workspace, and a plain `pnpm install` never downloads it.
UNLEASH_SERVER_VERSION=7.5.1
PG_BIN=/usr/lib/postgresql/15/bin
if [ ! -x "$PG_BIN/postgres" ] || ! id postgres >/dev/null 2>&1; then
  echo "test-servers: installing PostgreSQL 15 (Debian package postgresql-15)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
fi
unleash_dir=.cache/test-servers/unleash
installed=$(node -p "try { require('./$unleash_dir/node_modules/unleash-server/package.json').version } catch { '' }")
if [ "$installed" != "$UNLEASH_SERVER_VERSION" ]; then
  echo "test-servers: installing unleash-server $UNLEASH_SERVER_VERSION into $unleash_dir"
  mkdir -p "$unleash_dir"
  [ -f "$unleash_dir/package.json" ] || echo '{ "name": "qsb-test-unleash", "private": true }' >"$unleash_dir/package.json"
  npm install --prefix "$unleash_dir" --no-audit --no-fund --loglevel=error --omit=dev \
    "unleash-server@$UNLEASH_SERVER_VERSION"
fi

# Prometheus, for the judge's PromQL source test (test/canary-prometheus.test.ts).
if [ ! -x /usr/bin/prometheus ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# Redis, for the store's Redis backend (sessions, leases, the routing plan across processes).
# Chromium, for the dashboard's browser test (driven by playwright-core; no browser download).
missing=()
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/promtool ] || missing+=(prometheus)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-servers: installing ${missing[*]} (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
