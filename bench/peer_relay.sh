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
# DKIM=1 signs on both sides, each message with an RSA-2048 and an Ed25519
# signature (relaxed/relaxed, the same header list, From oversigned) made
# with the same keys: Rebound with the keys `rebound domain add` made (the
# domain verified through a dnsmasq serving its records), Postfix with two
# OpenDKIM milters (Debian's opendkim signs with one algorithm per instance)
# on loopback inet sockets. Before the clock starts, one message from each
# side goes to a capturing sink and both its signatures are verified
# (Python's dkim package, keys from the published records); the run stops if
# they do not. Then the signing cost per message, from bench_dkim_sign (built
# with -DREBOUND_BENCH=ON; BENCH_DKIM_SIGN=path, else looked for in the
# rebound binary's build tree).
#
# usage: bench/peer_relay.sh [path/to/rebound]   (root, for Postfix)
# env:   MESSAGES=5000 SIZE=5120 SESSIONS=10 CONCURRENCY=20 DKIM=0
set -euo pipefail
source "$(dirname "$0")/lib_postfix.sh"

REBOUND=${1:-$(dirname "$0")/../build/release/src/cli/rebound}
REBOUND=$(readlink -f "$REBOUND")
MESSAGES=${MESSAGES:-5000}
SIZE=${SIZE:-5120}
SESSIONS=${SESSIONS:-10}
CONCURRENCY=${CONCURRENCY:-20}
DKIM=${DKIM:-0}
SMTP_SOURCE=/usr/sbin/smtp-source
SMTP_SINK=/usr/sbin/smtp-sink

[[ -x "$REBOUND" ]] || { echo "peer_relay: no rebound binary at $REBOUND" >&2; exit 2; }
[[ -x "$SMTP_SOURCE" && -x "$SMTP_SINK" ]] || { echo "peer_relay: postfix (smtp-source/smtp-sink) is not installed" >&2; exit 77; }
[[ $(id -u) == 0 ]] || { echo "peer_relay: Postfix needs root to start" >&2; exit 77; }
if [[ $DKIM == 1 ]]; then
  for tool in /usr/sbin/opendkim /usr/sbin/dnsmasq; do
    [[ -x $tool ]] || { echo "peer_relay: DKIM=1 needs $tool (packages opendkim, dnsmasq-base)" >&2; exit 77; }
  done
  /usr/bin/python3 -c 'import dkim, nacl' 2>/dev/null || { echo "peer_relay: DKIM=1 needs python3-dkim and python3-nacl" >&2; exit 77; }
fi

WORK=$(mktemp -d /tmp/rebound-peer-relay-XXXXXX)
chmod 755 "$WORK"
# OpenDKIM refuses configuration and key files under a directory others may
# write to (/tmp), so its files live under /run.
ODK=""
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_private_postfix "$WORK/postfix"
  rm -rf "$WORK"
  [[ -n $ODK ]] && rm -rf "$ODK"
  return 0
}
trap cleanup EXIT

now() { date +%s.%N; }
submit() { "$SMTP_SOURCE" -d -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f bench@example.com -t rcpt@example.net -M bench.test "127.0.0.1:$1"; }

# --- the sink both relay to --------------------------------------------------
SINK_PORT=$(free_port)
"$SMTP_SINK" -u nobody "127.0.0.1:$SINK_PORT" 256 &
PIDS+=($!)
wait_port "$SINK_PORT"

# With DKIM, one message from each side first goes to its capturing sink
# (recipient domain check.test), to be verified before the run.
CHECK_ROUTE=""
if [[ $DKIM == 1 ]]; then
  install -d -m 777 "$WORK/capture"
  RB_CAPTURE_PORT=$(free_port)
  PF_CAPTURE_PORT=$(free_port)
  "$SMTP_SINK" -u nobody -D "$WORK/capture/rebound.txt" "127.0.0.1:$RB_CAPTURE_PORT" 8 &
  PIDS+=($!)
  "$SMTP_SINK" -u nobody -D "$WORK/capture/postfix.txt" "127.0.0.1:$PF_CAPTURE_PORT" 8 &
  PIDS+=($!)
  wait_port "$RB_CAPTURE_PORT"
  wait_port "$PF_CAPTURE_PORT"
  CHECK_ROUTE=",check.test=127.0.0.1:$RB_CAPTURE_PORT"
  DNS_PORT=$(free_port)
fi

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
routes = "example.net=127.0.0.1:$SINK_PORT$CHECK_ROUTE"
max_connections_per_destination = $CONCURRENCY
max_messages_per_connection = 100000
poll_interval_ms = 50
tls = "off"
EOF
if [[ $DKIM == 1 ]]; then
  printf '\n[dns]\nservers = "127.0.0.1:%s"\n' "$DNS_PORT" >>"$WORK/rebound.toml"
