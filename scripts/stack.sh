#!/usr/bin/env bash
# The local stack: Redis, the Tansu Kafka broker, the SecantusDB MongoDB-wire
# server, the topics, and helpers to start, wait for and stop processes.
#
# Sourced by scripts/run.sh and scripts/test.sh. Run directly, it is
# `make stack`: the servers alone, in the foreground, on REDIS_PORT (6379),
# KAFKA_PORT (9092) and MONGO_PORT (27017), with logs and Redis data in .run/.
#
# Every process is started in the background with its output in its own log
# file and its pid recorded in $STACK_DIR/pids/NAME.pid (pid and start time).
# stack_stop stops them services first, then servers: SIGTERM, then SIGKILL
# after STACK_STOP_TIMEOUT seconds. A later stack_init in the same folder
# stops what an earlier run left behind (a run killed with SIGKILL), and only
# processes whose pid and start time both match what it recorded.

STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_DEPS="$STACK_ROOT/.deps"
STACK_PYTHON="$STACK_DEPS/venv/bin/python"
STACK_PROBE=("$STACK_PYTHON" "$STACK_ROOT/scripts/probe.py")
STACK_LD_LIBRARY_PATH="$STACK_DEPS/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
STACK_START_TIMEOUT="${STACK_START_TIMEOUT:-30}"
STACK_STOP_TIMEOUT="${STACK_STOP_TIMEOUT:-10}"

# name=partitions
STACK_TOPICS=(
    beacon.events=3
    beacon.events.invalid=1
    beacon.events.failed=1
    beacon.push.apns=3
    beacon.push.fcm=3
    beacon.push.feedback=1
    beacon.mail.registrations=6
    beacon.webhooks=6
    beacon.webhooks.failed=1
    beacon.webhooks.attempts=3
)

STACK_DIR=""
STACK_NAMES=()
declare -A STACK_PID=() STACK_LOG=() STACK_TIER=()
STACK_FG_PID=""

stack_say() { printf '%s\n' "$*" >&2; }

# ---- processes --------------------------------------------------------------

# True while the process exists and is not a zombie.
stack_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# Start time of a process (clock ticks after boot), field 22 of /proc/PID/stat.
stack_starttime() {
    local stat fields
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    read -r -a fields <<<"${stat##*) }"
    printf '%s\n' "${fields[19]}"
}

