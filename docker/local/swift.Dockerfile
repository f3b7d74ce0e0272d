# syntax=docker/dockerfile:1
# A local stand-in for the public swift:6.3-bookworm, for machines that reach
# no container registry; scripts/containers.sh builds it only then, with a
# context that holds this machine's toolchain (swift/) and package mirror
# (swift-packages/). Same layout as the public image: the toolchain under
# /usr. git reads github.com from the mirror, so `swift package resolve`
# works offline.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The public image's own package list (swiftlang/swift-docker, 6.3 bookworm).
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      binutils ca-certificates git gnupg2 libc6-dev libcurl4-openssl-dev libedit2 \
      libgcc-12-dev libpython3-dev libsqlite3-0 libstdc++-12-dev libxml2-dev \
      libncurses-dev libz3-dev pkg-config tzdata unzip zip zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
COPY swift/usr/ /usr/
COPY swift-packages/ /opt/swift-packages/
RUN git config --system url./opt/swift-packages/.insteadOf https://github.com/ \
 && git config --system --add url./opt/swift-packages/.insteadOf git@github.com: \
 && swift --version
