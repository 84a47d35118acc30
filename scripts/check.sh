#!/usr/bin/env bash
# The whole test suite: servers the integration tests need, type-check, lint, then every test.
# QSB_TEST_REPORT=path also writes vitest's JSON report there (.ci/run reads it for its summary).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-servers.sh
pnpm typecheck
pnpm lint
pnpm test
