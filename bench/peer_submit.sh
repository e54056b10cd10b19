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

REBOUND=${1:-$(dirname "$0")/../build/src/cli/rebound}
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
PF_CONF="$WORK/postfix/conf"
cleanup() {
  [[ -n "$REBOUND_PID" ]] && kill "$REBOUND_PID" 2>/dev/null && wait "$REBOUND_PID" 2>/dev/null
  local pid_file="$WORK/postfix/queue/pid/master.pid"
  [[ -f "$pid_file" ]] && kill "$(tr -d ' ' <"$pid_file")" 2>/dev/null && sleep 1
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "peer_submit: nothing listens on port $1" >&2
  return 1
}
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
mkdir -p "$PF_CONF" "$WORK/postfix/queue" "$WORK/postfix/data"
sed -e "s/^smtp      inet .*/127.0.0.1:$PF_PORT inet n - n - - smtpd/" \
    -e 's/^\([a-z]*  *unix  *[-ny]  *[-ny]  *\)y/\1n/' /etc/postfix/master.cf >"$PF_CONF/master.cf"
cat >"$PF_CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $WORK/postfix/queue
data_directory = $WORK/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
# Keep every accepted message on hold: no delivery attempts during the run.
smtpd_client_restrictions = check_client_access static:HOLD
default_process_limit = 100
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
EOF
# `postfix -c DIR start` refuses a directory not listed in the system's
# main.cf (alternate_config_directories), so the queue is laid out here and
# master(8) is started directly.
Q="$WORK/postfix/queue"
for d in incoming active deferred bounce defer flush hold private saved trace corrupt; do
  install -d -o postfix -m 700 "$Q/$d"
done
install -d -o postfix -g postdrop -m 730 "$Q/maildrop"
install -d -o postfix -g postdrop -m 710 "$Q/public"
install -d -o root -m 755 "$Q/pid"
chown postfix "$WORK/postfix/data"
/usr/lib/postfix/sbin/master -c "$PF_CONF" -w || { echo "peer_submit: postfix did not start" >&2; exit 1; }
wait_port "$PF_PORT"

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
