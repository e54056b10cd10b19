#!/usr/bin/env bash
# HTTP API submission throughput: POST /v1/messages (SIZE bytes of text,
# CONNECTIONS keep-alive connections, driven by wrk) against the SMTP
# submission path of the same `rebound serve` process (smtp-source, SESSIONS
# connections) and against Postfix's submission (smtp-source on a private
# Postfix), all in one run.
#
# Comparable durability: every path answers only after the message is on
# disk (Rebound: SQLite WAL with synchronous=FULL, the same Enqueue for both
# of its paths; Postfix: the queue file fsynced by cleanup). No delivery
# runs: Rebound's is off and Postfix holds every message. A rate is the
# messages found queued afterwards divided by the time the driver ran.
#
# usage: bench/peer_api.sh [path/to/rebound]   (root, for Postfix; wrk and postfix installed)
# env:   API_SECONDS=10 MESSAGES=20000 SIZE=5120 CONNECTIONS=20 SESSIONS=20
set -euo pipefail
source "$(dirname "$0")/lib_postfix.sh"

REBOUND=${1:-$(dirname "$0")/../build/release/src/cli/rebound}
REBOUND=$(readlink -f "$REBOUND")
API_SECONDS=${API_SECONDS:-10}
MESSAGES=${MESSAGES:-20000}
SIZE=${SIZE:-5120}
CONNECTIONS=${CONNECTIONS:-20}
SESSIONS=${SESSIONS:-20}
SMTP_SOURCE=/usr/sbin/smtp-source
POSTFIX=/usr/sbin/postfix

[[ -x "$REBOUND" ]] || { echo "peer_api: no rebound binary at $REBOUND" >&2; exit 2; }
command -v wrk >/dev/null || { echo "peer_api: wrk is not installed (apt-get install wrk)" >&2; exit 77; }
[[ -x "$SMTP_SOURCE" && -x "$POSTFIX" ]] || { echo "peer_api: postfix (smtp-source) is not installed" >&2; exit 77; }
[[ $(id -u) == 0 ]] || { echo "peer_api: Postfix needs root to start" >&2; exit 77; }

WORK=$(mktemp -d /tmp/rebound-peer-api-XXXXXX)
chmod 755 "$WORK"  # Postfix daemons run as user postfix
REBOUND_PID=""
cleanup() {
  [[ -n "$REBOUND_PID" ]] && kill "$REBOUND_PID" 2>/dev/null && wait "$REBOUND_PID" 2>/dev/null
  stop_private_postfix "$WORK/postfix"
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
queued() {
  /usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from messages').fetchone()[0])" \
    "$WORK/rebound-data/queue.db"
}
smtp_drive() {  # port -> elapsed seconds
  local t0 t1
  t0=$(now)
  "$SMTP_SOURCE" -d -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f bench@example.com -t rcpt@example.net \
    -M bench.test "127.0.0.1:$1"
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

# --- Rebound: SMTP and HTTP in one process -----------------------------------
RB_PORT=$(free_port)
HTTP_PORT=$(free_port)
printf '%s\n' "[server]" "listen = \"127.0.0.1:$RB_PORT\"" "data_dir = \"$WORK/rebound-data\"" \
  "hostname = \"bench.test\"" "log = \"$WORK/rebound.jsonl\"" \
  "loopback_account = \"bench\"   # smtp-source cannot AUTH" "" \
  "[delivery]" "enabled = false   # like Postfix's hold queue here: acceptance only" "" \
  "[http]" "listen = \"127.0.0.1:$HTTP_PORT\"" "key_rate = 0      # one key sends everything" \
  >"$WORK/rebound.toml"
echo bench-pw | "$REBOUND" account add bench --domain example.com --config "$WORK/rebound.toml" >/dev/null
KEY=$("$REBOUND" apikey create --account bench --scope send --config "$WORK/rebound.toml" 2>/dev/null)
"$REBOUND" serve --config "$WORK/rebound.toml" 2>"$WORK/rebound.stderr" &
REBOUND_PID=$!
wait_port "$RB_PORT"
wait_port "$HTTP_PORT"

# The request: SIZE bytes of text (what smtp-source sends per message).
/usr/bin/python3 - "$SIZE" "$KEY" >"$WORK/post.lua" <<'LUA'
import json, sys
size, key = int(sys.argv[1]), sys.argv[2]
text = ("x" * 70 + "\n") * (size // 71)
body = json.dumps({"from": "bench@example.com", "to": ["rcpt@example.net"], "subject": "bench", "text": text})
print('wrk.method = "POST"')
print(f'wrk.headers["Authorization"] = "Bearer {key}"')
print('wrk.headers["Content-Type"] = "application/json"')
print(f"wrk.body = [==[{body}]==]")
LUA

# --- Postfix -------------------------------------------------------------------
PF_PORT=$(free_port)
start_private_postfix "$WORK/postfix" "$PF_PORT" "# Keep every accepted message on hold: no delivery attempts during the run.
smtpd_client_restrictions = check_client_access static:HOLD" || exit 1

echo "peer_api: POST /v1/messages for ${API_SECONDS}s over $CONNECTIONS keep-alive connections (wrk);" \
     "SMTP: $MESSAGES messages over $SESSIONS connections (smtp-source); $SIZE bytes each"
BEFORE=$(queued)
T0=$(now)
wrk -t 2 -c "$CONNECTIONS" -d "${API_SECONDS}s" --latency -s "$WORK/post.lua" \
  "http://127.0.0.1:$HTTP_PORT/v1/messages" >"$WORK/wrk.out"
T1=$(now)
API_QUEUED=$(( $(queued) - BEFORE ))
API_SECS=$(echo "$T1 - $T0" | bc -l)
grep -E "Latency |50%|99%|Non-2xx|requests in" "$WORK/wrk.out" | sed 's/^/  wrk: /'

BEFORE=$(queued)
SMTP_SECS=$(smtp_drive "$RB_PORT")
SMTP_QUEUED=$(( $(queued) - BEFORE ))

PF_SECS=$(smtp_drive "$PF_PORT")
sleep 1
PF_QUEUED=$(find "$WORK/postfix/queue/hold" "$WORK/postfix/queue/incoming" "$WORK/postfix/queue/active" \
                 "$WORK/postfix/queue/deferred" -type f 2>/dev/null | wc -l)

API_RATE=$(echo "$API_QUEUED / $API_SECS" | bc -l)
SMTP_RATE=$(echo "$SMTP_QUEUED / $SMTP_SECS" | bc -l)
PF_RATE=$(echo "$PF_QUEUED / $PF_SECS" | bc -l)
printf "rebound API   %6d queued in %6.2f s  %8.0f messages/s\n" "$API_QUEUED" "$API_SECS" "$API_RATE"
printf "rebound SMTP  %6d queued in %6.2f s  %8.0f messages/s\n" "$SMTP_QUEUED" "$SMTP_SECS" "$SMTP_RATE"
printf "postfix SMTP  %6d queued in %6.2f s  %8.0f messages/s\n" "$PF_QUEUED" "$PF_SECS" "$PF_RATE"
printf "ratio API/SMTP path: %.2fx (goal >= 1x); API/postfix: %.2fx (goal >= 3x)\n" \
  "$(echo "$API_RATE / $SMTP_RATE" | bc -l)" "$(echo "$API_RATE / $PF_RATE" | bc -l)"
