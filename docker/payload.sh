#!/usr/bin/env bash
# Runs in docker/Dockerfile's build stage, after the one release build:
#   docker/payload.sh BUILD_DIR OUT SERVICE...
# lays out OUT/<service>/ as that service's image receives it: its stripped
# binary, the Swift runtime and C libraries it links (found with ldd, at the
# paths the loader looks for them), swift-backtrace, its default YAML and the
# data files it reads. glibc is left out: every Debian base has it, and its
# parts must come from one build.
set -euo pipefail

build="$1" out="$2"
shift 2

log() { printf 'payload: %s\n' "$*" >&2; }

# Debian's multiarch folder (x86_64-linux-gnu, aarch64-linux-gnu).
multiarch="$(uname -m)-linux-gnu"

# copy_libs BINARY DEST: every library BINARY loads, but glibc's own and the
# C++ runtime that every Debian base has.
copy_libs() {
    local lib dir
    # LD_LIBRARY_PATH: the wheel's librdkafka in /usr/local/lib wins over Debian's.
    LD_LIBRARY_PATH=/usr/local/lib ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
        case "${lib##*/}" in
            libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libresolv.so.*|libutil.so.*|ld-linux*) continue ;;
            libstdc++.so.*|libgcc_s.so.*) continue ;;
        esac
        # Under the folder's real path: /lib is a link to /usr/lib in Debian,
        # and a /lib folder in the payload would replace that link.
        dir="$(readlink -f "$(dirname "$lib")")"
        # The wheel's librdkafka has a hashed soname, so ldconfig would file it
        # under that; in the default folder the loader finds it by file name.
        [[ "$lib" == /usr/local/lib/librdkafka.so.1 ]] && dir="/usr/lib/$multiarch"
        install -D -m 0644 "$(readlink -f "$lib")" "$2$dir/${lib##*/}"
    done
    if LD_LIBRARY_PATH=/usr/local/lib ldd "$1" | grep -F 'not found'; then
        log "error: $1 links a library this stage does not have"; exit 1
    fi
}

backtrace="$(dirname "$(readlink -f "$(command -v swift)")")/../libexec/swift/linux/swift-backtrace-static"

for service in "$@"; do
    dest="$out/$service"
    bin="$dest/usr/local/bin/beacon-$service"
    install -D -m 0755 "$build/beacon-$service" "$bin"
    strip --strip-unneeded "$bin"
    copy_libs "$bin" "$dest"
    install -D -m 0755 "$backtrace" "$dest/usr/libexec/swift/linux/swift-backtrace-static"
    install -D -m 0644 "services/$service/$service.yaml" "$dest/etc/beacon/$service.yaml"
    case "$service" in
        enricher)  install -D -m 0644 /usr/share/uap-core/regexes.yaml "$dest/usr/share/uap-core/regexes.yaml" ;;
        consumers) install -m 0644 services/consumers/rules.example.yaml services/consumers/rules.demo.yaml "$dest/etc/beacon/" ;;
        liveview)  cp -R "$build"/beacon_LiveViewService.resources "$dest/usr/local/bin/" ;;
    esac
    log "$service: $(du -sh "$dest" | cut -f1) ($(find "$dest" -name '*.so*' | wc -l) libraries)"
done
