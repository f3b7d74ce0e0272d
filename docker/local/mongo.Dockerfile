# syntax=docker/dockerfile:1
# The MongoDB-wire server `make run` uses (SecantusDB), for
# docker/compose.local.yml on machines that reach no registry. Data in /data/db.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG SECANTUSDB_VERSION=0.7.0b3
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/secantus \
 && /opt/secantus/bin/pip install --no-cache-dir --disable-pip-version-check "secantusdb==${SECANTUSDB_VERSION}" \
 && groupadd --system --gid 10001 beacon \
 && useradd --system --no-log-init --uid 10001 --gid beacon --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin beacon \
 && install -d -o beacon -g beacon /data/db \
 && : > /etc/secantusd.toml
VOLUME /data/db
USER 10001:10001
EXPOSE 27017
# A real ping over the wire (pymongo comes with SecantusDB).
HEALTHCHECK --interval=5s --timeout=5s --retries=20 \
  CMD ["/opt/secantus/bin/python", "-c", "import pymongo; pymongo.MongoClient('mongodb://127.0.0.1:27017', serverSelectionTimeoutMS=3000).admin.command('ping')"]
CMD ["/opt/secantus/bin/secantusd-py", "--config", "/etc/secantusd.toml", "--host", "0.0.0.0", "--port", "27017", "--storage-path", "/data/db", "--standalone"]
