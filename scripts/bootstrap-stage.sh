#!/usr/bin/env bash
# Creates a stage's out-of-band secrets and key parameter once (safe to re-run); --rotate replaces
# the token signing key under a new key id.
#   scripts/bootstrap-stage.sh <stage> [--rotate] [--region R]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 <stage> [--rotate] [--region R]" >&2; exit 2; }
py="$root/.tools/venv/bin/python"
[ -x "$py" ] || { echo "$py not found: run make install first" >&2; exit 1; }
exec "$py" "$root/infra/deploy/bootstrap_stage.py" "$@"
