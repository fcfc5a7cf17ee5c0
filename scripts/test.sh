#!/usr/bin/env bash
# Sets everything up (Python packages, Debian's Chromium for the browser tests) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
