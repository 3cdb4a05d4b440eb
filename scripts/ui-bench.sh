#!/usr/bin/env bash
# Measures the web UI (weight, first render) against the dev server on the running local stack and
# appends the numbers to the results file: `make bench` runs it inside the stack after keel-bench.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bench/results.md}
port=${KEEL_BENCH_PORT:-3388}
KEEL_PORT=$port "$CARGO_TARGET_DIR/debug/keel-dev" serve > "$root/.stack/ui-bench-$port.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health" > /dev/null && break; sleep 0.2; done
KEEL_URL="http://127.0.0.1:$port" node "$root/web/scripts/ui-bench.mjs" "$out"
