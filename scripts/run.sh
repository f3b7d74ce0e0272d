#!/usr/bin/env bash
# `make run`: install what is missing, build, start Redis, Kafka (Tansu) and
# MongoDB (SecantusDB) and a dovecot IMAP server (a mailbox to watch), create
# the topics and the mail key pair, start tracker, enricher, consumers,
# pusher, liveview and pinger, print the URLs and stay in the foreground.
# Ctrl-C or SIGTERM stops everything it started, and it exits 0 when every
# service stopped cleanly. Every part starts empty: Redis (its data in
# .run/redis is removed first), the broker and MongoDB (both in memory), so a
# second start behaves as the first. Logs go to .run/.
#
# Settings (environment or make variables):
#   TRACKER_PORT=8080 ENRICHER_PORT=8081 CONSUMERS_PORT=8082 PUSHER_PORT=8083
#   TRACKER_UDP_PORT=8125 (the tracker's UDP intake; 0: off)
#   LIVEVIEW_PORT=8090 PINGER_PORT=8086 REDIS_PORT=6379 KAFKA_PORT=9092 MONGO_PORT=27017
#   IMAP_PORT=1143 IMAPS_PORT=1993 (the local dovecot: STARTTLS and implicit
#     TLS; users mail01..mail60, password pw-<user>)
#   RULES_FILE=services/consumers/rules.demo.yaml (the consumers' rules;
#     relative to the repository)
#   PUSHER_DRY_RUN=true|false (false sends to APNs/FCM with the credentials in
#     services/pusher/pusher.yaml or BEACON_APNS_<APP>_* / BEACON_FCM_<APP>_*)
#   LIVEVIEW_TOKEN=dev-token LOG_LEVEL=info LOG_FORMAT=text
#   CONFIG=debug|release (which build to run), SKIP_BUILD=1 (run what is built)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/stack.sh
source "$ROOT/scripts/stack.sh"

TRACKER_PORT="${TRACKER_PORT:-8080}"
TRACKER_UDP_PORT="${TRACKER_UDP_PORT:-8125}"
ENRICHER_PORT="${ENRICHER_PORT:-8081}"
CONSUMERS_PORT="${CONSUMERS_PORT:-8082}"
PUSHER_PORT="${PUSHER_PORT:-8083}"
LIVEVIEW_PORT="${LIVEVIEW_PORT:-8090}"
PINGER_PORT="${PINGER_PORT:-8086}"
IMAP_PORT="${IMAP_PORT:-1143}"
IMAPS_PORT="${IMAPS_PORT:-1993}"
REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
MONGO_PORT="${MONGO_PORT:-27017}"
RULES_FILE="${RULES_FILE:-services/consumers/rules.demo.yaml}"
# The demo app's Standard Webhooks secret (local only; say it in the banner).
WEBHOOK_SECRET="${WEBHOOK_SECRET:-whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}"
PUSHER_DRY_RUN="${PUSHER_DRY_RUN:-true}"
LIVEVIEW_TOKEN="${LIVEVIEW_TOKEN:-dev-token}"
LOG_LEVEL="${LOG_LEVEL:-info}"
LOG_FORMAT="${LOG_FORMAT:-text}"
CONFIG="${CONFIG:-debug}"
RUN_DIR="$ROOT/.run"
SERVICE_START_TIMEOUT="${SERVICE_START_TIMEOUT:-60}"

case "$CONFIG" in debug | release) ;; *) echo "run: CONFIG must be debug or release, not '$CONFIG'" >&2; exit 2 ;; esac
[[ "$TRACKER_UDP_PORT" =~ ^[0-9]+$ ]] && ((TRACKER_UDP_PORT <= 65535)) || { echo "run: TRACKER_UDP_PORT must be a port number or 0 (off), not '$TRACKER_UDP_PORT'" >&2; exit 2; }
case "$PUSHER_DRY_RUN" in true | false) ;; *) echo "run: PUSHER_DRY_RUN must be true or false, not '$PUSHER_DRY_RUN'" >&2; exit 2 ;; esac
[[ -f "$RULES_FILE" ]] || { echo "run: RULES_FILE=$RULES_FILE: no such file (relative paths start at $ROOT)" >&2; exit 2; }

