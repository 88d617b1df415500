#!/usr/bin/env bash
# Set up (first run) and run every check: lint, types, layering, then the whole test suite.
# Tests use HODEI_TEST_DATABASE_URL when set, else start an embedded PostgreSQL themselves.
set -euo pipefail
source "$(dirname "$0")/env.sh"
# A run starts hundreds of Python processes: let them keep compiled bytecode (__pycache__,
# ignored by git) rather than compile the project again in each, as they do where the
# environment sets PYTHONDONTWRITEBYTECODE (pytest's assertion rewriting included).
unset PYTHONDONTWRITEBYTECODE
ruff check .
ruff format --check .
mypy
lint-imports
pytest "$@"
