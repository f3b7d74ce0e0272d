#!/usr/bin/env bash
# `make bench`: install what is missing (also wrk, nginx, h2load,
# redis-benchmark and gnuplot), build the release, and run bench/bench.py:
# a stack of its own on free ports in .bench/, each figure against the
# ceiling of this machine, a table on stdout, bench/results/latest.json and
# bench/results/latest.png. Takes about ten minutes after the build.
#
# Settings: BENCH_ARGS="--quick" (short runs, to try the harness),
#   BENCH_ARGS="--only tracker,enricher,e2e,pusher,pinger,webhooks", SKIP_BUILD=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash "$ROOT/scripts/install-deps.sh" --bench
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "bench: swift build -c release" >&2
    swift build -c release
fi
BIN_DIR="$(swift build -c release --show-bin-path)"
# shellcheck disable=SC2086 # BENCH_ARGS is split on purpose
exec "$ROOT/.deps/venv/bin/python" "$ROOT/bench/bench.py" --bin-dir "$BIN_DIR" ${BENCH_ARGS:-}
