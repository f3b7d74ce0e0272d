#!/usr/bin/env bash
# `make compose-check`: the real docker/docker-compose.yml plus the local
# override docker/compose.local.yml, brought up with `docker compose`,
# `docker-compose` or podman-compose (PyPI, in .deps/venv from make deps),
# then checked end to end:
#   1. every container with a healthcheck becomes healthy, and the one-shot
#      kafka-topics exits 0;
#   2. events sent to the tracker container with curl (the port it publishes)
#      are answered 200;
#   3. they are read back from the broker container, enriched with geo and
#      device;
#   4. every service container answers /readyz with 200;
#   5. the stack is stopped with `down -v`, also when a step failed.
# The images must exist: `make images-local` (make test runs it first).
#
# Settings: VERSION (the image tag, as make images), COMPOSE_CHECK_TIMEOUT
# (seconds per wait, default 180), COMPOSE_CHECK_KEEP=1 (leave the stack
# running afterwards, to look at it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONTAINERS_WHO=compose-check
# shellcheck source=scripts/containers.sh
source "$ROOT/scripts/containers.sh"

VERSION="${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}"
TIMEOUT="${COMPOSE_CHECK_TIMEOUT:-180}"
PROJECT="beacon-compose-check"
FILES=(-f docker/docker-compose.yml -f docker/compose.local.yml)
SERVICES=(tracker enricher consumers pusher liveview pinger)
declare -A PORT=([tracker]=8080 [enricher]=8081 [consumers]=8082 [pusher]=8083 [liveview]=8090 [pinger]=8086)
PYTHON="$ROOT/.deps/venv/bin/python"
export BEACON_VERSION="$VERSION"

say() { containers_say "$*"; }
die() { containers_die "$*"; }

containers_engine
[[ -x "$PYTHON" ]] || die "$PYTHON missing: run scripts/install-deps.sh (make deps)"
[[ -s .deps/geoip/GeoLite2-City.mmdb ]] || die ".deps/geoip/GeoLite2-City.mmdb missing: run make deps"

# ---- the compose tool --------------------------------------------------------
COMPOSE=()
UP_ARGS=(-d)
if [[ "$ENGINE" == docker ]] && docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
elif [[ "$ENGINE" == docker ]] && command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
else
    [[ -x "$ROOT/.deps/venv/bin/podman-compose" ]] || die "podman-compose missing: run scripts/install-deps.sh (make deps)"
    COMPOSE=("$ROOT/.deps/venv/bin/podman-compose")
    # podman-compose turns depends_on into `podman run --requires`, and podman
    # 4.3 then fails to start a container whose requirement has one of its own
    # ("generating dependency graph ... not found in input list"). It still
    # starts the services in dependency order; it cannot wait for health on
    # podman < 4.6 anyway, so the services must (and do) wait for their parts.
    UP_ARGS+=(--no-deps)
fi
compose() { "${COMPOSE[@]}" -p "$PROJECT" "${FILES[@]}" "$@"; }

for service in "${SERVICES[@]}"; do
    containers_has "beacon-$service:$VERSION" || die "image beacon-$service:$VERSION missing: run make images-local"
done
for part in redis kafka mongo; do
    containers_has "beacon-local-$part:$VERSION" || die "image beacon-local-$part:$VERSION missing: run make images-local"
done
for service in "${SERVICES[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$service]}") 2>/dev/null; then
        die "port ${PORT[$service]} (the $service container's) is taken on this machine: stop what listens there"
    fi
done

LOG_DIR="$ROOT/.deps/images/logs"
mkdir -p "$LOG_DIR"
COMPOSE_LOG="$LOG_DIR/compose-check.log"
: >"$COMPOSE_LOG"

# shellcheck disable=SC2329 # the EXIT trap
on_exit() {
    local status=$?
    trap '' INT TERM
    set +e
    if ((status != 0)); then
        say "FAILED; last lines of every container's log:"
        local c
        for c in $(containers); do
            printf -- '---- %s ----\n' "$c" >&2
            "$ENGINE" logs --tail 25 "$c" 2>&1 | sed 's/^/  | /' >&2
        done
    fi
    if [[ "${COMPOSE_CHECK_KEEP:-0}" == 1 ]]; then
        say "COMPOSE_CHECK_KEEP=1: left running; stop it with: ${COMPOSE[*]} -p $PROJECT ${FILES[*]} down -v"
    else
        say "down -v"
        compose down -v >>"$COMPOSE_LOG" 2>&1 || say "down -v failed (log: $COMPOSE_LOG)"
    fi
    exit "$status"
}

containers() { # the project's containers, by name
    "$ENGINE" ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}}'
}
container_of() { # SERVICE -> its container's name
    "$ENGINE" ps -a --filter "label=com.docker.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -n1
}

# Leftovers of an interrupted earlier check go first.
compose down -v >>"$COMPOSE_LOG" 2>&1 || true
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The mail key pair and stop-token secret (docker/secrets/, not in git). In
# these containers the services run as uid 10001, so the dev copies are
# world-readable; a cluster mounts them as Secrets with mode 0400.
bash "$ROOT/scripts/mail-keys.sh" "$ROOT/docker/secrets"
chmod 0644 "$ROOT/docker/secrets/"*

start=$SECONDS
say "up -d (${COMPOSE[*]##*/}, images $VERSION)"
compose up "${UP_ARGS[@]}" >>"$COMPOSE_LOG" 2>&1 || { tail -n 30 "$COMPOSE_LOG" >&2; die "up -d failed (log: $COMPOSE_LOG)"; }

