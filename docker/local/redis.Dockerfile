# syntax=docker/dockerfile:1
# Redis from Debian's redis-server (what `make run` uses), for
# docker/compose.local.yml on machines that reach no registry.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o redis -g redis /data
WORKDIR /data
VOLUME /data
USER redis
EXPOSE 6379
HEALTHCHECK --interval=5s --timeout=3s --retries=10 CMD ["bash", "-c", "redis-cli ping | grep -q PONG"]
# Without a config file redis-server listens on every interface but refuses
# other hosts (protected mode); the public image turns that off, so does this.
CMD ["redis-server", "--protected-mode", "no", "--appendonly", "yes", "--appendfsync", "everysec"]
