#!/usr/bin/env bash
# make demo: the collection against the local Azure sandbox, twice (the second run changes nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python tools/demo.py "$@"