# ---- 1. healthchecks ---------------------------------------------------------
# podman runs healthchecks from systemd timers; with no systemd they never run
# on their own, so the check runs each one (`podman healthcheck run`) as the
# timer would. docker runs them itself; then this only reads the status.
health() { # CONTAINER -> healthy | unhealthy | starting | none
    local status
    status="$("$ENGINE" inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1" 2>/dev/null || echo gone)"
    if [[ "$ENGINE" == podman && "$status" != none && "$status" != gone ]]; then
        podman healthcheck run "$1" >/dev/null 2>&1 && status=healthy
    fi
    printf '%s\n' "${status:-none}"
}

deadline=$((SECONDS + TIMEOUT))
while :; do
    waiting=()
    for c in $(containers); do
        state="$("$ENGINE" inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$c")"
        if [[ "$c" == *kafka-topics* ]]; then
            case "$state" in
                "exited 0") ;;
                exited*) die "$c exited with ${state#exited }" ;;
                *) waiting+=("$c ($state)") ;;
            esac
            continue
        fi
        [[ "$state" == running* ]] || { waiting+=("$c ($state)"); continue; }
        h="$(health "$c")"
        [[ "$h" == healthy || "$h" == none ]] || waiting+=("$c ($h)")
    done
    ((${#waiting[@]} == 0)) && break
    ((SECONDS < deadline)) || die "not healthy after ${TIMEOUT}s: ${waiting[*]}"
    sleep 2
done
say "1. every healthcheck passed, kafka-topics exited 0 ($((SECONDS - start)) s after up)"

# ---- 2. events through the tracker container ---------------------------------
RUN_ID="check-$(date +%s)-$$"
IPHONE='Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Mobile/15E148 Safari/604.1'
TRACKER="http://127.0.0.1:${PORT[tracker]}"
COUNT=5
for i in $(seq 1 "$COUNT"); do
    body="$(printf '{"userId":"compose-check","event":"Compose Check","messageId":"%s-%d","properties":{"run":"%s","n":%d},"context":{"ip":"8.8.8.8","userAgent":"%s"}}' \
        "$RUN_ID" "$i" "$RUN_ID" "$i" "$IPHONE")"
    code="$(curl -sS -o "$LOG_DIR/track-reply.json" -w '%{http_code}' -u demo-write-key: \
        -H 'Content-Type: application/json' -d "$body" "$TRACKER/v1/track")" || die "curl $TRACKER/v1/track failed"
    [[ "$code" == 200 ]] || die "POST /v1/track answered $code: $(cat "$LOG_DIR/track-reply.json")"
done
say "2. $COUNT events sent with curl to $TRACKER/v1/track, each answered 200"

# ---- 3. read back from the broker container, enriched ------------------------
# The enricher moves them on its own time: read the topic to its end again
# until all of them are there (exit 3 from the check below: some missing).
kafka="$(container_of kafka)"
deadline=$((SECONDS + TIMEOUT))
while :; do
    "$ENGINE" exec "$kafka" beacon-kafka-read beacon.events --timeout 60 >"$LOG_DIR/beacon.events.jsonl" \
        || die "could not read beacon.events in $kafka"
    check=0
    "$PYTHON" - "$LOG_DIR/beacon.events.jsonl" "$RUN_ID" "$COUNT" <<'EOF' || check=$?
import json, sys
path, run, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
events = [json.loads(line) for line in open(path) if line.strip()]
mine = {e["messageId"]: e for e in events if e.get("properties", {}).get("run") == run}
expected = {f"{run}-{i}" for i in range(1, count + 1)}
missing = expected - set(mine)
if missing:
    print(f"compose-check: not yet in beacon.events: {sorted(missing)} ({len(events)} messages read)", file=sys.stderr)
    sys.exit(3)
for id, event in sorted(mine.items()):
    enrichment = event.get("enrichment", {})
    geo, device = enrichment.get("geo", {}), enrichment.get("device", {})
    if geo.get("countryCode") != "US" or device.get("type") != "mobile" or device.get("osFamily") != "iOS":
        sys.exit(f"{id} not enriched as expected: {json.dumps(enrichment)}")
    if event.get("app") != "demo":
        sys.exit(f"{id}: app {event.get('app')!r}, expected 'demo'")
first = mine[min(mine)]
print(f"compose-check: 3. {len(mine)} events read back from beacon.events, e.g. {first['messageId']}: "
      f"geo {json.dumps(first['enrichment']['geo'].get('countryCode'))}, device {json.dumps(first['enrichment']['device'])}", file=sys.stderr)
EOF
    ((check == 0)) && break
    ((check == 3)) || die "the events read back from $kafka are not what was sent (in $LOG_DIR/beacon.events.jsonl)"
    ((SECONDS < deadline)) || die "the events sent did not reach beacon.events in ${TIMEOUT}s"
    sleep 2
done

# ---- 4. /readyz of every service ---------------------------------------------
deadline=$((SECONDS + TIMEOUT))
for service in "${SERVICES[@]}"; do
    url="http://127.0.0.1:${PORT[$service]}/readyz"
    while :; do
        code="$(curl -sS -o "$LOG_DIR/readyz.json" -w '%{http_code}' "$url" 2>/dev/null || true)"
        [[ "$code" == 200 ]] && break
        ((SECONDS < deadline)) || die "$service: $url answered ${code:-nothing}: $(cat "$LOG_DIR/readyz.json" 2>/dev/null)"
        sleep 1
    done
done
say "4. /readyz answered 200 by ${SERVICES[*]}"
say "passed in $((SECONDS - start)) s; stopping"
