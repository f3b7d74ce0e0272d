# Beacon. The logic lives in scripts/; these targets only call it.
#
#   make run      install what is missing, build, start the whole stack here
#   make test     install, build, start test servers on free ports, swift test
#   make bench    release build, every figure against this machine's ceiling
#   make chaos    faults under load, each checked for lost events
#   make images   every service's image from one release build (docker or podman)
#   make help     everything else
#
# Settings, e.g. `make run TRACKER_PORT=18080 PUSHER_DRY_RUN=false` or
# `make test FILTER=TrackerTests`:
TRACKER_PORT   ?= 8080
ENRICHER_PORT  ?= 8081
CONSUMERS_PORT ?= 8082
PUSHER_PORT    ?= 8083
LIVEVIEW_PORT  ?= 8090
REDIS_PORT     ?= 6379
KAFKA_PORT     ?= 9092
MONGO_PORT     ?= 27017
# the consumers' rules (relative to this folder; rules.example.yaml documents all)
RULES_FILE     ?= services/consumers/rules.demo.yaml
# true: the pusher validates and reports on beacon.push.feedback, sends nothing;
# false: it sends with the credentials in services/pusher/pusher.yaml or
# BEACON_APNS_<APP>_* / BEACON_FCM_<APP>_* (see README, Configuring APNs and FCM)
PUSHER_DRY_RUN ?= true
LIVEVIEW_TOKEN ?= dev-token
LOG_LEVEL      ?= info
LOG_FORMAT     ?= text
CONFIG         ?= debug
FILTER         ?=
TEST_ARGS      ?=
BENCH_ARGS     ?=
CHAOS_ARGS     ?=

export TRACKER_PORT ENRICHER_PORT CONSUMERS_PORT PUSHER_PORT LIVEVIEW_PORT REDIS_PORT KAFKA_PORT MONGO_PORT
export RULES_FILE PUSHER_DRY_RUN LIVEVIEW_TOKEN LOG_LEVEL LOG_FORMAT CONFIG FILTER TEST_ARGS BENCH_ARGS CHAOS_ARGS

PRODUCTS := beacon-tracker beacon-enricher beacon-consumers beacon-pusher beacon-liveview
# NO_DEPS=1 skips scripts/install-deps.sh for build and release (where the
# -dev packages come from elsewhere).
DEPS := $(if $(NO_DEPS),,deps)

.DEFAULT_GOAL := help
.PHONY: help deps build release $(addprefix release-,$(PRODUCTS)) run stack test bench chaos images images-local compose-check settings-table clean distclean

help: ## this list
	@echo "Beacon make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 24
	@echo "  make release-NAME     release build of one service ($(PRODUCTS))"
	@echo
	@echo "Settings (defaults): TRACKER_PORT=8080 ENRICHER_PORT=8081 CONSUMERS_PORT=8082"
	@echo "  PUSHER_PORT=8083 LIVEVIEW_PORT=8090 REDIS_PORT=6379 KAFKA_PORT=9092 MONGO_PORT=27017"
	@echo "  RULES_FILE=services/consumers/rules.demo.yaml PUSHER_DRY_RUN=true|false"
	@echo "  LIVEVIEW_TOKEN=dev-token LOG_LEVEL=info LOG_FORMAT=text|json CONFIG=debug|release (for run and chaos)"
	@echo "  FILTER=<swift test --filter> TEST_ARGS=<more swift test arguments> (for test)"
	@echo "  BENCH_ARGS=--quick|--only tracker,enricher,e2e,pusher,pinger,webhooks (for bench)"
	@echo "  CHAOS_ARGS=--faults ...|--seed N (for chaos, which runs the CONFIG build)"
	@echo "  NO_DEPS=1 (build, release: do not run scripts/install-deps.sh)"
	@echo "  VERSION=<tag> SWIFT_IMAGE=swift:6.3-bookworm RUNTIME_IMAGE=debian:bookworm-slim"
	@echo "  STATIC_STDLIB=1 (for images, images-local, compose-check)"
	@echo "  SKIP_IMAGES=1 (test: skip make images-local and make compose-check)"

deps: ## install missing apt/pip packages, librdkafka and GeoLite2 into .deps/
	bash scripts/install-deps.sh

build: $(DEPS) ## debug build of all services
	swift build

release: $(addprefix release-,$(PRODUCTS)) ## release build of every service

# release-beacon-tracker etc.: one service
$(addprefix release-,$(PRODUCTS)): release-%: $(DEPS)
	swift build -c release --product $*

run: ## build and run everything on 127.0.0.1; Ctrl-C stops it
	@exec bash scripts/run.sh

stack: ## only Redis, Kafka and MongoDB (and the topics), in the foreground
	@exec bash scripts/stack.sh

test: ## all tests against servers started on free ports
	@exec bash scripts/test.sh

bench: ## release build; throughput, latency, memory against this machine's ceilings
	@exec bash scripts/bench.sh

settings-table: build ## write every service's configuration table into README.md
	@bash scripts/settings-table.sh

images: ## beacon-<service>:VERSION images, one release build (docker, else podman)
	@bash scripts/images.sh

images-local: ## images, plus the infrastructure's for docker/compose.local.yml
	@bash scripts/images.sh --local

compose-check: ## docker-compose.yml + compose.local.yml up, events through, down -v
	@bash scripts/compose-check.sh

chaos: ## the whole stack under load, each fault in turn, checked for lost events
	@exec bash scripts/chaos.sh

clean: ## remove build products, .run/, .test-output/, .bench/ and .chaos/ (keeps .deps/)
	swift package clean
	rm -rf .run .test-output .bench .chaos

distclean: clean ## also remove .build/ and .deps/
	rm -rf .build .deps
