# Floe — one entry point for every task. `make help` lists the targets.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT      := $(abspath .)
BIN       := $(ROOT)/bin
VENV      := $(ROOT)/.venv
PY        := $(VENV)/bin/python
# The Python code generator's own environment: grpcio-tools 1.62.3 needs protobuf<5,
# the SDK's test environment (TensorFlow) protobuf>=6.31.
GEN_VENV  := $(ROOT)/.venv-gen
BUF       := $(ROOT)/tools/node_modules/.bin/buf
FLOE      := $(BIN)/floe
SERVER    := services/featureserver
GO_PKGS   := ./services/featureserver/... ./sdk/go/... ./integration/...

# Pinned code generators (installed into bin/, tools/node_modules and .venv).
PROTOC_GEN_GO_VERSION         := v1.36.12
PROTOC_GEN_CONNECT_GO_VERSION := v1.21.1
# grpcio-tools 1.62.3 bundles protoc 25.1: its Python code (protobuf gencode 4.25.1, gRPC
# stubs without a version check) loads on every protobuf runtime from 4.25.1 to 7.x and
# on grpcio from 1.49, so the SDK's dependency floors can be low (sdk/python/README.md,
# "Dependency floors"; make test-python-floor proves the lowest, make test-python the
# newest). Newer generators stamp their own version as the runtime's floor.
GRPCIO_TOOLS_VERSION          := 1.62.3

# Everything `make generate` writes; check-generated compares exactly these.
GENERATED := sdk/go/gen sdk/go/features sdk/python/src/floe/v1 sdk/python/src/floe/features sdk/ts/src/gen sdk/ts/src/features \
             docs/cli.md $(SERVER)/internal/cli/scaffold/floe-spec.schema.json

.PHONY: help
help: ## list every target
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

## ---- setup -------------------------------------------------------------------

$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(BIN)/protoc-gen-connect-go:
	GOBIN=$(BIN) go install connectrpc.com/connect/cmd/protoc-gen-connect-go@$(PROTOC_GEN_CONNECT_GO_VERSION)

# `npm ci` refuses these lockfiles: the registry these machines reach does not serve
# other platforms' optional packages (buf-darwin-*, rollup-*), so the lockfiles cannot
# list them. `npm install --no-save` follows the lockfile and leaves it untouched.
NPM_INSTALL := npm install --no-audit --no-fund --no-save

$(BUF): tools/package.json tools/package-lock.json
	cd tools && $(NPM_INSTALL)
	@touch $@

# The Python SDK's virtual environment, in layers so that each target installs only what
# it uses: core (numpy, grpcio, protobuf: the demo), then the test, training and Keras
# extras (make test-python), and grpcio-tools for code generation. A layer is redone
# when sdk/python/pyproject.toml changes.
$(VENV)/.core: sdk/python/pyproject.toml
	scripts/deps.sh venv
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e sdk/python
	@touch $@

$(VENV)/.test: $(VENV)/.core
	$(PY) -m pip install -q -e 'sdk/python[test,training,pandas,progress,keras-jax,keras-tf]'
	@touch $@

# grpcio-tools lives in its own venv (GEN_VENV): tools/bin/protoc runs it.
$(VENV)/.gen: $(VENV)/.core
	scripts/deps.sh venv
	test -x $(GEN_VENV)/bin/python || python3 -m venv $(GEN_VENV)
	$(GEN_VENV)/bin/python -m pip install -q grpcio-tools==$(GRPCIO_TOOLS_VERSION)
	@touch $@

# `python -m build` for make dist.
$(VENV)/.dist: $(VENV)/.core
	$(PY) -m pip install -q 'build>=1.2'
	@touch $@

# The SDK at its dependency floors (the ">=" bounds of pyproject.toml, pinned by
# sdk/python/scripts/floor_pins.py) with the training, pandas and progress extras.
FLOOR_VENV := $(ROOT)/.venv-floor
$(FLOOR_VENV)/.ok: sdk/python/pyproject.toml sdk/python/scripts/floor_pins.py
	scripts/deps.sh venv
	rm -rf $(FLOOR_VENV)
	python3 -m venv $(FLOOR_VENV)
	python3 sdk/python/scripts/floor_pins.py training pandas progress > $(FLOOR_VENV)/floor.txt
	$(FLOOR_VENV)/bin/python -m pip install -q -c $(FLOOR_VENV)/floor.txt -e 'sdk/python[training,pandas,progress]' 'pytest>=8'
	@touch $@

