#!/usr/bin/env bash
# ESLint over the admin web UI (shared/ui/*.js), pinned in tests/lint (flat config there):
# recommended rules plus functions of at most 60 lines. `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd tests/lint && npm ci --no-audit --no-fund --loglevel=error)
tests/lint/node_modules/.bin/eslint --max-warnings 0 --config tests/lint/eslint.config.mjs shared/ui
echo "eslint: shared/ui clean"
