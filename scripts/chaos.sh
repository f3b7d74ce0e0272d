#!/usr/bin/env bash
# `make chaos`: install what is missing, build, and run bench/chaos.py: the
# whole stack of its own on free ports in .chaos/, steady load, and each fault
# in turn (kill -9 of every service, Redis, Kafka and MongoDB stopped and
# started, bad input at volume, a webhook endpoint answering 503 for 30 s),
# each checked for lost events (and lost webhooks). Prints a table
# and writes bench/results/chaos-latest.json; exits non-zero when an
# acknowledged event was lost, a push went missing, a consumer group stayed
# stuck, a service crashed, a good request was refused, or bad input was not
# refused as it should be (4xx, JSON error, matching reject metrics).
#
# Settings: CONFIG=debug|release (which build, as for make run; default debug),
#   CHAOS_ARGS="--faults kill-enricher,redis --seed 7" (see
#   `.deps/venv/bin/python bench/chaos.py --help`), SKIP_BUILD=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONFIG="${CONFIG:-debug}"
case "$CONFIG" in debug | release) ;; *) echo "chaos: CONFIG must be debug or release, not '$CONFIG'" >&2; exit 2 ;; esac

bash "$ROOT/scripts/install-deps.sh"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "chaos: swift build -c $CONFIG" >&2
    swift build -c "$CONFIG"
fi
BIN_DIR="$(swift build -c "$CONFIG" --show-bin-path)"
# shellcheck disable=SC2086 # CHAOS_ARGS is split on purpose
exec "$ROOT/.deps/venv/bin/python" "$ROOT/bench/chaos.py" --bin-dir "$BIN_DIR" ${CHAOS_ARGS:-}
