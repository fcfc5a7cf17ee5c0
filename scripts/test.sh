#!/usr/bin/env bash
# Sets everything up (Python packages, Debian's Chromium for the browser tests) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# two processes (pytest-xdist; TEST_WORKERS=0 runs in this one), tests handed out as each process frees up
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --dist worksteal "$@"
