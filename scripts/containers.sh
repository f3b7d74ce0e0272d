#!/usr/bin/env bash
# The container engine and the base images, for scripts/images.sh and
# scripts/compose-check.sh (sourced; not run on its own).
#
# Engine: docker when an engine answers `docker info`, else podman (installed
# with apt-get when missing). On a machine without systemd, podman gets
# docker/local/containers.conf (runc, cgroupfs, no default ulimits), unless
# CONTAINERS_CONF names another file.
#
# Base images: SWIFT_IMAGE (swift:6.3-bookworm) and RUNTIME_IMAGE
# (debian:bookworm-slim) are used when the engine has them, then pulled.
# Where no registry answers, the defaults are made here instead, once, and
# kept in the engine's storage under the same names:
#   - debian:bookworm-slim from `debootstrap --variant=minbase bookworm`
#     (the root file system is cached in .deps/images/), with this machine's
#     extra CA certificates (/usr/local/share/ca-certificates), so that a
#     TLS-intercepting proxy that this machine trusts is trusted inside too;
#   - swift:6.3-bookworm from that, the public image's packages, the toolchain
#     in /opt/swift (or SWIFT_TOOLCHAIN) and the package mirror in
#     /opt/swift-packages, with git reading github.com from the mirror.

CONTAINERS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONTAINERS_CACHE="$CONTAINERS_ROOT/.deps/images"
SWIFT_IMAGE="${SWIFT_IMAGE:-swift:6.3-bookworm}"
RUNTIME_IMAGE="${RUNTIME_IMAGE:-debian:bookworm-slim}"
SWIFT_TOOLCHAIN="${SWIFT_TOOLCHAIN:-/opt/swift}"
SWIFT_MIRROR="${SWIFT_MIRROR:-/opt/swift-packages}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ENGINE=""
BUILD_FLAGS=()

containers_say() { printf '%s: %s\n' "${CONTAINERS_WHO:-containers}" "$*" >&2; }
containers_die() { containers_say "error: $*"; exit 1; }

containers_sudo() {
    if ((EUID == 0)); then "$@"; else sudo -n "$@"; fi
}

containers_apt_install() { # PACKAGE...: only what is missing
    bash "$CONTAINERS_ROOT/scripts/install-deps.sh" --apt "$@"
}

# Sets ENGINE (docker or podman) and BUILD_FLAGS.
containers_engine() {
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        ENGINE=docker
        BUILD_FLAGS=(--network host)
        return 0
    fi
    # runc: crun fails on hosts with hybrid cgroups; uidmap for rootless use;
    # catatonit is the init that compose's `init: true` asks podman for.
    containers_apt_install podman runc uidmap catatonit
    ENGINE=podman
    # HEALTHCHECK and SHELL exist only in the docker image format.
    BUILD_FLAGS=(--format docker --network host)
    if [[ -z "${CONTAINERS_CONF:-}" && ! -d /run/systemd/system ]]; then
        export CONTAINERS_CONF="$CONTAINERS_ROOT/docker/local/containers.conf"
    fi
    podman info >/dev/null || containers_die "podman does not work here (podman info failed)"
}

containers_has() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }

containers_pull() { # IMAGE: true when it came from a registry
    containers_say "pulling $1"
    timeout 600 "$ENGINE" pull "$1" >/dev/null 2>&1
}

