#!/usr/bin/env bash
# Regenerates tests/logs/fixtures/exim.log (and its oracle files) by running
# Debian's Exim on loopback: a private instance (its own config file, spool
# and log directory; SMTP in on 127.0.0.1:$IN_PORT) routes every domain to
# receiver.py on 127.0.0.1:$RX_PORT, which answers each recipient as its
# scenario says (user unknown, mailbox full, greylisting, rate limiting,
# spam, blocklist, ...). The retry rule gives up after $CUTOFF, so the log
# has deferrals (==), deliveries (=> and ->), bounces (**) and retry-timeout
# failures within the run.
#
# The exim binary: $EXIM, else /opt/rebound-test/exim4/usr/sbin/exim4 (where
# scripts/install-deps.sh --with-tests unpacks exim4-daemon-light, since the
# exim4 packages cannot be installed next to postfix), else exim4 on PATH.
# Needs root (Exim is started as root and runs as the Debian-exim user it was
# built for), swaks and python3-aiosmtpd. Takes about 40 s. Usage:
#   tests/logs/make_exim_fixtures.sh [OUT_DIR [REBOUND]]
# OUT_DIR defaults to tests/logs/fixtures. With REBOUND (the rebound binary)
# it also writes exim-expected.jsonl, `rebound scan --log-format exim
# --events` of the new log; check that file with check_exim_fixture.py
# before committing it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/fixtures}
REBOUND=${2:-}
CUTOFF=${CUTOFF:-20s}

EXIM=${EXIM:-}
if [[ -z "$EXIM" ]]; then
  if [[ -x /opt/rebound-test/exim4/usr/sbin/exim4 ]]; then EXIM=/opt/rebound-test/exim4/usr/sbin/exim4
  else EXIM=$(command -v exim4 || true); fi
fi
[[ -n "$EXIM" && -x "$EXIM" ]] || { echo "make_exim_fixtures: no exim4 binary (scripts/install-deps.sh --with-tests)" >&2; exit 77; }
for tool in swaks /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "make_exim_fixtures: $tool is missing (scripts/install-deps.sh --with-tests)" >&2; exit 77; }
done
[[ $(id -u) == 0 ]] || { echo "make_exim_fixtures: must run as root (Exim)" >&2; exit 77; }
id Debian-exim >/dev/null 2>&1 || { echo "make_exim_fixtures: no Debian-exim user (scripts/install-deps.sh --with-tests)" >&2; exit 77; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
IN_PORT=${IN_PORT:-$(free_port)}
RX_PORT=${RX_PORT:-$(free_port)}
[[ $IN_PORT != "$RX_PORT" ]] || RX_PORT=$(free_port)

D=$(mktemp -d /tmp/rebound-exim.XXXXXX)
chmod 755 "$D"
mkdir -p "$D/spool" "$D/log"
chown Debian-exim:Debian-exim "$D/spool" "$D/log"
RX_PID=
cleanup() {
  [[ -s "$D/exim.pid" ]] && kill "$(cat "$D/exim.pid")" 2>/dev/null || true
  [[ -n "$RX_PID" ]] && kill "$RX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  [[ -n "${KEEP:-}" ]] || rm -rf "$D"
}
trap cleanup EXIT

# Exim drops root for an alternate (-C) configuration that is not listed in
# its compiled-in trusted_configs file, and says so in the log on every
# re-exec ("exim user lost privilege for using -C option"). Nothing here
# needs root after startup (high ports, spool owned by Debian-exim), so those
# lines are left in the fixture: real lines a reader must skip.
cat >"$D/exim.conf" <<EOF
exim_path = $EXIM
keep_environment =
primary_hostname = mta.rebound.test
qualify_domain = sender.rebound.test
timezone = UTC
spool_directory = $D/spool
log_file_path = $D/log/%slog
pid_file_path = $D/exim.pid
daemon_smtp_ports = $IN_PORT
local_interfaces = <; 127.0.0.1
disable_ipv6 = true
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
delay_warning = 0s
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  accept hosts = 127.0.0.0/8
  deny

begin routers
to_receiver:
  driver = manualroute
  domains = *
  route_list = * 127.0.0.1 byname
  self = send
  transport = to_receiver_smtp
  no_more

begin transports
to_receiver_smtp:
  driver = smtp
  port = $RX_PORT
  allow_localhost
  hosts_avoid_tls = *
  command_timeout = 10s

begin retry
*  *  F,$CUTOFF,3s
EOF

source "$HERE/fixture_common.sh"
start_receiver "$RX_PORT"

"$EXIM" -C "$D/exim.conf" -bd -q2s
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$IN_PORT) 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/127.0.0.1/$IN_PORT) 2>/dev/null || { cat "$D/log/"* >&2; exit 1; }

# One message to two recipients: Exim logs the second as "->".
SCENARIOS+=("ok5@example.com,ok6@example.com sent delivered -")
: >"$D/scenarios.jsonl"
for s in "${SCENARIOS[@]}"; do
  read -r rcpts status category deferred <<<"$s"
  for rcpt in ${rcpts//,/ }; do
    printf '{"recipient":"%s","status":"%s","category":"%s","deferred_category":%s}\n' "$rcpt" "$status" "$category" \
      "$([[ $deferred == - ]] && echo null || echo "\"$deferred\"")" >>"$D/scenarios.jsonl"
  done
  swaks --silent 2 --server 127.0.0.1 --port "$IN_PORT" --from news@sender.rebound.test --to "$rcpts" \
    --header "Subject: scenario $rcpts" --body "Test message for $rcpts." >/dev/null
done

# Wait until every message (and every bounce Exim wrote back to the sender)
# is delivered or failed: the queue is empty.
for _ in $(seq 120); do
  sleep 1
  [[ $("$EXIM" -C "$D/exim.conf" -bpc 2>/dev/null) == 0 ]] && break
done
sleep 1
kill "$(cat "$D/exim.pid")"
sleep 1
[[ $("$EXIM" -C "$D/exim.conf" -bpc 2>/dev/null) == 0 ]] || { echo "make_exim_fixtures: the queue did not empty" >&2; "$EXIM" -C "$D/exim.conf" -bp >&2; exit 1; }

mkdir -p "$OUT"
cp "$D/log/mainlog" "$OUT/exim.log"
cp "$D/scenarios.jsonl" "$OUT/exim-scenarios.jsonl"
cp "$D/answers.jsonl" "$OUT/exim-receiver-answers.jsonl"
chmod 644 "$OUT/exim.log"  # Exim writes its log 0640
if [[ -n "$REBOUND" ]]; then
  "$REBOUND" scan --no-progress --log-format exim --events "$OUT/exim.log" >"$OUT/exim-expected.jsonl"
fi
echo "make_exim_fixtures: $(wc -l <"$OUT/exim.log") log lines, $(wc -l <"$OUT/exim-scenarios.jsonl") scenario recipients -> $OUT" >&2
