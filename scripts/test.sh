#!/usr/bin/env bash
# `make test`: install what is missing, build (debug, with tests), start Redis,
# Kafka (Tansu) and MongoDB (SecantusDB) on free ports in .test-output/stack/,
# create the topics and the test GeoIP database, run `swift test` against
# them, then the short chaos run (bench/chaos.py --short), then every image
# (make images-local) and the compose stack with them (make compose-check),
# and stop everything it started, also when a test fails or the run is
# interrupted. Exits non-zero when a test, the chaos run, an image build or
# the compose check failed.
#
# Settings: FILTER=... (swift test --filter), TEST_ARGS="..." (more swift test
# arguments), SKIP_BUILD=1 (test what is built), SKIP_IMAGES=1 (no images and
# no compose check; also skipped when FILTER picks tests).
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
    kill_marked_processes
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
# Stops whatever the tests started and left running (services, a browser, a
# Redis of their own), found by the BEACON_TEST_SESSION mark in their environment.
kill_marked_processes() {
    [[ -n "${BEACON_TEST_SESSION:-}" ]] || return 0
    local d pids=()
    for d in /proc/[0-9]*; do
        [[ "${d#/proc/}" == "$$" ]] && continue
        if { tr '\0' '\n' <"$d/environ"; } 2>/dev/null | grep -qx "BEACON_TEST_SESSION=$BEACON_TEST_SESSION"; then
            pids+=("${d#/proc/}")
        fi
    done
    ((${#pids[@]} > 0)) || return 0
    echo "test: stopping ${#pids[@]} process(es) the tests left running" >&2
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# 1. dependencies
bash "$ROOT/scripts/install-deps.sh"
phase_done deps

# Deployment files: a broken Dockerfile, compose file or manifest fails the run.
for check in check-docker.sh check-k8s.sh; do
    [[ -f "$ROOT/scripts/$check" ]] && bash "$ROOT/scripts/$check"
done
phase_done deploy-checks

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
# Three dovecots (scripts/dovecot.sh) sharing one test CA: one with IDLE
# (plaintext+STARTTLS and implicit TLS), one without IDLE (clients must poll),
# and one with IDLE that a test restarts (so that the others never drop).
# shellcheck source=scripts/dovecot.sh
source "$ROOT/scripts/dovecot.sh"
mapfile -t IMAP_PORTS < <("${STACK_PROBE[@]}" free-ports 6)
dovecot_start "$OUT/stack/dovecot-idle" dovecot-idle "${IMAP_PORTS[0]}" "${IMAP_PORTS[1]}" yes "$OUT/stack/imap-ca"
dovecot_start "$OUT/stack/dovecot-noidle" dovecot-noidle "${IMAP_PORTS[2]}" "${IMAP_PORTS[3]}" no "$OUT/stack/imap-ca"
dovecot_start "$OUT/stack/dovecot-restart" dovecot-restart "${IMAP_PORTS[4]}" "${IMAP_PORTS[5]}" yes "$OUT/stack/imap-ca"
export BEACON_TEST_IMAP_PORT="${IMAP_PORTS[0]}"
export BEACON_TEST_IMAPS_PORT="${IMAP_PORTS[1]}"
export BEACON_TEST_IMAP_NOIDLE_PORT="${IMAP_PORTS[2]}"
export BEACON_TEST_IMAP_CA_FILE="$OUT/stack/imap-ca/ca.pem"
export BEACON_TEST_IMAP_RESTART_PORT="${IMAP_PORTS[4]}"
export BEACON_TEST_IMAP_RESTART_IMAPS_PORT="${IMAP_PORTS[5]}"
# The one to restart (scripts/dovecot.sh restart DIR).
export BEACON_TEST_IMAP_DIR="$OUT/stack/dovecot-restart"
export BEACON_TEST_PYTHON="$STACK_PYTHON"
echo "test: servers up:" >&2
stack_print_servers "$REDIS_PORT" "$KAFKA_PORT" "$MONGO_PORT" >&2
cat >&2 <<EOF
  IMAP      127.0.0.1:$BEACON_TEST_IMAP_PORT (STARTTLS), imaps 127.0.0.1:$BEACON_TEST_IMAPS_PORT, with IDLE (dovecot)
  IMAP      127.0.0.1:$BEACON_TEST_IMAP_NOIDLE_PORT (STARTTLS), without IDLE (dovecot); users mail01..mail60, CA $BEACON_TEST_IMAP_CA_FILE
  IMAP      127.0.0.1:$BEACON_TEST_IMAP_RESTART_PORT (STARTTLS), imaps 127.0.0.1:$BEACON_TEST_IMAP_RESTART_IMAPS_PORT, with IDLE, for restarts (scripts/dovecot.sh restart $BEACON_TEST_IMAP_DIR)
EOF
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
export BEACON_TEST_TANSU="$STACK_DEPS/bin/tansu"
export LD_LIBRARY_PATH="$STACK_LD_LIBRARY_PATH"
# Every process the tests start inherits this mark; Foundation's Process puts
# children in their own process group, so the exit trap finds them by it.
export BEACON_TEST_SESSION="$$-$RANDOM$RANDOM"

args=(--skip-build)
[[ -n "${FILTER:-}" ]] && args+=(--filter "$FILTER")
# shellcheck disable=SC2206 # TEST_ARGS is split on purpose
[[ -n "${TEST_ARGS:-}" ]] && args+=($TEST_ARGS)
echo "test: swift test ${args[*]}" >&2
status=0
stack_fg swift test "${args[@]}" > >(tee "$OUT/swift-test.log") 2>&1 || status=$?
phase_done tests
# One plain summary line: tests passed and failed (Swift Testing's lines).
passed=$(grep -v '^✔ Test run with' "$OUT/swift-test.log" | grep -c -E '^✔ Test .* passed after' || true)
failed=$(grep -v '^✘ Test run with' "$OUT/swift-test.log" | grep -c -E '^✘ Test .* failed after' || true)
if ((status != 0 && failed == 0)); then failed=1; fi
echo "tests: $passed passed, $failed failed"

# 5. the short chaos run (`make chaos --short`): the whole stack of its own,
# kill -9 of the enricher under load and a bad-input burst, every
# acknowledged event checked in Kafka. Skipped when FILTER picks tests.
if [[ -z "${FILTER:-}" ]]; then
    echo "test: bench/chaos.py --short" >&2
    chaos_status=0
    stack_fg "$STACK_PYTHON" "$ROOT/bench/chaos.py" --short --bin-dir "$BIN_DIR" \
        --work-dir "$OUT/chaos" --json "$OUT/chaos-short.json" || chaos_status=$?
    phase_done chaos
    if ((chaos_status != 0)); then
        echo "chaos: FAILED (exit $chaos_status); logs in ${OUT#"$ROOT"/}/chaos/" >&2
        ((status != 0)) || status=$chaos_status
    else
        echo "chaos: passed (kill -9 of the enricher, bad-input burst: nothing lost)"
    fi
fi

# 6. the images, from one release build, and the compose stack made of them:
# a broken Dockerfile, a missing runtime library or a wrong healthcheck fails
# here. The base images and the build cache are kept between runs.
if [[ -z "${FILTER:-}" && "${SKIP_IMAGES:-0}" != 1 ]]; then
    images_status=0
    stack_fg bash "$ROOT/scripts/images.sh" --local || images_status=$?
    phase_done images
    if ((images_status == 0)); then
        stack_fg bash "$ROOT/scripts/compose-check.sh" || images_status=$?
        phase_done compose-check
    fi
    if ((images_status != 0)); then
        echo "images: FAILED (exit $images_status); logs in .deps/images/logs/" >&2
        ((status != 0)) || status=$images_status
    else
        echo "images: built, and the compose stack passed its check"
    fi
fi
exit "$status"