fi
echo bench-pw | "$REBOUND" account add bench --domain example.com --config "$WORK/rebound.toml" >/dev/null

if [[ $DKIM == 1 ]]; then
  # The sending domain, its keys and records, as an operator sets it up.
  "$REBOUND" domain add example.com --account bench --config "$WORK/rebound.toml" --format json >"$WORK/domain.json"
  mapfile -t TXT_ARGS < <(/usr/bin/python3 - "$WORK/domain.json" <<'EOF'
import json, sys
doc = json.loads(open(sys.argv[1]).readline())
for r in doc["records"]:
    if r["type"] == "TXT":
        print("--txt-record=%s,%s" % (r["name"].rstrip("."), r["value"]))
EOF
)
  /usr/sbin/dnsmasq --keep-in-foreground --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces \
    --no-resolv --no-hosts "${TXT_ARGS[@]}" 2>/dev/null &
  PIDS+=($!)
  sleep 0.5
  "$REBOUND" domain check example.com --config "$WORK/rebound.toml" --format json >"$WORK/domain-check.json" || true
  read -r RSA_SELECTOR ED_SELECTOR < <(/usr/bin/python3 - "$WORK/domain.json" <<'EOF'
import json, sys
doc = json.loads(open(sys.argv[1]).readline())
selectors = {}
for r in doc["records"]:
    if r["type"] == "TXT" and "._domainkey." in r["name"]:
        kind = r["value"].split("k=")[1].split(";")[0].strip()
        selectors[kind] = r["name"].split("._domainkey.")[0]
print(selectors["rsa"], selectors["ed25519"])
EOF
)
  # The same keys for OpenDKIM, readable by its user only.
  ODK=$(mktemp -d /run/rebound-peer-relay-opendkim-XXXXXX)
  chmod 755 "$ODK"
  install -d -o opendkim -m 700 "$ODK/keys"
  install -o opendkim -m 600 "$(ls "$WORK"/rebound-data/dkim/example.com/"$RSA_SELECTOR".*.pem)" "$ODK/keys/rsa.pem"
  install -o opendkim -m 600 "$(ls "$WORK"/rebound-data/dkim/example.com/"$ED_SELECTOR".*.pem)" "$ODK/keys/ed25519.pem"
fi

"$REBOUND" serve --config "$WORK/rebound.toml" 2>"$WORK/rebound.stderr" &
PIDS+=($!)
wait_port "$RB_PORT"

# --- Postfix --------------------------------------------------------------------
PF_PORT=$(free_port)
PF_EXTRA=""
if [[ $DKIM == 1 ]]; then
  # opendkim_milter NAME ALGORITHM SELECTOR KEY PORT: one OpenDKIM signing milter.
  opendkim_milter() {
    cat >"$ODK/$1.conf" <<EOF
Mode                    s
Socket                  inet:$5@127.0.0.1
Domain                  example.com
Selector                $3
KeyFile                 $4
SignatureAlgorithm      $2
Canonicalization        relaxed/relaxed
SignHeaders             From,To,Subject,Date,Message-ID,MIME-Version,Content-Type,Content-Transfer-Encoding,List-Unsubscribe,List-Unsubscribe-Post
OversignHeaders         From
InternalHosts           127.0.0.1
UserID                  opendkim
PidFile                 $ODK/$1.pid
Syslog                  no
EOF
    /usr/sbin/opendkim -f -x "$ODK/$1.conf" &
    PIDS+=($!)
    wait_port "$5"
  }
  RSA_MILTER=$(free_port)
  ED_MILTER=$(free_port)
  opendkim_milter rsa rsa-sha256 "$RSA_SELECTOR" "$ODK/keys/rsa.pem" "$RSA_MILTER"
  opendkim_milter ed25519 ed25519-sha256 "$ED_SELECTOR" "$ODK/keys/ed25519.pem" "$ED_MILTER"
  PF_EXTRA="smtpd_milters = inet:127.0.0.1:$RSA_MILTER, inet:127.0.0.1:$ED_MILTER
milter_default_action = tempfail
transport_maps = inline:{ check.test=smtp:[127.0.0.1]:$PF_CAPTURE_PORT }"
fi
start_private_postfix "$WORK/postfix" "$PF_PORT" "relayhost = [127.0.0.1]:$SINK_PORT
smtp_tls_security_level = none
default_destination_concurrency_limit = $CONCURRENCY
$PF_EXTRA" || exit 1

DB="$WORK/rebound-data/queue.db"
FIRST_ID=0  # messages below this id (the DKIM check) are not part of the run
rb_left() {
  /usr/bin/python3 - "$DB" "$MESSAGES" "$FIRST_ID" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
n = c.execute("select count(*) from recipients where state = 'delivered' and message_id >= ?",
              (int(sys.argv[3]),)).fetchone()[0]
print(int(sys.argv[2]) - n)
EOF
}
Q="$WORK/postfix/queue"
pf_left() { find "$Q/incoming" "$Q/active" "$Q/deferred" "$Q/maildrop" "$Q/hold" -type f 2>/dev/null | wc -l; }

