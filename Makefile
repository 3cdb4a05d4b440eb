# Keel CRM - the two set-up commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/keel/target
export SAM_CLI_TELEMETRY := 0
KEEL_PORT ?= 3000
STACK := .tools/venv/bin/python infra/stack/stack.py

.PHONY: run test install web openapi bench package lint fmt scaffold

install:
	@scripts/install.sh

## Local stack + API + UI on http://127.0.0.1:$(KEEL_PORT), in the foreground until Ctrl-C.
run: install
	$(MAKE) --no-print-directory web
	cargo build -p keel-infra --bin keel-dev
	$(STACK) exec --require-port $(KEEL_PORT) -- env KEEL_PORT=$(KEEL_PORT) $(CARGO_TARGET_DIR)/debug/keel-dev serve

## Everything CI checks, against a local stack of its own on free ports.
test: install
	scripts/test.sh

web: openapi
	cd web && npm run --silent build

## The OpenAPI document generated from the code, and the web client's types from it.
## The system function embeds the document, so it is replaced only when it changed, and never
## truncated while the binary that writes it is being built (that would embed an empty one).
openapi:
	cargo build -q -p keel-infra --bin keel-dev
	$(CARGO_TARGET_DIR)/debug/keel-dev openapi > web/src/api/openapi.json.new
	cmp -s web/src/api/openapi.json.new web/src/api/openapi.json && rm web/src/api/openapi.json.new \
	  || mv web/src/api/openapi.json.new web/src/api/openapi.json
	cd web && npx --no-install openapi-typescript src/api/openapi.json -o src/api/schema.d.ts >/dev/null

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	.tools/venv/bin/sam validate --lint --region us-east-1

fmt:
	cargo fmt --all

## Writes into template.yaml what declared functions and routes still lack (review the diff after).
scaffold: install
	cargo build -q -p keel-infra --bin keel-dev
	mkdir -p .stack
	$(CARGO_TARGET_DIR)/debug/keel-dev declarations > .stack/declarations.json
	.tools/venv/bin/python infra/stack/scaffold.py .stack/declarations.json

## Benchmarks against a local stack; results go to bench/results.md.
bench: install
	cargo build --release -p keel-bench -p keel-leads
	cargo build -p keel-infra --bin keel-dev
	$(MAKE) --no-print-directory web
	$(STACK) exec -- $(CARGO_TARGET_DIR)/release/keel-bench bench/results.md
	$(STACK) exec -- scripts/ui-bench.sh bench/results.md

## Release arm64 build of every function through SAM (needs cargo-lambda and zig from PyPI).
package: install
	.tools/venv/bin/pip install --quiet --disable-pip-version-check cargo-lambda ziglang
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/.tools/venv/bin:$$PATH" .tools/venv/bin/sam build --beta-features
