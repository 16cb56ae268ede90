#!/usr/bin/env bash
# The whole test suite on a fresh machine: a venv with prgcloud and its test tools from PyPI,
# then lint, types and tests. The real gcloud CLI must be on PATH (the tests run it, always
# against local servers with a throw-away configuration).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v gcloud >/dev/null || { echo "gcloud (Cloud SDK) is not on PATH" >&2; exit 127; }
# The snippet tests run --dry-run=rest with curl, and every shell snippet under dash too.
missing=""
for tool in curl dash; do command -v "$tool" >/dev/null || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  apt-get update -qq && apt-get install -y -qq $missing
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check prgcloud tests bench tools demo
.venv/bin/ruff format --check prgcloud tests bench tools demo
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
