#!/usr/bin/env bash
# The test command (`make test`, called by .ci/run): lint, template validation, every Rust test
# against a local stack of its own, the web build and the browser test. Tears everything down.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/keel/target}
export SAM_CLI_TELEMETRY=0
step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "SAM template"
.tools/venv/bin/sam validate --lint --region us-east-1

step "build"
cargo build --workspace --all-targets --quiet

step "web build (OpenAPI -> typed client -> bundle)"
"$CARGO_TARGET_DIR/debug/keel-dev" openapi > web/src/api/openapi.json
(cd web && npx --no-install openapi-typescript src/api/openapi.json -o src/api/schema.d.ts >/dev/null && npm run --silent build)
git diff --exit-code --stat -- web/src/api/ || { echo "web/src/api is out of date with the code: run make openapi and commit"; exit 1; }

step "Rust tests and browser test against the local stack"
.tools/venv/bin/python infra/stack/stack.py exec -- scripts/suite.sh
