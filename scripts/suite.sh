#!/usr/bin/env bash
# Runs inside a local stack (infra/stack/stack.py exec): Rust tests, then the browser test and the
# OpenAPI fuzz against the dev server on a free port.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Every AWS call a function makes from here on is recorded under its name; the conformance check
# at the end holds each function's IAM policy in template.yaml to them.
export KEEL_AWS_CALL_LOG="$root/.stack/aws-calls-$$.log"
: > "$KEEL_AWS_CALL_LOG"
# The event plumbing (stream -> relay -> bus -> queues -> consumers) runs beside the tests, as
# Lambda's event source mappings would in AWS.
"$CARGO_TARGET_DIR/debug/keel-dev" plumbing > "$root/.stack/plumbing-$$.log" 2>&1 &
plumbing=$!
cargo nextest run --workspace --no-fail-fast --status-level fail --final-status-level slow
kill $plumbing; wait $plumbing 2>/dev/null || true

# A second stack started while this one runs gets its own ports and its own, empty data; stopping
# it leaves this one answering (the browser test below runs against this one).
outer_items=$(.tools/venv/bin/python -c "import boto3,os; print(boto3.client('dynamodb').scan(TableName=os.environ['KEEL_TABLE'], Select='COUNT')['Count'])")
.tools/venv/bin/python infra/stack/stack.py exec -- .tools/venv/bin/python -c "
import boto3, os, sys
inner = os.environ['AWS_ENDPOINT_URL_DYNAMODB']
assert inner != sys.argv[1], 'the second stack reused the first one'
count = boto3.client('dynamodb').scan(TableName=os.environ['KEEL_TABLE'], Select='COUNT')['Count']
assert count == 0, f'the second stack sees {count} items'
print('second stack: own endpoint', inner, 'and an empty table')
" "$AWS_ENDPOINT_URL_DYNAMODB"
test "$outer_items" -gt 0
.tools/venv/bin/python -c "import boto3,os; boto3.client('dynamodb').describe_table(TableName=os.environ['KEEL_TABLE'])" \
  || { echo "the first stack stopped answering"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KEEL_PORT=$port "$CARGO_TARGET_DIR/debug/keel-dev" serve > "$root/.stack/dev-server-$port.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/health", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit("the dev server did not become healthy")
PY
KEEL_URL="http://127.0.0.1:$port" node --test web/e2e/

# The OpenAPI document the server serves, held to the server: schemathesis fuzzes every operation
# with valid and malformed input (fixed seed and case budget, about a minute and a half) and fails
# on any 5xx or any status, content type, header or body the document does not describe.
KEEL_URL="http://127.0.0.1:$port" .tools/venv/bin/python infra/stack/fuzz.py

# template.yaml and samconfig.toml against the code's declarations and the calls recorded above.
"$CARGO_TARGET_DIR/debug/keel-dev" declarations > "$root/.stack/declarations-$$.json"
.tools/venv/bin/python infra/stack/conformance.py "$root/.stack/declarations-$$.json" "$KEEL_AWS_CALL_LOG"
# The scaffold (`make scaffold`) still writes a context the same check passes.
.tools/venv/bin/python infra/stack/scaffold_check.py "$root/.stack/declarations-$$.json" "$KEEL_AWS_CALL_LOG"
