#!/usr/bin/env bash
# The whole suite as `./run test` runs it: lint, layering, types, then every test (browser included).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
status=0
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

step "ruff check";         .venv/bin/ruff check . || status=1
step "ruff format --check"; .venv/bin/ruff format --check . || status=1
step "import layering";    .venv/bin/lint-imports --no-cache || status=1
step "mypy (dispatch, routing, services)"; .venv/bin/mypy || status=1
step "pytest"
mkdir -p test-artifacts
$PY -m pytest "$@" || status=1
if [ $status -ne 0 ]; then echo "SUITE FAILED"; else echo "SUITE PASSED"; fi
exit $status
