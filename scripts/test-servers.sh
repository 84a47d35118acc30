#!/usr/bin/env bash
# Installs, once, what the integration tests start themselves. Idempotent: a second run installs nothing.
# Each test starts and stops its own server instances on 127.0.0.1; nothing here is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

# Prometheus, for the judge's PromQL source test (test/canary-prometheus.test.ts).
if [ ! -x /usr/bin/prometheus ]; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus
fi
