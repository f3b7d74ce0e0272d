# syntax=docker/dockerfile:1
# beacon-liveview: live view of any Kafka topic in the browser over a WebSocket
#
# Build from the repository root (the context is the whole checkout):
#   docker build -f docker/liveview.Dockerfile -t beacon-liveview .
# or, with the rest of the stack: docker compose -f docker/docker-compose.yml build liveview
#
# The build stage runs what CI runs: `NO_DEPS=1 make release-beacon-liveview`
# (scripts/install-deps.sh is skipped: its apt list also pulls redis-server,
# chromium and the local test servers; the -dev packages are installed here).

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---- build: a release binary, stripped, and the Swift runtime it links ----
FROM ${SWIFT_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      make pkg-config libhiredis-dev librdkafka-dev libmaxminddb-dev libmongoc-dev libbson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a source change does not fetch them again.
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve
COPY . .
RUN NO_DEPS=1 make release-beacon-liveview \
 && install -D -m 0755 .build/release/beacon-liveview /out/usr/local/bin/beacon-liveview \
 && strip --strip-unneeded /out/usr/local/bin/beacon-liveview \
 && cp -R .build/release/beacon_LiveViewService.resources /out/usr/local/bin/ \
 && mkdir -p /out/usr/lib/swift/linux /out/usr/libexec/swift/linux \
 && ldd /out/usr/local/bin/beacon-liveview | awk '$3 ~ /^\/usr\/lib\/swift\// { print $3 }' \
      | xargs -r cp -L -t /out/usr/lib/swift/linux/ \
 && cp /usr/libexec/swift/linux/swift-backtrace-static /out/usr/libexec/swift/linux/

# ---- librdkafka >= 2.2 from the confluent-kafka wheel (as install-deps.sh) -
# Debian bookworm's librdkafka1 is 2.0.2; the wheel's librdkafka-<hash>.so.1
# is self-contained (it needs only libc) and goes in as librdkafka.so.1.
FROM ${PYTHON_IMAGE} AS librdkafka
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG CONFLUENT_KAFKA_VERSION=2.16.1
WORKDIR /tmp/wheel
RUN pip download --no-cache-dir --disable-pip-version-check --no-deps --only-binary=:all: \
      "confluent-kafka==${CONFLUENT_KAFKA_VERSION}" -d . \
 && python -m zipfile -e confluent_kafka-*.whl unpacked \
 && mkdir -p /out \
 && cp -L unpacked/confluent_kafka.libs/librdkafka-*.so.1 /out/librdkafka.so.1 \
 && python -c 'import ctypes, sys; v = ctypes.CDLL("/out/librdkafka.so.1").rd_kafka_version(); print("librdkafka %x" % v); sys.exit(v < 0x02020000)'

# ---- runtime --------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG RUNTIME_IMAGE
# OCI annotations, e.g. --build-arg VERSION=1.2.0 --build-arg REVISION=$(git rev-parse HEAD)
#   --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) --build-arg SOURCE=<repository URL>
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="beacon-liveview" \
      org.opencontainers.image.description="Beacon liveview: live view of any Kafka topic in the browser over a WebSocket" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.vendor="Beacon" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"

# Only the libraries beacon-liveview links (see `ldd`), TLS roots and zone data.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates tzdata libstdc++6  \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 beacon \
 && useradd --system --uid 10001 --gid beacon --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin beacon

COPY --from=build /out/ /
COPY --from=librdkafka /out/librdkafka.so.1 /usr/local/lib/librdkafka.so.1
COPY services/liveview/liveview.yaml /etc/beacon/liveview.yaml

# Fail the build, not the start, when a library is missing or too old.
RUN ldconfig \
 && if ldd /usr/local/bin/beacon-liveview | grep -F 'not found'; then exit 1; fi \
 && ldd /usr/local/bin/beacon-liveview | grep -F /usr/local/lib/librdkafka.so.1

# Listen on every interface inside the container; every other setting comes
# from /etc/beacon/liveview.yaml or BEACON_<SECTION>_<KEY> (see the README).
ENV BEACON_HTTP_HOST=0.0.0.0 \
    BEACON_HTTP_PORT=8090 \
    SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/libexec/swift/linux/swift-backtrace-static
USER 10001:10001
EXPOSE 8090
# No curl in the image: bash's /dev/tcp asks GET /healthz for a 200.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${BEACON_HTTP_PORT:-8090} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/beacon-liveview"]
CMD ["--config", "/etc/beacon/liveview.yaml"]
