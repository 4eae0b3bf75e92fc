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
# Two test processes (pytest-xdist), a test file each at a time: module-scoped servers stay in one process, and
# each process starts its own session servers (Redis, PostgreSQL) on free ports. OUTFIELD_TEST_PROCESSES=0 runs
# everything in this one process.
processes=${OUTFIELD_TEST_PROCESSES:-2}
step "pytest ($processes test processes)"
mkdir -p test-artifacts
if [ "$processes" = 0 ]; then
  $PY -m pytest "$@" || status=1
else
  $PY -m pytest -n "$processes" --dist loadfile "$@" || status=1
fi
if [ $status -ne 0 ]; then echo "SUITE FAILED"; else echo "SUITE PASSED"; fi
exit $status
