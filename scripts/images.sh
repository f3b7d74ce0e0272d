#!/usr/bin/env bash
# `make images`: every Beacon image, from one release build (docker/Dockerfile,
# one target per service), tagged beacon-<service>:<VERSION> and :dev (the tag
# docker/docker-compose.yml uses unless BEACON_VERSION says otherwise); with --local,
# also the infrastructure images of docker/compose.local.yml
# (beacon-local-{redis,kafka,mongo}:<VERSION>).
#
# Settings (environment or make variables):
#   VERSION        image tag (default: git describe --always --dirty)
#   SWIFT_IMAGE    build stage base (default swift:6.3-bookworm)
#   RUNTIME_IMAGE  runtime base (default debian:bookworm-slim)
#   STATIC_STDLIB  1: link the Swift runtime into each binary
# Engine and base images: see scripts/containers.sh (docker, else podman; base
# images made locally where no registry answers, once, and reused).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONTAINERS_WHO=images
# shellcheck source=scripts/containers.sh
source "$ROOT/scripts/containers.sh"

SERVICES=(tracker enricher consumers pusher liveview pinger)
LOCAL_PARTS=(redis kafka mongo)
VERSION="${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}"
STATIC_STDLIB="${STATIC_STDLIB:-}"
LOCAL=0
[[ "${1:-}" == --local ]] && LOCAL=1

containers_engine
containers_base_images

ARGS=(
    --build-arg "SWIFT_IMAGE=$SWIFT_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE"
    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)"
    --build-arg "STATIC_STDLIB=$STATIC_STDLIB"
)
LOGS="$CONTAINERS_CACHE/logs"
mkdir -p "$LOGS"

build() { # build TAG LOG BUILD-ARGS...: also tagged :dev, the tag compose uses by default
    local tag="$1" log="$2" start=$SECONDS
    shift 2
    if ! "$ENGINE" build "${BUILD_FLAGS[@]}" "$@" -t "$tag" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        containers_die "building $tag failed (log: $log)"
    fi
    "$ENGINE" tag "$tag" "${tag%:*}:dev"
    containers_say "built $tag in $((SECONDS - start)) s ($(size "$tag"))"
}

size() { "$ENGINE" image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }

# The first target runs the release build; the others reuse its cached stage.
for service in "${SERVICES[@]}"; do
    build "beacon-$service:$VERSION" "$LOGS/$service.log" "${ARGS[@]}" \
        -f docker/Dockerfile --target "$service" .
done

if ((LOCAL)); then
    for part in "${LOCAL_PARTS[@]}"; do
        build "beacon-local-$part:$VERSION" "$LOGS/local-$part.log" \
            --build-arg "BASE_IMAGE=$RUNTIME_IMAGE" -f "docker/local/$part.Dockerfile" docker/local
    done
fi

printf '%s\n' "images ($ENGINE, VERSION=$VERSION):" >&2
for service in "${SERVICES[@]}"; do printf '  %-28s %s\n' "beacon-$service:$VERSION" "$(size "beacon-$service:$VERSION")" >&2; done
if ((LOCAL)); then
    for part in "${LOCAL_PARTS[@]}"; do printf '  %-28s %s\n' "beacon-local-$part:$VERSION" "$(size "beacon-local-$part:$VERSION")" >&2; done
fi
