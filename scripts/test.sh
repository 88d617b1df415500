#!/usr/bin/env bash
# Set up (first run) and run every check: lint, types, layering, then the whole test suite.
# Tests use HODEI_TEST_DATABASE_URL when set, else start an embedded PostgreSQL themselves.
set -euo pipefail
source "$(dirname "$0")/env.sh"
ruff check .
ruff format --check .
mypy
lint-imports
pytest "$@"
