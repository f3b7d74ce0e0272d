#!/usr/bin/env bash
# Dovecot IMAP servers for the tests and `make run`: a self-contained
# configuration in a folder of its own (never /etc/dovecot), on 127.0.0.1.
#
# Sourced after scripts/stack.sh (it uses stack_spawn and STACK_DIR):
#
#   dovecot_start DIR NAME IMAP_PORT IMAPS_PORT IDLE [CA_DIR]
#       IMAP_PORT: plaintext with STARTTLS (plaintext login allowed);
#       IMAPS_PORT: implicit TLS; IDLE: yes, or no (IDLE left out of the
#       advertised capabilities, so that a client must poll). The test CA is
#       made in CA_DIR (default DIR) unless it is there already, so that two
#       servers can share one CA; it is copied to DIR/ca.pem. Users mail01 ..
#       mail60, password pw-mail01 etc. Returns when IMAP_PORT answers "* OK".
#       The server runs under a small supervisor that stack_stop stops.
#
# Run as a command (a test restarting the server, or a shell):
#
#   scripts/dovecot.sh restart DIR   stop dovecot and start it again (every
#                                    connection drops), wait for "* OK"
#   scripts/dovecot.sh stop DIR      stop dovecot and keep it down
#   scripts/dovecot.sh start DIR     start it again after stop, wait for "* OK"
#
# The supervisor restarts dovecot whenever it exits unless DIR/down exists;
# dovecot's own pid is in DIR/run/master.pid, the supervisor's in
# $STACK_DIR/pids/NAME.pid. Log: DIR/dovecot.log.

DOVECOT_BIN="${DOVECOT_BIN:-/usr/sbin/dovecot}"
DOVECOT_USERS=60
DOVECOT_START_TIMEOUT="${DOVECOT_START_TIMEOUT:-30}"
# Dovecot 2.3's default capability list after login, less IDLE.
DOVECOT_CAPABILITY_NO_IDLE="IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY"

dovecot_say() { printf '%s\n' "$*" >&2; }

# A CA (CA_DIR/ca.pem, ca.key) and a server certificate it signed for
# localhost and 127.0.0.1 (DIR/server.pem, server.key). EC P-256: quick.
dovecot_make_certificates() { # DIR CA_DIR
    local dir="$1" ca="$2" out
    mkdir -p "$ca"
    if [[ ! -s "$ca/ca.pem" || ! -s "$ca/ca.key" ]]; then
        out="$(openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -keyout "$ca/ca.key" -out "$ca/ca.pem" -days 3650 -subj "/CN=Beacon test IMAP CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>&1)" ||
            { dovecot_say "dovecot: making the test CA failed: $out"; return 1; }
    fi
    [[ "$ca/ca.pem" -ef "$dir/ca.pem" ]] || cp "$ca/ca.pem" "$dir/ca.pem"
    out="$(openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$dir/server.key" -subj "/CN=localhost" 2>&1 >"$dir/server.csr")" ||
        { dovecot_say "dovecot: making the server key failed: $out"; return 1; }
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$dir/server.ext"
    out="$(openssl x509 -req -in "$dir/server.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" \
        -CAcreateserial -days 3650 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>&1)" ||
        { dovecot_say "dovecot: signing the server certificate failed: $out"; return 1; }
    rm -f "$dir/server.csr" "$dir/server.ext"
}

# The configuration, the users and the mail folders in DIR.
dovecot_write_config() { # DIR IMAP_PORT IMAPS_PORT IDLE
    local dir="$1" imap_port="$2" imaps_port="$3" idle="$4" uid gid i user capability=""
    local login_user=dovenull internal_user=dovecot
    mkdir -p "$dir/run" "$dir/state" "$dir/mail"
    if ((EUID == 0)); then
        # Dovecot never reads mail as uid 0: the mailboxes belong to Debian's
        # "mail" system user (nobody where there is none).
        uid="$(id -u mail 2>/dev/null || id -u nobody)"
        gid="$(id -g mail 2>/dev/null || id -g nobody)"
        chown -R "$uid:$gid" "$dir/mail"
    else
        # Unprivileged: every process runs as this user.
        uid="$(id -u)" gid="$(id -g)"
        login_user="$(id -un)" internal_user="$(id -un)"
    fi
    : >"$dir/users"
    for ((i = 1; i <= DOVECOT_USERS; i++)); do
        printf -v user 'mail%02d' "$i"
        # user:password:uid:gid:gecos:home:shell:extra fields (test fixtures)
        printf '%s:{PLAIN}pw-%s:%s:%s::%s::\n' "$user" "$user" "$uid" "$gid" "$dir/mail/$user" >>"$dir/users"
    done
    if [[ "$idle" == no ]]; then
        capability="imap_capability = $DOVECOT_CAPABILITY_NO_IDLE"
    fi
    cat >"$dir/dovecot.conf" <<EOF
# Written by scripts/dovecot.sh; a test server, not for production.
listen = 127.0.0.1
protocols = imap
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
default_login_user = $login_user
default_internal_user = $internal_user
first_valid_uid = $uid
first_valid_gid = $gid
mail_location = maildir:$dir/mail/%u
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
ssl = yes
ssl_cert = <$dir/server.pem
ssl_key = <$dir/server.key
ssl_min_protocol = TLSv1.2
imap_idle_notify_interval = 1 secs
# A restart drops every session, as a mail server's restart does.
shutdown_clients = yes
$capability
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $dir/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $imaps_port
    ssl = yes
  }
}
# The tests keep many sessions to one user's mailbox at once.
mail_max_userip_connections = 1000
EOF
}

