#!/usr/bin/env bash
# `make test`: install what is missing, build (debug, with tests), start Redis,
# Kafka (Tansu) and MongoDB (SecantusDB) on free ports in .test-output/stack/,
# create the topics and the test GeoIP database, run `swift test` against
# them, and stop everything it started, also when a test fails or the run is
# interrupted. Exits with swift test's status.
#
# Settings: FILTER=... (swift test --filter), TEST_ARGS="..." (more swift test
# arguments), SKIP_BUILD=1 (test what is built).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/stack.sh
source "$ROOT/scripts/stack.sh"

OUT="$ROOT/.test-output"
T_START=$SECONDS
PHASES=()
phase_start=$SECONDS
phase_done() { PHASES+=("$1 $((SECONDS - phase_start))s"); phase_start=$SECONDS; }

# shellcheck disable=SC2329 # called by the EXIT trap
on_exit() {
    local status=$?
    trap '' INT TERM HUP PIPE
    set +e
    stack_fg_kill
    if ((${#STACK_NAMES[@]} > 0)); then
        echo "test: stopping the test servers" >&2
        stack_stop
    fi
    local phases
    phases="$(printf '%s, ' "${PHASES[@]}")"
    phases="${phases%, }"
    if ((status == 0)); then
        echo "make test: passed in $((SECONDS - T_START))s (${phases})"
    else
        echo "make test: FAILED (exit $status) after $((SECONDS - T_START))s (${phases})"
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# 1. dependencies
bash "$ROOT/scripts/install-deps.sh"
phase_done deps

# A fresh output folder, after stopping what an interrupted run left there.
stack_kill_stale "$OUT/stack"
rm -rf "$OUT"
mkdir -p "$OUT"

# 2. build
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "test: swift build --build-tests" >&2
    stack_fg swift build --build-tests
fi
BIN_DIR="$(swift build --show-bin-path)"
stack_check_rdkafka "$BIN_DIR"/beacon-* "$BIN_DIR"/*.xctest
phase_done build

# 3. servers on free ports, topics, test GeoIP database
stack_init "$OUT/stack"
mapfile -t PORTS < <("${STACK_PROBE[@]}" free-ports 3)
REDIS_PORT="${PORTS[0]}" KAFKA_PORT="${PORTS[1]}" MONGO_PORT="${PORTS[2]}"
stack_start_servers "$REDIS_PORT" "$KAFKA_PORT" "$MONGO_PORT" "$OUT/stack/redis"
"$STACK_PYTHON" "$ROOT/Tests/Fixtures/make_test_geoip.py" "$OUT/geoip-test.mmdb"
echo "test: servers up:" >&2
stack_print_servers "$REDIS_PORT" "$KAFKA_PORT" "$MONGO_PORT" >&2
phase_done servers

# 4. the tests
export BEACON_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export BEACON_TEST_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export BEACON_TEST_MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT"
export BEACON_TEST_GEOIP_DB="$OUT/geoip-test.mmdb"
export BEACON_TEST_BIN_DIR="$BIN_DIR"
BEACON_TEST_CHROMIUM="$(command -v chromium)"
export BEACON_TEST_CHROMIUM
export BEACON_TEST_OUTPUT_DIR="$OUT"
export LD_LIBRARY_PATH="$STACK_LD_LIBRARY_PATH"

args=(--skip-build)
[[ -n "${FILTER:-}" ]] && args+=(--filter "$FILTER")
# shellcheck disable=SC2206 # TEST_ARGS is split on purpose
[[ -n "${TEST_ARGS:-}" ]] && args+=($TEST_ARGS)
echo "test: swift test ${args[*]}" >&2
status=0
stack_fg swift test "${args[@]}" || status=$?
phase_done tests
exit "$status"
