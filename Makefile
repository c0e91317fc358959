# Attest — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Every module of the workspace, and the package pattern that covers them all.
MODULES := libs $(wildcard services/*)
PKGS    := github.com/attest-ehr/attest/...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
BIN := bin

.PHONY: run build test test-browser screenshots test-race bench bench-demo bench-1m lint docs clean help

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: ## the whole platform in one process with embedded defaults and demo sign-in; console at http://localhost:8080
	@mkdir -p $(BIN)
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/attest ./services/platform/cmd/attest
	GATEWAY_DEMO=$${GATEWAY_DEMO:-true} exec $(BIN)/attest run

build: ## compile the attest binary and every service's own binary into bin/
	@mkdir -p $(BIN)
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/attest ./services/platform/cmd/attest
	@for s in records messaging education metrics reporting gateway; do \
		go build -ldflags "$(LDFLAGS)" -o $(BIN)/$$s ./services/$$s/cmd/$$s; done

test: ## every test: unit, storage on SQLite and PostgreSQL, Redis, the embedded broker over TCP, end to end
	go vet $(PKGS)
	go test -count=1 -timeout 20m $(PKGS)
	$(MAKE) test-browser

test-browser: ## the console in Debian chromium (playwright-core, axe-core): needs /usr/bin/chromium and npm
	@mkdir -p $(BIN)
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/attest ./services/platform/cmd/attest
	cd tests/browser && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && \
		ATTEST_BIN=$(CURDIR)/$(BIN)/attest node --test --test-concurrency=1 --test-reporter=spec

screenshots: ## the browser tests, saving each persona's main page to docs/screenshots/
	$(MAKE) test-browser SCREENSHOTS=$(CURDIR)/docs/screenshots

test-race: ## every test under the race detector (slower)
	go test -race -count=1 -timeout 30m $(PKGS)

bench: ## benchmarks; results and commands in docs/benchmarks.md (BENCH_PATIENTS: the three-way tier, default 10000)
	go test -run '^$$' -bench . -benchmem -count=1 $(PKGS)
	go run ./services/platform/cmd/attest bench --patients $${BENCH_PATIENTS:-10000} --out docs/benchmarks/three-way.md

bench-demo: ## what `make run` promises: start -> demo imported -> pipeline caught up -> a report non-empty (DEMO_BENCH_PATIENTS, default 20000)
	DEMO_BENCH_PATIENTS=$${DEMO_BENCH_PATIENTS:-20000} go test -run '^$$' -bench TimeToReports -benchtime 1x -timeout 0 -v ./services/platform/internal/demo

bench-1m: ## the three-way tier at 1,000,000 patients (hours on 2 cores; BENCH_WORK keeps the generated files to resume)
	METRICS_SCALE_PATIENTS=$${METRICS_SCALE_PATIENTS:-1000000} go test -run '^$$' -bench Scale -benchtime 1x -timeout 0 -v ./services/metrics
	go run ./services/platform/cmd/attest bench --patients 1000000 --windows 2 --freshness 20 \
		--work $${BENCH_WORK:-bench-work} --out docs/benchmarks/three-way-1m.md

lint: ## gofmt, go vet and staticcheck (pinned)
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet $(PKGS)
	go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$$(go env GOPATH)/bin/staticcheck $(PKGS)

docs: ## regenerate generated documentation (docs/events.md)
	go test ./libs/contract -run TestEventsDoc -update -count=1

clean: ## remove build output and the local data directory
	rm -rf $(BIN) data