# True when 127.0.0.1:PORT greets with "* OK".
dovecot_greets() { # PORT
    local line=""
    { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    read -r -t 2 line <&3 || true
    exec 3<&- 3>&-
    [[ "$line" == "* OK"* ]]
}

# Wait until PORT greets; fail after DOVECOT_START_TIMEOUT seconds or when the
# process PID (if given) is gone.
dovecot_wait() { # PORT DIR [PID]
    local port="$1" dir="$2" pid="${3:-}" deadline=$((SECONDS + DOVECOT_START_TIMEOUT))
    until dovecot_greets "$port"; do
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            dovecot_say "dovecot: the server in $dir exited; last lines of $dir/dovecot.log:"
            tail -n 20 "$dir/dovecot.log" >&2 2>/dev/null || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            dovecot_say "dovecot: 127.0.0.1:$port did not answer '* OK' within ${DOVECOT_START_TIMEOUT}s; see $dir/dovecot.log"
            tail -n 20 "$dir/dovecot.log" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.1
    done
}

dovecot_start() { # DIR NAME IMAP_PORT IMAPS_PORT IDLE(yes|no) [CA_DIR]
    local dir="$1" name="$2" imap_port="$3" imaps_port="$4" idle="$5" ca="${6:-$1}"
    case "$idle" in yes | no) ;; *) dovecot_say "dovecot: IDLE must be yes or no, not '$idle'"; return 1 ;; esac
    [[ -x "$DOVECOT_BIN" ]] || { dovecot_say "dovecot: $DOVECOT_BIN missing: run scripts/install-deps.sh (dovecot-imapd)"; return 1; }
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    mkdir -p "$ca"
    ca="$(cd "$ca" && pwd)"
    rm -f "$dir/down"
    dovecot_make_certificates "$dir" "$ca" || return 1
    dovecot_write_config "$dir" "$imap_port" "$imaps_port" "$idle"
    printf '%s\n' "$imap_port" >"$dir/imap-port"
    stack_spawn "$name" server "$dir/supervisor.log" bash "${BASH_SOURCE[0]}" supervise "$dir"
    dovecot_wait "$imap_port" "$dir" "${STACK_PID[$name]}"
}

# ---- run as a command -----------------------------------------------------------

# Runs dovecot in the foreground and again whenever it exits (a restart),
# unless DIR/down exists. TERM/INT: stop dovecot and exit 0.
dovecot_supervise() { # DIR
    local dir="$1" child=""
    # shellcheck disable=SC2329 # the trap calls it
    dovecot_supervisor_stop() {
        [[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null
        [[ -n "$child" ]] && wait "$child" 2>/dev/null
        exit 0
    }
    trap dovecot_supervisor_stop TERM INT
    while :; do
        if [[ -e "$dir/down" ]]; then
            sleep 0.1
            continue
        fi
        echo "supervisor: starting dovecot ($(date -u +%FT%TZ))"
        "$DOVECOT_BIN" -F -c "$dir/dovecot.conf" &
        child=$!
        wait "$child" 2>/dev/null
        echo "supervisor: dovecot exited with status $? ($(date -u +%FT%TZ))"
        child=""
        sleep 0.1
    done
}

dovecot_master_pid() { # DIR
    local pid=""
    read -r pid <"$1/run/master.pid" 2>/dev/null || true
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

# Stop the running dovecot and wait until its master process is gone.
dovecot_stop_master() { # DIR
    local dir="$1" pid deadline=$((SECONDS + 10))
    local children
    pid="$(dovecot_master_pid "$dir")" || return 0
    # Its imap processes outlive a stopped master here (shutdown_clients
    # notwithstanding); a real server's restart drops its sessions, so these go too.
    children="$(pgrep -P "$pid" || true)"
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.05
    done
    # shellcheck disable=SC2086 # one pid a word
    [[ -n "$children" ]] && kill -KILL $children 2>/dev/null
    return 0
}

dovecot_command() { # COMMAND DIR
    local cmd="$1" dir="${2:-}" port
    [[ -n "$dir" && -f "$dir/dovecot.conf" ]] || { dovecot_say "dovecot: $cmd DIR: no dovecot.conf in '$dir'"; return 2; }
    read -r port <"$dir/imap-port"
    case "$cmd" in
        supervise) dovecot_supervise "$dir" ;;
        restart) rm -f "$dir/down"; dovecot_stop_master "$dir"; dovecot_wait "$port" "$dir" ;;
        stop) : >"$dir/down"; dovecot_stop_master "$dir" ;;
        start) rm -f "$dir/down"; dovecot_wait "$port" "$dir" ;;
        *) dovecot_say "usage: scripts/dovecot.sh restart|stop|start DIR"; return 2 ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -uo pipefail
    dovecot_command "$@"
fi