# shellcheck disable=SC2329 # called by the EXIT trap
on_exit() {
    local status=$?
    trap '' INT TERM HUP PIPE
    set +e
    stack_fg_kill
    if ((${#STACK_NAMES[@]} > 0)); then
        echo >&2
        echo "run: stopping..." >&2
        if stack_stop; then
            echo "run: stopped" >&2
        else
            ((status != 0)) || status=1
        fi
    fi
    # A stop that was asked for (Ctrl-C, SIGTERM) and went cleanly is success.
    [[ -n "$STOP_SIGNAL" && "$status" == "$STOP_SIGNAL" ]] && status=0
    exit "$status"
}
STOP_SIGNAL=""
trap on_exit EXIT
trap 'STOP_SIGNAL=130; exit 130' INT
trap 'STOP_SIGNAL=143; exit 143' TERM
trap 'exit 129' HUP

bash "$ROOT/scripts/install-deps.sh"

stack_init "$RUN_DIR" # refuses when another make run/stack uses .run/
stack_check_port "$REDIS_PORT" REDIS_PORT
stack_check_port "$KAFKA_PORT" KAFKA_PORT
stack_check_port "$MONGO_PORT" MONGO_PORT
stack_check_port "$TRACKER_PORT" TRACKER_PORT
stack_check_port "$ENRICHER_PORT" ENRICHER_PORT
stack_check_port "$CONSUMERS_PORT" CONSUMERS_PORT
stack_check_port "$PUSHER_PORT" PUSHER_PORT
stack_check_port "$LIVEVIEW_PORT" LIVEVIEW_PORT
stack_check_port "$PINGER_PORT" PINGER_PORT
stack_check_port "$IMAP_PORT" IMAP_PORT
stack_check_port "$IMAPS_PORT" IMAPS_PORT

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "run: swift build -c $CONFIG" >&2
    stack_fg swift build -c "$CONFIG"
fi
BIN_DIR="$(swift build -c "$CONFIG" --show-bin-path)"
SERVICES=(tracker enricher consumers pusher liveview pinger)
for name in "${SERVICES[@]}"; do
    [[ -x "$BIN_DIR/beacon-$name" ]] || { echo "run: $BIN_DIR/beacon-$name is missing (did the build succeed?)" >&2; exit 1; }
done
stack_check_rdkafka "${SERVICES[@]/#/$BIN_DIR/beacon-}"

# Fresh, like the broker and MongoDB: an earlier run's counts and frequency
# caps would otherwise linger in Redis alone.
STACK_REDIS_DIR="$RUN_DIR/redis"
rm -rf "$STACK_REDIS_DIR"
stack_start_servers "$REDIS_PORT" "$KAFKA_PORT" "$MONGO_PORT" "$STACK_REDIS_DIR"
# A mail server to register a mailbox on (fresh mailboxes each run), and the
# pinger's key pair: the private key for the pinger only, the public key and
# the stop-token secret for the tracker.
# shellcheck source=scripts/dovecot.sh
source "$ROOT/scripts/dovecot.sh"
rm -rf "$RUN_DIR/dovecot/mail"
dovecot_start "$RUN_DIR/dovecot" dovecot "$IMAP_PORT" "$IMAPS_PORT" yes
MAIL_KEYS="$RUN_DIR/mail-keys"
bash "$ROOT/scripts/mail-keys.sh" "$MAIL_KEYS"

# start_service NAME PORT ENV...: run the service with its config, its port
# and the wheel's librdkafka.
start_service() {
    local name="$1" port="$2"
    shift 2
    stack_spawn "$name" service "$RUN_DIR/$name.log" \
        env LD_LIBRARY_PATH="$STACK_LD_LIBRARY_PATH" BEACON_HTTP_PORT="$port" "$@" \
        "$BIN_DIR/beacon-$name" --config "services/$name/$name.yaml" \
        --log-level "$LOG_LEVEL" --log-format "$LOG_FORMAT"
}

start_service tracker "$TRACKER_PORT" \
    BEACON_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
    BEACON_TRACKER_UDP_PORT="$TRACKER_UDP_PORT" \
    BEACON_MAIL_PUBLIC_KEY_FILE="$MAIL_KEYS/pinger.pub" \
    BEACON_MAIL_TOKEN_SECRET_FILE="$MAIL_KEYS/mail-token.secret" \
    BEACON_MAIL_ALLOW_PLAINTEXT=true
start_service enricher "$ENRICHER_PORT" \
    BEACON_REDIS_URLS="redis://127.0.0.1:$REDIS_PORT" \
    BEACON_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" \
    BEACON_GEOIP_DATABASE="$STACK_DEPS/geoip/GeoLite2-City.mmdb"
start_service consumers "$CONSUMERS_PORT" \
    BEACON_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" \
    BEACON_MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT" \
    BEACON_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
    BEACON_RULES_FILE="$RULES_FILE" \
    BEACON_WEBHOOKS_SIGNING_SECRETS_DEMO="$WEBHOOK_SECRET" \
    BEACON_WEBHOOKS_ALLOW_PRIVATE=true \
    BEACON_CONSUMERS_ADMIN_TOKENS=dev-admin-token
start_service pusher "$PUSHER_PORT" \
    BEACON_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" \
    BEACON_MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT" \
    BEACON_PUSHER_DRY_RUN="$PUSHER_DRY_RUN"
start_service liveview "$LIVEVIEW_PORT" \
    BEACON_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" \
    BEACON_LIVEVIEW_TOKEN="$LIVEVIEW_TOKEN"
# The local dovecot is on 127.0.0.1 with a test CA: the switches a private
# deployment would set, never a public one.
start_service pinger "$PINGER_PORT" \
    BEACON_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" \
    BEACON_MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT" \
    BEACON_PINGER_PRIVATE_KEY_FILES="$MAIL_KEYS/pinger.key" \
    BEACON_PINGER_ALLOW_PRIVATE_HOSTS=true \
    BEACON_PINGER_ALLOW_PLAINTEXT=true \
    BEACON_PINGER_CA_FILE="$RUN_DIR/dovecot/ca.pem"

# Ready, not only up (/readyz, not /healthz): the consumer groups have their
# partitions, so events sent right after the banner are handled at once, not
# after the first rebalance.
stack_wait tracker http "http://127.0.0.1:$TRACKER_PORT/readyz" "$SERVICE_START_TIMEOUT"
stack_wait enricher http "http://127.0.0.1:$ENRICHER_PORT/readyz" "$SERVICE_START_TIMEOUT"
stack_wait consumers http "http://127.0.0.1:$CONSUMERS_PORT/readyz" "$SERVICE_START_TIMEOUT"
stack_wait pusher http "http://127.0.0.1:$PUSHER_PORT/readyz" "$SERVICE_START_TIMEOUT"
stack_wait liveview http "http://127.0.0.1:$LIVEVIEW_PORT/readyz" "$SERVICE_START_TIMEOUT"
stack_wait pinger http "http://127.0.0.1:$PINGER_PORT/readyz" "$SERVICE_START_TIMEOUT"

if [[ "$PUSHER_DRY_RUN" == true ]]; then
    PUSHER_MODE="dry run: outcomes on beacon.push.feedback, nothing sent"
else
    PUSHER_MODE="sending to APNs/FCM"
fi
SEND_HINT="Send an event:"
if [[ "$RULES_FILE" == services/consumers/rules.demo.yaml ]]; then
    SEND_HINT="Send an event (the demo rules turn \"Hello\" into a push to u1's devices: watch
beacon.push.apns and beacon.push.feedback in the live view):"
fi

cat <<EOF

Beacon is running ($CONFIG build). Ctrl-C stops everything.

  Tracker   http://127.0.0.1:$TRACKER_PORT        (write key: demo-write-key)
$( ((TRACKER_UDP_PORT == 0)) || echo "  Tracker   udp://127.0.0.1:$TRACKER_UDP_PORT         (one event or batch per datagram, writeKey inside)")
  Enricher  http://127.0.0.1:$ENRICHER_PORT/metrics  (/healthz, /readyz)
  Consumers curl -H 'Authorization: Bearer dev-admin-token' http://127.0.0.1:$CONSUMERS_PORT/stats?app=demo  (/requests, /errors, /metrics; rules: $RULES_FILE)
            webhooks signed with $WEBHOOK_SECRET; private addresses allowed (local only)
  Pusher    http://127.0.0.1:$PUSHER_PORT/metrics  ($PUSHER_MODE)
  Live view http://127.0.0.1:$LIVEVIEW_PORT/?token=$LIVEVIEW_TOKEN
  Pinger    http://127.0.0.1:$PINGER_PORT/metrics  (public key: http://127.0.0.1:$TRACKER_PORT/v1/mail/key)
  IMAP      127.0.0.1:$IMAPS_PORT (imaps), 127.0.0.1:$IMAP_PORT (STARTTLS)  (dovecot; users mail01..mail60, password pw-<user>)
$(stack_print_servers "$REDIS_PORT" "$KAFKA_PORT" "$MONGO_PORT")

Register a push device for u1:
  curl -u demo-write-key: -H 'Content-Type: application/json' -d '{"userId":"u1","traits":{"name":"Ada"},"context":{"device":{"token":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","type":"ios"}}}' http://127.0.0.1:$TRACKER_PORT/v1/identify
$SEND_HINT
  curl -u demo-write-key: -H 'Content-Type: application/json' -d '{"userId":"u1","event":"Hello","properties":{"x":1}}' http://127.0.0.1:$TRACKER_PORT/v1/track

$( ((TRACKER_UDP_PORT == 0)) || printf 'Or over UDP:\n  %s\n' "echo '{\"writeKey\":\"demo-write-key\",\"type\":\"track\",\"event\":\"Ping\",\"userId\":\"u1\"}' | nc -u -w0 127.0.0.1 $TRACKER_UDP_PORT")

Watch a mailbox (the pinger pushes when mail arrives; see beacon.push.apns in the live view):
  curl -u demo-write-key: -H 'Content-Type: application/json' -d '{"device":{"token":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","type":"ios"},"account":{"host":"127.0.0.1","port":$IMAPS_PORT,"tls":"implicit","username":"mail01","password":"pw-mail01"}}' http://127.0.0.1:$TRACKER_PORT/v1/mail/register
Deliver a mail to it:
  .deps/venv/bin/python -c 'import imaplib; m = imaplib.IMAP4("127.0.0.1", $IMAP_PORT); m.login("mail01", "pw-mail01"); m.append("INBOX", None, None, b"Subject: hi\r\n\r\nhello\r\n")'

Logs: .run/{tracker,enricher,consumers,pusher,liveview,pinger,redis,kafka,mongo}.log, .run/dovecot/dovecot.log

EOF

stack_wait_any_exit