if [[ $DKIM == 1 ]]; then
  # check_signed PORT CAPTURE NAME: one message through that MTA, its signatures verified.
  check_signed() {
    "$SMTP_SOURCE" -d -s 1 -m 1 -l "$SIZE" -f bench@example.com -t check@check.test -M bench.test "127.0.0.1:$1"
    for _ in $(seq 300); do [[ -s $2 ]] && break; sleep 0.1; done
    sleep 0.5
    /usr/bin/python3 - "$2" "$WORK/domain.json" "$3" <<'EOF'
import json, sys, dkim
text = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
# smtp-sink's dump starts with its own X- lines and Received: keep from the first signature.
start = text.find(b"DKIM-Signature:")
message = text[start:].replace(b"\n", b"\r\n") if start >= 0 else b""
records = {r["name"].rstrip(".") + ".": r["value"].encode()
           for r in json.loads(open(sys.argv[2]).readline())["records"] if r["type"] == "TXT"}
def dnsfunc(name, timeout=5):
    return records.get(name.decode() if isinstance(name, bytes) else name)
header = message.split(b"\r\n\r\n")[0]
count = header.count(b"\r\nDKIM-Signature:") + (1 if header.startswith(b"DKIM-Signature:") else 0)
verified = [bool(dkim.DKIM(message).verify(idx=i, dnsfunc=dnsfunc)) for i in range(count)]
algorithms = sorted(f.split(b"a=", 1)[1].split(b";", 1)[0].decode()
                    for f in header.split(b"\r\nDKIM-Signature:") if b"a=" in f)
print("peer_relay: %s signs with %s, verified %s" % (sys.argv[3], algorithms, verified))
sys.exit(0 if count == 2 and all(verified) else 1)
EOF
  }
  check_signed "$RB_PORT" "$WORK/capture/rebound.txt" rebound || { echo "peer_relay: Rebound's signatures do not verify" >&2; exit 1; }
  check_signed "$PF_PORT" "$WORK/capture/postfix.txt" "postfix+opendkim" || { echo "peer_relay: Postfix's signatures do not verify" >&2; exit 1; }
  while [[ $(pf_left) -gt 0 ]]; do sleep 0.1; done
  FIRST_ID=$(/usr/bin/python3 -c 'import sqlite3, sys; print((sqlite3.connect(sys.argv[1], timeout=30).execute("select max(id) from messages").fetchone()[0] or 0) + 1)' "$DB")
fi

echo "peer_relay: $MESSAGES messages of $SIZE bytes, $SESSIONS submitting connections, $CONCURRENCY delivery connections$([[ $DKIM == 1 ]] && echo ', each signed with RSA-2048 and Ed25519' || true)"

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

read -r RB_DONE P50 P99 < <(/usr/bin/python3 - "$DB" "$FIRST_ID" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
rows = c.execute("""select e.time - m.queued_at from events e join messages m on m.id = e.message_id
                    where e.decision = 'delivered' and m.id >= ?""", (int(sys.argv[2]),)).fetchall()
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
if [[ $DKIM != 1 ]]; then
  printf "ratio rebound/postfix: %.2fx (goal >= 1.5x)\n" "$(echo "$RB_RATE / $PF_RATE" | bc -l)"
  exit 0
fi
printf "ratio rebound/postfix, both signing: %.2fx (goal >= 2x)\n" "$(echo "$RB_RATE / $PF_RATE" | bc -l)"
BENCH_SIGN=${BENCH_DKIM_SIGN:-$(dirname "$REBOUND")/../dkim/bench_dkim_sign}
if [[ -x $BENCH_SIGN ]]; then
  # CPU per message of the signer alone (both signatures over a 5 KB message),
  # and that times MESSAGES against Rebound's wall-clock run.
  US=$("$BENCH_SIGN" --benchmark_filter=BM_SignBoth --benchmark_format=json 2>/dev/null |
       /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["benchmarks"][0]["cpu_time"])')
  printf "signing cost: %.0f us CPU per message (RSA-2048 + Ed25519); x %d messages = %.2f s, %.0f%% of Rebound's %.2f s run\n" \
    "$US" "$MESSAGES" "$(echo "$US * $MESSAGES / 1000000" | bc -l)" "$(echo "$US * $MESSAGES / 10000 / $RB_SECS" | bc -l)" "$RB_SECS"
else
  echo "signing cost: not measured (build bench_dkim_sign with -DREBOUND_BENCH=ON, or set BENCH_DKIM_SIGN)"
fi