# The local debian:bookworm-slim (see the top of this file).
containers_make_debian() {
    local rootfs="$CONTAINERS_CACHE/bookworm-minbase" tar="$CONTAINERS_CACHE/bookworm-minbase.tar"
    if [[ ! -s "$tar" ]]; then
        containers_apt_install debootstrap
        containers_say "debootstrap --variant=minbase bookworm (once; cached in $tar)"
        mkdir -p "$CONTAINERS_CACHE"
        containers_sudo rm -rf "$rootfs"
        containers_sudo debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$DEBIAN_MIRROR" >"$CONTAINERS_CACHE/debootstrap.log" 2>&1 \
            || { tail -n 20 "$CONTAINERS_CACHE/debootstrap.log" >&2; containers_die "debootstrap failed (log: $CONTAINERS_CACHE/debootstrap.log)"; }
        if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
            containers_sudo cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
            containers_sudo chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
        fi
        # As the public slim image: no documentation, manual pages or
        # translations, now or from later apt-get installs.
        printf 'path-exclude /usr/share/%s/*\n' doc man groff info lintian linda locale \
            | containers_sudo tee "$rootfs/etc/dpkg/dpkg.cfg.d/slim" >/dev/null
        printf 'path-include /usr/share/doc/*/copyright\n' | containers_sudo tee -a "$rootfs/etc/dpkg/dpkg.cfg.d/slim" >/dev/null
        # And as the public image: apt keeps no package files or caches.
        containers_sudo tee "$rootfs/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
        containers_sudo find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
        containers_sudo rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda,locale}/*
        containers_sudo rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
        containers_sudo tar -C "$rootfs" -cf "$tar.part" .
        mv "$tar.part" "$tar"
        containers_sudo rm -rf "$rootfs"
    fi
    containers_say "importing $RUNTIME_IMAGE from $tar"
    "$ENGINE" import --change 'CMD ["bash"]' "$tar" "$RUNTIME_IMAGE" >/dev/null 2>&1
}

# The local swift:6.3-bookworm (see the top of this file). Its build context
# holds the toolchain and the mirror as hard links where the file system
# allows, so nothing is copied twice on disk.
containers_make_swift() {
    [[ -x "$SWIFT_TOOLCHAIN/usr/bin/swift" ]] || containers_die "no $SWIFT_IMAGE from a registry and no toolchain at $SWIFT_TOOLCHAIN/usr/bin/swift (set SWIFT_TOOLCHAIN)"
    local context="$CONTAINERS_CACHE/swift-context"
    rm -rf "$context"
    mkdir -p "$context"
    cp -al "$SWIFT_TOOLCHAIN" "$context/swift" 2>/dev/null || cp -a "$SWIFT_TOOLCHAIN" "$context/swift"
    if [[ -d "$SWIFT_MIRROR" ]]; then
        cp -al "$SWIFT_MIRROR" "$context/swift-packages" 2>/dev/null || cp -a "$SWIFT_MIRROR" "$context/swift-packages"
    else
        mkdir "$context/swift-packages"
    fi
    containers_say "building $SWIFT_IMAGE from $SWIFT_TOOLCHAIN (once)"
    "$ENGINE" build "${BUILD_FLAGS[@]}" --build-arg "BASE_IMAGE=$RUNTIME_IMAGE" \
        -f "$CONTAINERS_ROOT/docker/local/swift.Dockerfile" -t "$SWIFT_IMAGE" "$context" >"$CONTAINERS_CACHE/swift-image.log" 2>&1 \
        || { tail -n 20 "$CONTAINERS_CACHE/swift-image.log" >&2; containers_die "building $SWIFT_IMAGE failed (log: $CONTAINERS_CACHE/swift-image.log)"; }
    rm -rf "$context"
}

# containers_base_images: RUNTIME_IMAGE and SWIFT_IMAGE present, one way or
# the other. A name other than the defaults must come from a registry.
containers_base_images() {
    containers_has "$RUNTIME_IMAGE" || containers_pull "$RUNTIME_IMAGE" || {
        [[ "$RUNTIME_IMAGE" == debian:bookworm-slim ]] || containers_die "cannot pull RUNTIME_IMAGE=$RUNTIME_IMAGE"
        containers_make_debian
    }
    containers_has "$SWIFT_IMAGE" || containers_pull "$SWIFT_IMAGE" || {
        [[ "$SWIFT_IMAGE" == swift:6.3-bookworm ]] || containers_die "cannot pull SWIFT_IMAGE=$SWIFT_IMAGE"
        containers_make_swift
    }
}
