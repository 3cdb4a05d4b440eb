#!/usr/bin/env bash
# Builds the web UI and publishes it to the stage's bucket behind CloudFront (stack keel-<stage>).
#   scripts/deploy-web.sh <stage> [--region R]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 <stage> [--region R]" >&2; exit 2; }
py="$root/.tools/venv/bin/python"
[ -x "$py" ] || { echo "$py not found: run make install first" >&2; exit 1; }
make -C "$root" --no-print-directory web
exec "$py" "$root/infra/deploy/deploy_web.py" "$@"