sdk/ts/node_modules/.package-lock.json: sdk/ts/package.json sdk/ts/package-lock.json
	cd sdk/ts && $(NPM_INSTALL)

.PHONY: venv
venv: $(VENV)/.core ## the Python SDK in .venv with its core dependencies (numpy, grpcio, protobuf)

.PHONY: tools
tools: $(BIN)/protoc-gen-go $(BIN)/protoc-gen-connect-go $(BUF) $(VENV)/.gen ## install the pinned code generators (make generate runs it)

.PHONY: deps
deps: ## install the system programs the tests need (redis-server, java + maven, chromium, python3-venv) via apt as root, or print the command
	scripts/deps.sh all

## ---- build -------------------------------------------------------------------

.PHONY: build
# floe version reports this; a checkout without tags says the commit.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build: ## build bin/floe
	go build -ldflags "-X floe.dev/floe/$(SERVER)/internal/cli.Version=$(VERSION)" -o $(FLOE) ./$(SERVER)/cmd/floe

.PHONY: dist
dist: dist-python dist-ts ## build the clients' packages: the Python wheel and sdist (sdk/python/dist), the TypeScript tarball (sdk/ts/pack)

.PHONY: dist-python
dist-python: $(VENV)/.dist ## the Python SDK's wheel and sdist in sdk/python/dist
	rm -rf sdk/python/dist
	$(PY) -m build --outdir sdk/python/dist sdk/python

.PHONY: dist-ts
dist-ts: sdk/ts/node_modules/.package-lock.json ## the TypeScript client compiled to dist/ and packed (npm pack) into sdk/ts/pack
	rm -rf sdk/ts/pack && mkdir -p sdk/ts/pack
	cd sdk/ts && npm pack --pack-destination pack  # prepack runs npm run build

## ---- code generation ---------------------------------------------------------

.PHONY: generate
generate: tools ## regenerate Go, Python and TypeScript code from proto/ and specs/
	rm -rf sdk/go/gen sdk/ts/src/gen
	find sdk/python/src/floe/v1 -name '*_pb2*.py*' -delete 2>/dev/null || true
	$(BUF) generate
	touch sdk/python/src/floe/v1/__init__.py
	rm -rf sdk/go/features sdk/python/src/floe/features sdk/ts/src/features
	go build -o $(BIN)/floe-gen ./$(SERVER)/cmd/floe
	$(BIN)/floe-gen gen --specs specs/examples --repo-layout --out . > /dev/null
	cp specs/schema/floe-spec.schema.json $(SERVER)/internal/cli/scaffold/floe-spec.schema.json
	mkdir -p docs && $(BIN)/floe-gen help --markdown > docs/cli.md
	rm -f $(BIN)/floe-gen

.PHONY: check-generated
check-generated: generate ## fail if committed generated code differs from what `make generate` writes
	@if [ -n "$$(git status --porcelain -- $(GENERATED))" ]; then \
	  echo "Generated code is stale; run 'make generate' and commit:"; git status --short -- $(GENERATED); exit 1; fi
	@echo "generated code is up to date"

## ---- quality -----------------------------------------------------------------

.PHONY: lint
lint: $(BUF) ## buf lint, buf breaking against main, gofmt, go vet
	$(BUF) lint
	@if git rev-parse --verify -q main >/dev/null && git cat-file -e main:proto 2>/dev/null; then \
	  $(BUF) breaking --against '.git#branch=main'; else echo "no proto on main yet: skipping buf breaking"; fi
	@out=$$(gofmt -l services sdk/go | grep -v '\.pb\.go$$' || true); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet $(GO_PKGS)

## ---- tests -------------------------------------------------------------------

.PHONY: test
test: test-go test-python test-python-floor test-dist test-ts test-console ## the whole test suite; installs what it needs (see `make deps`)

# The Go tests start Apache Iceberg's REST catalog test server, a jar from Maven Central
# that scripts/fetch-rest-fixture.sh fetches once into ~/.m2 and prints the path of.
.PHONY: test-go
test-go: ## Go unit and integration tests (starts real redis-server and Iceberg REST catalog processes)
	scripts/deps.sh go-tests
	jar=$$(scripts/fetch-rest-fixture.sh) && FLOE_ICEBERG_REST_JAR=$$jar go test -race -count=1 $(GO_PKGS)

