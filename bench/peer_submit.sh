#!/usr/bin/env bash
# Submission throughput: Rebound (`rebound serve`) against a private Postfix
# instance this script configures, both driven by Postfix's smtp-source in
# the same run: MESSAGES messages of SIZE bytes over SESSIONS connections each.
#
# Comparable durability: both acknowledge a message only after it is on
# disk (Rebound: SQLite WAL with synchronous=FULL; Postfix: the queue file
# fsynced by cleanup). Postfix puts every message on hold (no delivery), and
# Rebound has no delivery running, so only acceptance is measured.
#
# usage: bench/peer_submit.sh [path/to/rebound]   (root, for Postfix)
# env:   MESSAGES=20000 SIZE=5120 SESSIONS=20
set -euo pipefail
source "$(dirname "$0")/lib_postfix.sh"

REBOUND=${1:-$(dirname "$0")/../build/release/src/cli/rebound}
REBOUND=$(readlink -f "$REBOUND")
MESSAGES=${MESSAGES:-20000}
SIZE=${SIZE:-5120}
SESSIONS=${SESSIONS:-20}
SMTP_SOURCE=/usr/sbin/smtp-source
POSTFIX=/usr/sbin/postfix

[[ -x "$REBOUND" ]] || { echo "peer_submit: no rebound binary at $REBOUND" >&2; exit 2; }
[[ -x "$SMTP_SOURCE" && -x "$POSTFIX" ]] || { echo "peer_submit: postfix (smtp-source) is not installed" >&2; exit 77; }
[[ $(id -u) == 0 ]] || { echo "peer_submit: Postfix needs root to start" >&2; exit 77; }

WORK=$(mktemp -d /tmp/rebound-peer-submit-XXXXXX)
chmod 755 "$WORK"  # Postfix daemons run as user postfix
REBOUND_PID=""
cleanup() {
  [[ -n "$REBOUND_PID" ]] && kill "$REBOUND_PID" 2>/dev/null && wait "$REBOUND_PID" 2>/dev/null
  stop_private_postfix "$WORK/postfix"
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
# smtp-source exits 0 even when messages are refused; count what was accepted.
drive() {  # port -> elapsed seconds
  local t0 t1
  t0=$(now)
  "$SMTP_SOURCE" -d -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f bench@example.com -t rcpt@example.net \
    -M bench.test "127.0.0.1:$1"
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

# --- Rebound ---------------------------------------------------------------
RB_PORT=$(free_port)
cat >"$WORK/rebound.toml" <<EOF
[server]
listen = "127.0.0.1:$RB_PORT"
data_dir = "$WORK/rebound-data"
hostname = "bench.test"
log = "$WORK/rebound.jsonl"
loopback_account = "bench"   # smtp-source cannot AUTH

[delivery]
enabled = false   # like Postfix's hold queue here: acceptance only
EOF
echo bench-pw | "$REBOUND" account add bench --domain example.com --config "$WORK/rebound.toml" >/dev/null
"$REBOUND" serve --config "$WORK/rebound.toml" 2>"$WORK/rebound.stderr" &
REBOUND_PID=$!
wait_port "$RB_PORT"

# --- Postfix ---------------------------------------------------------------
PF_PORT=$(free_port)
start_private_postfix "$WORK/postfix" "$PF_PORT" "# Keep every accepted message on hold: no delivery attempts during the run.
smtpd_client_restrictions = check_client_access static:HOLD" || exit 1

echo "peer_submit: $MESSAGES messages of $SIZE bytes over $SESSIONS connections each"
RB_SECS=$(drive "$RB_PORT")
PF_SECS=$(drive "$PF_PORT")

RB_QUEUED=$(/usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from messages').fetchone()[0])" "$WORK/rebound-data/queue.db")
sleep 1
PF_QUEUED=$(find "$WORK/postfix/queue/hold" "$WORK/postfix/queue/incoming" "$WORK/postfix/queue/active" \
                 "$WORK/postfix/queue/deferred" -type f 2>/dev/null | wc -l)
RB_RATE=$(echo "$RB_QUEUED / $RB_SECS" | bc -l)
PF_RATE=$(echo "$PF_QUEUED / $PF_SECS" | bc -l)
printf "rebound  %6d queued in %6.2f s  %8.0f messages/s\n" "$RB_QUEUED" "$RB_SECS" "$RB_RATE"
printf "postfix  %6d queued in %6.2f s  %8.0f messages/s\n" "$PF_QUEUED" "$PF_SECS" "$PF_RATE"
printf "ratio rebound/postfix: %.2fx (goal >= 1.5x)\n" "$(echo "$RB_RATE / $PF_RATE" | bc -l)"
