#!/usr/bin/env bash
# `rebound parse` as users run it: a file, a Maildir, an mbox, a .gz, stdin,
# and bad input (empty file, binary junk, unreadable path) that must give one
# error line naming the file, go on, and end with exit status 1.
set -euo pipefail
REBOUND=${1:?usage: parse_cli_test.sh REBOUND}
SEEDS="${REBOUND_SOURCE_DIR:-$(dirname "$0")/../..}/fuzz/seeds/bounce"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# One DSN file: one record per recipient, JSON with the contract fields.
"$REBOUND" parse --format json "$SEEDS/dsn.eml" > "$T/out.json"
/usr/bin/python3 - "$T/out.json" <<'PY' || fail "dsn.eml record"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 1, recs
r = recs[0]
for k in ("file", "recipient", "dsn_action", "status", "reply_code", "diagnostic", "remote_mta", "smtp_command",
          "timestamp", "reporting_mta_kind", "original", "category", "reason", "permanent", "hard_bounce",
          "action", "retry_after", "solution", "rule", "provider"):
    assert k in r, k
assert r["recipient"] == "a@example.net" and r["status"] == "5.1.1" and r["reply_code"] == 550, r
assert r["reason"] == "userunknown" and r["hard_bounce"] is True, r
assert r["smtp_command"] == "RCPT", r
assert r["original"]["message_id"] == "<1@example.com>" and r["original"]["subject"] == "hi", r
PY

# A Maildir (cur/ and new/, tmp/ skipped), gzip, and an mbox with CRLF.
mkdir -p "$T/md/cur" "$T/md/new" "$T/md/tmp"
cp "$SEEDS/qmail.eml" "$T/md/cur/1:2,S"
cp "$SEEDS/arf.eml" "$T/md/new/2"
cp "$SEEDS/dsn.eml" "$T/md/tmp/3"
gzip -c "$SEEDS/exim-base64.eml" > "$T/exim.eml.gz"
"$REBOUND" parse --format json "$T/md" "$T/exim.eml.gz" "$SEEDS/mbox-crlf.mbox" > "$T/out2.json"
/usr/bin/python3 - "$T/out2.json" "$T" <<'PY' || fail "maildir/gz/mbox"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
got = [(r["recipient"], r["reason"]) for r in recs]
want = [("b@example.jp", "mailboxfull"), ("v@isp.example", "feedback"), ("c@example.org", "userunknown"),
        ("d@example.net", "userunknown"), ("boss@example.com", "vacation")]
assert got == want, got
assert not any("/md/tmp/" in r["file"] for r in recs)
PY

# stdin, and --all on a message that is no bounce.
"$REBOUND" parse --format json - < "$SEEDS/qmail.eml" | grep -q '"file":"-"' || fail "stdin"
printf 'From: a@example.com\nTo: b@example.org\nSubject: lunch\n\nnoon?\n' > "$T/plain.eml"
[[ -z $("$REBOUND" parse --format json "$T/plain.eml") ]] || fail "a plain message gave records"
"$REBOUND" parse --all --format json "$T/plain.eml" | grep -q '"result":"not_bounce"' || fail "--all"

# Bad input: each bad file named once on stderr, the good one still read, exit 1.
: > "$T/empty.eml"
head -c 4096 /dev/urandom | tr -d ':' > "$T/junk.bin"
set +e
"$REBOUND" parse --format json "$T/empty.eml" "$T/missing.eml" "$T/junk.bin" "$SEEDS/dsn.eml" > "$T/out3.json" 2> "$T/err.txt"
rc=$?
set -e
[[ $rc == 1 ]] || fail "exit status $rc, expected 1"
[[ $(wc -l < "$T/out3.json") == 1 ]] || fail "the good file after bad ones was not read"
for f in empty.eml missing.eml junk.bin; do
  [[ $(grep -c "$f" "$T/err.txt") == 1 ]] || fail "no single error line for $f: $(cat "$T/err.txt")"
done
# A truncated .gz is read as far as it goes, then named as an error: exit 1.
head -c 300 "$T/exim.eml.gz" > "$T/cut.eml.gz"
set +e
"$REBOUND" parse --format json "$T/cut.eml.gz" > /dev/null 2> "$T/err2.txt"
rc=$?
set -e
[[ $rc == 1 ]] || fail "truncated .gz: exit status $rc, expected 1"
grep -q "cut.eml.gz: read error: truncated gzip data" "$T/err2.txt" || fail "truncated .gz: $(cat "$T/err2.txt")"
echo "parse CLI: ok"
