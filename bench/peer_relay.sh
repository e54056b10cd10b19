#!/usr/bin/env bash
# End-to-end relaying: submission -> durable queue -> delivery to a local
# smtp-sink, for Rebound (`rebound serve` with delivery) and, in the same run,
# for a private Postfix instance this script configures to relay everything to
# the same sink. Both are fed by Postfix's smtp-source; the clock stops when
# the MTA's queue is empty (every message delivered).
#
# Comparable durability: both commit a message to disk before the 250 to the
# submitter (Rebound: SQLite WAL synchronous=FULL; Postfix: cleanup fsyncs the
# queue file), and both record the delivery before forgetting it (Rebound:
# one committed transaction per message; Postfix: queue file removal).
# Concurrency: 20 connections to the destination for both.
#
# Prints messages/s for both, the ratio, and Rebound's p50/p99 time in queue
# (queued -> delivered, from its events table; one-second resolution).
#
# usage: bench/peer_relay.sh [path/to/rebound]   (root, for Postfix)
# env:   MESSAGES=5000 SIZE=5120 SESSIONS=10 CONCURRENCY=20
set -euo pipefail
source "$(dirname "$0")/lib_postfix.sh"

REBOUND=${1:-$(dirname "$0")/../build/release/src/cli/rebound}
REBOUND=$(readlink -f "$REBOUND")
MESSAGES=${MESSAGES:-5000}
SIZE=${SIZE:-5120}
SESSIONS=${SESSIONS:-10}
CONCURRENCY=${CONCURRENCY:-20}
SMTP_SOURCE=/usr/sbin/smtp-source
SMTP_SINK=/usr/sbin/smtp-sink

[[ -x "$REBOUND" ]] || { echo "peer_relay: no rebound binary at $REBOUND" >&2; exit 2; }
[[ -x "$SMTP_SOURCE" && -x "$SMTP_SINK" ]] || { echo "peer_relay: postfix (smtp-source/smtp-sink) is not installed" >&2; exit 77; }
[[ $(id -u) == 0 ]] || { echo "peer_relay: Postfix needs root to start" >&2; exit 77; }

WORK=$(mktemp -d /tmp/rebound-peer-relay-XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_private_postfix "$WORK/postfix"
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
submit() { "$SMTP_SOURCE" -d -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f bench@example.com -t rcpt@example.net -M bench.test "127.0.0.1:$1"; }

# --- the sink both relay to --------------------------------------------------
SINK_PORT=$(free_port)
"$SMTP_SINK" -u nobody "127.0.0.1:$SINK_PORT" 256 &
PIDS+=($!)
wait_port "$SINK_PORT"

# --- Rebound ------------------------------------------------------------------
RB_PORT=$(free_port)
cat >"$WORK/rebound.toml" <<EOF
[server]
listen = "127.0.0.1:$RB_PORT"
data_dir = "$WORK/rebound-data"
hostname = "bench.test"
log = "$WORK/rebound.jsonl"
loopback_account = "bench"

[delivery]
routes = "example.net=127.0.0.1:$SINK_PORT"
max_connections_per_destination = $CONCURRENCY
max_messages_per_connection = 100000
poll_interval_ms = 50
tls = "off"
EOF
echo bench-pw | "$REBOUND" account add bench --domain example.com --config "$WORK/rebound.toml" >/dev/null
"$REBOUND" serve --config "$WORK/rebound.toml" 2>"$WORK/rebound.stderr" &
PIDS+=($!)
wait_port "$RB_PORT"

# --- Postfix --------------------------------------------------------------------
PF_PORT=$(free_port)
start_private_postfix "$WORK/postfix" "$PF_PORT" "relayhost = [127.0.0.1]:$SINK_PORT
smtp_tls_security_level = none
default_destination_concurrency_limit = $CONCURRENCY" || exit 1

DB="$WORK/rebound-data/queue.db"
rb_left() {
  /usr/bin/python3 - "$DB" "$MESSAGES" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
n = c.execute("select count(*) from recipients where state = 'delivered'").fetchone()[0]
print(int(sys.argv[2]) - n)
EOF
}
Q="$WORK/postfix/queue"
pf_left() { find "$Q/incoming" "$Q/active" "$Q/deferred" "$Q/maildrop" "$Q/hold" -type f 2>/dev/null | wc -l; }

echo "peer_relay: $MESSAGES messages of $SIZE bytes, $SESSIONS submitting connections, $CONCURRENCY delivery connections"

t0=$(now)
submit "$RB_PORT"
while [[ $(rb_left) -gt 0 ]]; do
  sleep 0.1
  if (( $(echo "$(now) - $t0 > 600" | bc) )); then echo "peer_relay: rebound did not finish in 600 s" >&2; break; fi
done
RB_SECS=$(echo "$(now) - $t0" | bc -l)

t0=$(now)
submit "$PF_PORT"
sleep 0.5
while [[ $(pf_left) -gt 0 ]]; do
  sleep 0.1
  if (( $(echo "$(now) - $t0 > 600" | bc) )); then echo "peer_relay: postfix did not finish in 600 s" >&2; break; fi
done
PF_SECS=$(echo "$(now) - $t0" | bc -l)

read -r RB_DONE P50 P99 < <(/usr/bin/python3 - "$DB" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
rows = c.execute("""select e.time - m.queued_at from events e join messages m on m.id = e.message_id
                    where e.decision = 'delivered'""").fetchall()
d = sorted(r[0] for r in rows)
pick = lambda q: d[min(len(d) - 1, int(q * len(d)))] if d else -1
print(len(d), pick(0.50), pick(0.99))
EOF
)
PF_DONE=$(( MESSAGES - $(pf_left) ))
RB_RATE=$(echo "$RB_DONE / $RB_SECS" | bc -l)
PF_RATE=$(echo "$PF_DONE / $PF_SECS" | bc -l)
printf "rebound  %6d delivered in %7.2f s  %8.0f messages/s  (time in queue p50 %s s, p99 %s s)\n" "$RB_DONE" "$RB_SECS" "$RB_RATE" "$P50" "$P99"
printf "postfix  %6d delivered in %7.2f s  %8.0f messages/s\n" "$PF_DONE" "$PF_SECS" "$PF_RATE"
printf "ratio rebound/postfix: %.2fx (goal >= 1.5x)\n" "$(echo "$RB_RATE / $PF_RATE" | bc -l)"
