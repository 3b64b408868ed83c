#!/usr/bin/env bash
# Placeholder: the end-to-end demo against the local sandbox is not written yet.
set -euo pipefail
echo "tools/demo.sh: not yet implemented" >&2
exit 1