# Send TERM to the pids given, wait until they are gone, KILL what is left.
# Returns 1 when one had to be killed or exited non-zero (the pids must be
# children of this shell for their status to be known).
stack_terminate() {
    local pid deadline alive unclean=0 status
    (($# == 0)) && return 0
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    deadline=$((SECONDS + STACK_STOP_TIMEOUT))
    while :; do
        alive=()
        for pid in "$@"; do stack_alive "$pid" && alive+=("$pid"); done
        ((${#alive[@]} == 0)) && break
        if ((SECONDS >= deadline)); then
            stack_say "stack: still running after ${STACK_STOP_TIMEOUT}s, killing: ${alive[*]}"
            for pid in "${alive[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
            unclean=1
            break
        fi
        sleep 0.1
    done
    for pid in "$@"; do
        status=0
        wait "$pid" 2>/dev/null || status=$?
        # 127: not a child of this shell, so its status is unknown.
        ((status == 0 || status == 127)) || unclean=1
    done
    return "$unclean"
}

# True when the pid file FILE ("pid starttime") names a running process.
stack_pidfile_alive() {
    local pid="" start=""
    [[ -f "$1" ]] || return 1
    read -r pid start <"$1" || true
    [[ -n "$pid" && -n "$start" && "$(stack_starttime "$pid" 2>/dev/null)" == "$start" ]]
}

# Stop what an earlier run in this folder left running; refuse when the run
# that owns the folder is still going.
stack_kill_stale() {
    local dir="$1" f pid start stale=() owner=""
    [[ -d "$dir/pids" ]] || return 0
    if stack_pidfile_alive "$dir/pids/owner"; then
        read -r owner _ <"$dir/pids/owner"
        if [[ "$owner" != "$$" ]]; then
            stack_say "stack: $dir is in use by another run (pid $owner): stop that one first"
            return 1
        fi
    fi
    rm -f "$dir/pids/owner"
    for f in "$dir"/pids/*.pid; do
        [[ -e "$f" ]] || continue
        read -r pid start <"$f" || true
        if [[ -n "${pid:-}" && -n "${start:-}" ]] && [[ "$(stack_starttime "$pid" 2>/dev/null)" == "$start" ]]; then
            stale+=("$pid")
            stack_say "stack: stopping $(basename "$f" .pid) (pid $pid) left over from an earlier run"
        fi
        rm -f "$f"
    done
    ((${#stale[@]} == 0)) && return 0
    local pid2
    for pid2 in "${stale[@]}"; do kill -TERM "$pid2" 2>/dev/null || true; done
    local deadline=$((SECONDS + STACK_STOP_TIMEOUT))
    for pid2 in "${stale[@]}"; do
        while kill -0 "$pid2" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        kill -KILL "$pid2" 2>/dev/null || true
    done
}

stack_init() { # stack_init DIR
    STACK_DIR="$1"
    stack_kill_stale "$STACK_DIR"
    mkdir -p "$STACK_DIR/pids"
    printf '%s %s\n' "$$" "$(stack_starttime "$$")" >"$STACK_DIR/pids/owner"
    [[ -x "${STACK_PROBE[0]}" ]] || { stack_say "stack: ${STACK_PROBE[0]} missing: run scripts/install-deps.sh (make deps)"; return 1; }
}

# stack_spawn NAME TIER LOG CMD...: start CMD in the background (TIER is
# "server" or "service"; services are stopped first). Servers get a session
# of their own, so that a Ctrl-C in the terminal (SIGINT to the whole
# foreground group) reaches the services at once but not Redis, Kafka and
# MongoDB: those stay up until the services have shut down cleanly, and
# stack_stop stops them after. (setsid does not fork here: a background job
# of a script is no process group leader, so the pid is the server's.)
stack_spawn() {
    local name="$1" tier="$2" log="$3" pid
    shift 3
    mkdir -p "$(dirname "$log")"
    if [[ "$tier" == server ]]; then
        setsid "$@" >"$log" 2>&1 </dev/null &
    else
        "$@" >"$log" 2>&1 </dev/null &
    fi
    pid=$!
    STACK_NAMES+=("$name")
    STACK_PID[$name]=$pid
    STACK_LOG[$name]=$log
    STACK_TIER[$name]=$tier
    printf '%s %s\n' "$pid" "$(stack_starttime "$pid" || echo 0)" >"$STACK_DIR/pids/$name.pid"
}

stack_log_tail() { # stack_log_tail NAME
    local log="${STACK_LOG[$1]}"
    stack_say "---- last lines of $log ----"
    tail -n "${STACK_LOG_LINES:-40}" "$log" 2>/dev/null | sed 's/^/  | /' >&2 || true
    stack_say "----"
}

# stack_wait NAME KIND TARGET [TIMEOUT]: wait until NAME answers (see probe.py).
stack_wait() {
    local name="$1" kind="$2" target="$3" timeout="${4:-$STACK_START_TIMEOUT}"
    local probe status=0
    # In the background and waited for, so that a signal is handled at once.
    "${STACK_PROBE[@]}" wait --pid "${STACK_PID[$name]}" --timeout "$timeout" "$kind" "$target" &
    probe=$!
    wait "$probe" || status=$?
    if ((status != 0)); then
        stack_say "stack: $name did not start ($kind $target)"
        stack_log_tail "$name"
        return 1
    fi
}

# Stop everything started through stack_spawn, services first. Idempotent.
# Returns 1 when a service did not stop cleanly (it was killed, or exited
# non-zero): the services promise exit 0 on SIGTERM; the servers do not.
stack_stop() {
    local tier name pids clean=0
    for tier in service server; do
        pids=()
        for name in "${STACK_NAMES[@]}"; do
            [[ "${STACK_TIER[$name]}" == "$tier" && -n "${STACK_PID[$name]}" ]] && pids+=("${STACK_PID[$name]}")
        done
        if ! stack_terminate "${pids[@]}" && [[ "$tier" == service ]]; then
            clean=1
            stack_say "stack: a service did not stop cleanly (see its log)"
        fi
        for name in "${STACK_NAMES[@]}"; do
            if [[ "${STACK_TIER[$name]}" == "$tier" ]]; then
                STACK_PID[$name]=""
                rm -f "$STACK_DIR/pids/$name.pid"
            fi
        done
    done
    [[ -n "$STACK_DIR" ]] && rm -f "$STACK_DIR/pids/owner"
    return "$clean"
}

# Block until a signal arrives (the caller's trap handles it) or one of the
# started processes exits, which is reported with its log and returns 1.
stack_wait_any_exit() {
    local name pid pids=() status
    for name in "${STACK_NAMES[@]}"; do
        [[ -n "${STACK_PID[$name]}" ]] && pids+=("${STACK_PID[$name]}")
    done
    while :; do
        status=0
        wait -n "${pids[@]}" || status=$?
        for name in "${STACK_NAMES[@]}"; do
            pid="${STACK_PID[$name]}"
            [[ -n "$pid" ]] || continue
            if ! stack_alive "$pid"; then
                stack_say "stack: $name (pid $pid) exited unexpectedly (status $status)"
                stack_log_tail "$name"
                STACK_PID[$name]=""
                rm -f "$STACK_DIR/pids/$name.pid"
                return 1
            fi
        done
    done
}

# Pids of the live (non-zombie) processes in process group PGID.
stack_group_members() {
    local d stat fields
    for d in /proc/[0-9]*; do
        stat="$(cat "$d/stat" 2>/dev/null)" || continue
        read -r -a fields <<<"${stat##*) }"
        [[ "${fields[2]}" == "$1" && "${fields[0]}" != Z && "${fields[0]}" != X ]] && printf '%s\n' "${d#/proc/}"
    done
    return 0
}

# Stop process group PGID: TERM, wait for it to empty, KILL what is left.
stack_kill_group() {
    local pgid="$1" i
    kill -TERM -- "-$pgid" 2>/dev/null || return 0
    for ((i = 0; i < STACK_STOP_TIMEOUT * 10; i++)); do
        [[ -z "$(stack_group_members "$pgid")" ]] && return 0
        sleep 0.1
    done
    stack_say "stack: processes of group $pgid still running after ${STACK_STOP_TIMEOUT}s, killing them"
    kill -KILL -- "-$pgid" 2>/dev/null || true
}

# stack_fg CMD...: run a long command (swift build, swift test) so that a
# SIGTERM to this script is handled at once rather than after the command:
# in the background, in its own process group, and waited for. Returns its
# status. Whatever it leaves running in its group (a server a test started
# and did not stop) is stopped when it returns; stack_fg_kill stops it early.
stack_fg() {
    local status=0 pid
    setsid "$@" &
    pid=$!
    STACK_FG_PID=$pid
    wait "$pid" || status=$?
    if [[ -n "$(stack_group_members "$pid")" ]]; then
        stack_say "stack: stopping processes that '$1' left running"
        stack_kill_group "$pid"
    fi
    STACK_FG_PID=""
    return "$status"
}

stack_fg_kill() {
    local pid="$STACK_FG_PID"
    [[ -n "$pid" ]] || return 0
    STACK_FG_PID=""
    stack_kill_group "$pid"
    wait "$pid" 2>/dev/null || true
}

# stack_check_rdkafka BINARY...: each binary that links librdkafka must load
# the wheel's (.deps/lib/librdkafka.so.1) with STACK_LD_LIBRARY_PATH, not
# Debian's 2.0.2, which cannot talk to Tansu.
stack_check_rdkafka() {
    local bin found want
    command -v ldd >/dev/null 2>&1 || return 0
    want="$(readlink -f "$STACK_DEPS/lib/librdkafka.so.1")"
    for bin in "$@"; do
        [[ -x "$bin" ]] || continue
        found="$(LD_LIBRARY_PATH="$STACK_LD_LIBRARY_PATH" ldd "$bin" 2>/dev/null |
            awk '$1 == "librdkafka.so.1" { print $3 }')" || true
        [[ -n "$found" ]] || continue # does not link librdkafka
        if [[ "$(readlink -f "$found")" != "$want" ]]; then
            stack_say "stack: $bin loads $found, not $STACK_DEPS/lib/librdkafka.so.1 (-> $want)"
            return 1
        fi
    done
}

# ---- the servers --------------------------------------------------------------

stack_check_port() { # stack_check_port PORT VARIABLE: fail when PORT is taken
    local port="$1" var="$2"
    if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
        stack_say "stack: $var=$port is not a port number"
        return 1
    fi
    if "${STACK_PROBE[@]}" port-in-use "$port"; then
        stack_say "stack: 127.0.0.1:$port is already in use; pick another port with $var=..."
        return 1
    fi
}

# Redis, append-only so that accepted events survive a restart.
stack_start_redis() { # PORT DATA_DIR
    mkdir -p "$2"
    stack_spawn redis server "$STACK_DIR/redis.log" \
        redis-server --port "$1" --bind 127.0.0.1 --dir "$2" \
        --appendonly yes --save '' --daemonize no --logfile ''
}

# Tansu, memory storage, listening and advertised on 127.0.0.1:PORT.
stack_start_kafka() { # PORT
    stack_spawn kafka server "$STACK_DIR/kafka.log" \
        env -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE -u SCHEMA_REGISTRY \
        -u OTEL_EXPORTER_OTLP_ENDPOINT -u CLUSTER_ID \
        "$STACK_DEPS/bin/tansu" broker \
        --listener-url "tcp://127.0.0.1:$1" \
        --advertised-listener-url "tcp://127.0.0.1:$1" \
        --storage-engine memory://tansu/
}

# SecantusDB in memory. An empty --config stops it from picking up a
# secantusd.toml from the working folder, ~ or /etc; TMPDIR keeps its
# temporary WiredTiger folder inside ours.
stack_start_mongo() { # PORT
    local dir="$STACK_DIR/mongo"
    mkdir -p "$dir"
    : >"$dir/secantusd.toml"
    stack_spawn mongo server "$STACK_DIR/mongo.log" \
        env TMPDIR="$dir" "$STACK_DEPS/bin/secantusd-py" --config "$dir/secantusd.toml" \
        --host 127.0.0.1 --port "$1" --storage-path :memory: --standalone
}

# Create the topics with the Tansu CLI, then check them with a Kafka client.
stack_create_topics() { # PORT
    local port="$1" spec name parts out
    for spec in "${STACK_TOPICS[@]}"; do
        name="${spec%=*}"
        parts="${spec#*=}"
        if ! out="$("$STACK_DEPS/bin/tansu" topic create --broker "tcp://127.0.0.1:$port" \
            --partitions "$parts" "$name" 2>&1)"; then
            if [[ "$out" != *"already exists"* ]]; then
                stack_say "stack: creating topic $name failed: $out"
                return 1
            fi
        fi
    done
    "${STACK_PROBE[@]}" topics "127.0.0.1:$port" "${STACK_TOPICS[@]}"
}

# Start the three servers (in parallel), wait for each, create the topics.
stack_start_servers() { # REDIS_PORT KAFKA_PORT MONGO_PORT REDIS_DATA_DIR
    local redis_port="$1" kafka_port="$2" mongo_port="$3" redis_dir="$4"
    stack_start_redis "$redis_port" "$redis_dir"
    stack_start_kafka "$kafka_port"
    stack_start_mongo "$mongo_port"
    stack_wait redis redis "127.0.0.1:$redis_port"
    stack_wait kafka kafka "127.0.0.1:$kafka_port"
    stack_wait mongo mongo "mongodb://127.0.0.1:$mongo_port"
    stack_create_topics "$kafka_port"
}

stack_print_servers() { # REDIS_PORT KAFKA_PORT MONGO_PORT
    cat <<EOF
  Redis     redis://127.0.0.1:$1   (data: ${STACK_REDIS_DIR:-$STACK_DIR/redis})
  Kafka     127.0.0.1:$2   (Tansu, in memory; topics: ${STACK_TOPICS[*]})
  MongoDB   mongodb://127.0.0.1:$3   (SecantusDB, in memory)
EOF
}

# ---- `make stack` -------------------------------------------------------------

stack_main() {
    set -euo pipefail
    local redis_port="${REDIS_PORT:-6379}" kafka_port="${KAFKA_PORT:-9092}" mongo_port="${MONGO_PORT:-27017}"
    local run_dir="${RUN_DIR:-$STACK_ROOT/.run}"
    bash "$STACK_ROOT/scripts/install-deps.sh"
    # A stop that was asked for (Ctrl-C, SIGTERM) is success.
    trap 'status=$?; trap "" INT TERM HUP PIPE; set +e; stack_stop; exit "$status"' EXIT
    trap 'exit 0' INT TERM
    trap 'exit 129' HUP
    stack_init "$run_dir"
    stack_check_port "$redis_port" REDIS_PORT
    stack_check_port "$kafka_port" KAFKA_PORT
    stack_check_port "$mongo_port" MONGO_PORT
    # Fresh, as in make run: the broker and MongoDB keep nothing either.
    STACK_REDIS_DIR="$run_dir/redis"
    rm -rf "$STACK_REDIS_DIR"
    stack_start_servers "$redis_port" "$kafka_port" "$mongo_port" "$STACK_REDIS_DIR"
    echo
    echo "Local stack is up (Ctrl-C stops it; logs in ${run_dir#"$STACK_ROOT"/}/):"
    stack_print_servers "$redis_port" "$kafka_port" "$mongo_port"
    echo
    stack_wait_any_exit
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    stack_main "$@"
fi
