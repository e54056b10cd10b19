#!/usr/bin/env bash
# Regenerates tests/logs/fixtures/postfix.log and postfix-expected.jsonl by
# running Debian's Postfix on loopback: a private instance (its own config
# directory, queue and log file, ports 127.0.0.1:$IN_PORT in and out to
# 127.0.0.1:$RX_PORT) relays one message per scenario recipient to
# receiver.py, which answers each recipient as its scenario says (user
# unknown, mailbox full, greylisting, rate limiting, spam, blocklist, ...).
# Deferred mail expires after $LIFETIME so the log has expiries too.
#
# Needs root (Postfix's daemons drop to the postfix user), postfix, swaks and
# python3-aiosmtpd. Takes about a minute. Usage:
#   tests/logs/make_fixtures.sh [OUT_DIR]    (default: tests/logs/fixtures)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/fixtures}
IN_PORT=${IN_PORT:-24725}
RX_PORT=${RX_PORT:-24726}
LIFETIME=${LIFETIME:-25s}

for tool in postfix swaks /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "make_fixtures: $tool is missing (scripts/install-deps.sh --with-tests)" >&2; exit 77; }
done
[[ $(id -u) == 0 ]] || { echo "make_fixtures: must run as root (Postfix)" >&2; exit 77; }

D=$(mktemp -d /tmp/rebound-postfix.XXXXXX)
chmod 755 "$D"
mkdir -p "$D/etc" "$D/spool" "$D/data"
chown postfix "$D/data"
RX_PID=
cleanup() {
  postfix -c "$D/etc" stop >/dev/null 2>&1 || true
  [[ -n "$RX_PID" ]] && kill "$RX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  [[ -n "${KEEP:-}" ]] || rm -rf "$D"
}
trap cleanup EXIT

cat >"$D/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $D/spool
data_directory = $D/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.rebound.test
mydomain = rebound.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$RX_PORT
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file = $D/maillog
maillog_file_prefixes = $D
queue_run_delay = 3s
minimal_backoff_time = 3s
maximal_backoff_time = 6s
maximal_queue_lifetime = $LIFETIME
bounce_queue_lifetime = $LIFETIME
delay_warning_time = 0
biff = no
EOF
cat >"$D/etc/master.cf" <<EOF
127.0.0.1:$IN_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF

source "$HERE/fixture_common.sh"
start_receiver "$RX_PORT"

# (postfix reports startup errors only on a terminal or to syslog: run it under script(1))
script -qec "postfix -c $D/etc start" /dev/null >"$D/postfix.out" 2>&1 || { cat "$D/postfix.out" >&2; exit 1; }
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$IN_PORT) 2>/dev/null && break; sleep 0.1; done

: >"$D/expected.jsonl"
for s in "${SCENARIOS[@]}"; do
  read -r rcpt status category deferred <<<"$s"
  printf '{"recipient":"%s","status":"%s","category":"%s","deferred_category":%s}\n' "$rcpt" "$status" "$category" \
    "$([[ $deferred == - ]] && echo null || echo "\"$deferred\"")" >>"$D/expected.jsonl"
  swaks --silent 2 --server 127.0.0.1 --port "$IN_PORT" --from news@sender.rebound.test --to "$rcpt" \
    --header "Subject: scenario $rcpt" --body "Test message for $rcpt." >/dev/null
done

# Wait until every message is delivered, bounced or expired (the queue is empty).
for _ in $(seq 120); do
  sleep 1
  if ! find "$D/spool/active" "$D/spool/deferred" "$D/spool/incoming" -type f 2>/dev/null | grep -q .; then break; fi
done
sleep 2
postfix -c "$D/etc" stop >/dev/null 2>&1 || true
sleep 1

mkdir -p "$OUT"
cp "$D/maillog" "$OUT/postfix.log"
cp "$D/expected.jsonl" "$OUT/postfix-expected.jsonl"
cp "$D/answers.jsonl" "$OUT/postfix-receiver-answers.jsonl"
echo "make_fixtures: $(wc -l <"$OUT/postfix.log") log lines, $(wc -l <"$OUT/postfix-expected.jsonl") scenarios -> $OUT" >&2