.PHONY: test-python
test-python: $(VENV)/.test build ## Python SDK tests against a real server
	cd sdk/python && FLOE_BIN=$(FLOE) KERAS_BACKEND=jax $(PY) -m pytest -q

.PHONY: test-python-floor
test-python-floor: $(FLOOR_VENV)/.ok build ## Python SDK tests at the lowest supported grpcio, protobuf, numpy, pyarrow, pandas (no Keras, no pyiceberg)
	cd sdk/python && FLOE_BIN=$(FLOE) $(FLOOR_VENV)/bin/python -m pytest -q \
	  --ignore=tests/test_pyiceberg_interop.py --ignore=tests/test_docs_examples.py \
	  --ignore=tests/test_example_keras_pricing.py

.PHONY: test-dist
test-dist: dist $(VENV)/.test build ## install the built Python wheel and sdist into clean venvs, and the TS tarball into a new project; smoke-test them against a real server
	cd sdk/python && FLOE_BIN=$(FLOE) FLOE_DIST=$(ROOT)/sdk/python/dist $(PY) -m pytest -q tests/test_dist.py
	cd sdk/ts && FLOE_BIN=$(FLOE) FLOE_DIST=$(ROOT)/sdk/ts/pack npm run test:pack

.PHONY: test-ts
test-ts: sdk/ts/node_modules/.package-lock.json build ## TypeScript client tests against a real server
	cd sdk/ts && FLOE_BIN=$(FLOE) npm test

CONSOLE := services/console
FLOE_URL ?= http://127.0.0.1:8080

$(CONSOLE)/node_modules/.package-lock.json: $(CONSOLE)/package.json $(CONSOLE)/package-lock.json
	cd $(CONSOLE) && $(NPM_INSTALL)

.PHONY: test-console
test-console: build $(CONSOLE)/node_modules/.package-lock.json ## console: typecheck, component tests, end-to-end in Debian's chromium
	scripts/deps.sh console-e2e
	cd $(CONSOLE) && npm test
	cd $(CONSOLE) && FLOE_BIN=$(FLOE) npm run test:e2e

.PHONY: console-dev
console-dev: $(CONSOLE)/node_modules/.package-lock.json ## Nuxt dev server (http://localhost:3000/console/) against a running Floe at FLOE_URL
	cd $(CONSOLE) && FLOE_URL=$(FLOE_URL) npx nuxt dev

.PHONY: console-build
console-build: $(CONSOLE)/node_modules/.package-lock.json ## rebuild the console embedded in bin/floe (commit internal/console/dist)
	cd $(CONSOLE) && npm run build:embed

## ---- benchmarks --------------------------------------------------------------

.PHONY: bench
bench: build ## load generator: online read path vs raw Redis, Iceberg miss path, materialization, freshness; then training retrieval (see README)
	go run ./$(SERVER)/cmd/floe-bench
	$(MAKE) --no-print-directory bench-training

# One run each (-benchtime 1x): setting up the Iceberg tables (three ingests of
# 1M rows) takes most of the quarter minute.
.PHONY: bench-training
bench-training: ## point-in-time retrieval: 1M entity rows × 3 views of 1M rows, from Iceberg and from memory (rows/s, peak heap)
	FLOE_BENCH_ROWS=1000000 go test -run '^$$' -bench '^BenchmarkRetrieve' -benchtime 1x ./$(SERVER)/internal/training/

.PHONY: bench-go
bench-go: ## Go micro-benchmarks (codec, stores, read path)
	go test -run '^$$' -bench . -benchmem ./$(SERVER)/internal/...

## ---- demo --------------------------------------------------------------------

.PHONY: demo
demo: build $(VENV)/.core ## run Floe on its embedded default with the pricing example, and read features over HTTP and from Python
	./scripts/demo.sh

example-keras: build $(VENV)/.test ## examples/keras_pricing: train a Keras model on point-in-time training data, save it, score online
	./examples/keras_pricing/run.sh

.PHONY: clean
clean: ## remove build outputs and local data (.floe)
	rm -rf $(BIN)/floe .floe test-output

.PHONY: fresh-clone
fresh-clone: ## make demo and make test in a fresh clone of HEAD with empty pip/npm/Maven caches (COLD_GO=1: empty Go caches too), timed
	scripts/fresh-clone.sh $(if $(COLD_GO),--cold-go) demo test
