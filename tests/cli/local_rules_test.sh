#!/usr/bin/env bash
# Local rules reach every command that classifies: classify, parse and scan
# read --rules (serve reads it too: tests/relay/defaults_test.py). One local
# file both adds a rule and switches a shipped one off with [[disable]].
# Usage: local_rules_test.sh REBOUND_BINARY
set -uo pipefail
REBOUND=$1
SRC=${REBOUND_SOURCE_DIR:?}
passed=0 failed=0
check() {
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/local.toml" <<'TOML'
[[rule]]
id = "local.virtual-table"
category = "greylisted"
match = 'in virtual mailbox table'

[[disable]]
ids = ["facet.recipient-unknown", "postfix.unknown-local-recipient"]
TOML

check "the worked example is a valid rule file" "$REBOUND" rules check "$SRC/examples/local-rules.toml"

reply='550 5.1.1 <a@example.com>: Recipient address rejected: User unknown in virtual mailbox table'
rule=$("$REBOUND" classify --format json --rules "$work/local.toml" "$reply" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rule"])')
check "classify: the local rule decides" [ "$rule" = "local.virtual-table" ]
rule=$("$REBOUND" classify --format json --rules "$work/local.toml" "550 mailbox unknown" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rule"])')
check "classify: a disabled facet row no longer decides ($rule)" [ "$rule" != "facet.recipient-unknown" ]

cat > "$work/bounce.eml" <<'EML'
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"
MIME-Version: 1.0

--b1
Content-Type: text/plain

This is the mail system at host mx.example.net.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; a@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <a@example.com>: Recipient address rejected: User unknown in virtual mailbox table

--b1--
EML
plain=$("$REBOUND" parse --format json "$work/bounce.eml" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["category"])')
local=$("$REBOUND" parse --format json --rules "$work/local.toml" "$work/bounce.eml" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["category"])')
check "parse: shipped rules read an unknown user ($plain)" [ "$plain" = "recipient_not_found" ]
check "parse: --rules reaches the bounce reader ($local)" [ "$local" = "greylisted" ]

grep 'status=bounced' "$SRC/tests/logs/fixtures/postfix.log" | head -1 > "$work/mail.log"
plain=$("$REBOUND" scan --events "$work/mail.log" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["category"])')
local=$("$REBOUND" scan --events --rules "$work/local.toml" "$work/mail.log" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["category"])')
check "scan: shipped rules read an unknown user ($plain)" [ "$plain" = "recipient_not_found" ]
check "scan: --rules reaches the log reader ($local)" [ "$local" = "greylisted" ]

echo "local rules: $passed passed, $failed failed"
[ $failed -eq 0 ]
