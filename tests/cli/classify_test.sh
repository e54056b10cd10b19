#!/usr/bin/env bash
# The classify CLI as scripts use it: arguments, stdin, JSON Lines
# pass-through, bad input, local rules, rules check, exit statuses.
set -uo pipefail
REBOUND=${1:?usage: classify_test.sh path/to/rebound}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
json_field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

out=$("$REBOUND" classify --format json "550 5.1.1 user unknown")
check "argument classifies" [ "$(json_field category <<<"$out")" = recipient_not_found ]
check "hard bounce flagged" [ "$(json_field hard_bounce <<<"$out")" = True ]

out=$(printf '421 RP-001\n\n550 Ip frequency limited\r\n' | "$REBOUND" classify --format json)
check "stdin: one verdict per non-empty line" [ "$(wc -l <<<"$out")" -eq 2 ]
check "stdin: rate limit sent as 550" [ "$(sed -n 2p <<<"$out" | json_field category)" = ip_rate_limited ]

printf '%s\n' '{"id": 7, "reply": "550-5.1.1 first\n550 5.1.1 user unknown", "category": "stale"}' \
  '{"id": 8' '[1,2]' '{"id": 9}' '{"id": 10, "reply": "452 4.2.2 Mailbox full"}' > "$tmp/in.jsonl"
"$REBOUND" classify --jsonl -i "$tmp/in.jsonl" > "$tmp/out.jsonl" 2> "$tmp/err.txt"
rc=$?
check "jsonl: bad lines make exit 1" [ $rc -eq 1 ]
check "jsonl: good lines written" [ "$(wc -l < "$tmp/out.jsonl")" -eq 2 ]
check "jsonl: other fields pass through" [ "$(head -1 "$tmp/out.jsonl" | json_field id)" = 7 ]
check "jsonl: verdict replaces stale field" [ "$(head -1 "$tmp/out.jsonl" | json_field category)" = recipient_not_found ]
check "jsonl: error names the line" grep -q "in.jsonl:2: malformed JSON" "$tmp/err.txt"
check "jsonl: error for non-object" grep -q "in.jsonl:3: not a JSON object" "$tmp/err.txt"
check "jsonl: error for missing reply" grep -q 'in.jsonl:4: no string field "reply"' "$tmp/err.txt"

printf '550 5.1.1 bad\0byte \xff here\n' > "$tmp/junk.txt"
out=$("$REBOUND" classify --format json -i "$tmp/junk.txt")
check "NUL and invalid UTF-8 give valid JSON" /usr/bin/python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out"

head -c 10485760 /dev/zero | tr '\0' 'a' > "$tmp/huge.txt"
out=$("$REBOUND" classify --format json -i "$tmp/huge.txt" | json_field category)
check "10 MB line classified" [ "$out" = unknown ]

# Input past the reader's 1 MiB blocks, lines repeating (the memo) and not,
# CRLF and blank lines, a last line without its newline: the same records
# with and without the memo, from -i and from stdin, one per reply.
/usr/bin/python3 - "$tmp/many.txt" <<'PY'
import sys
replies = ["550 5.1.1 <u%d@example.com>: Recipient address rejected: User unknown", "421 4.7.0 Try again later",
           "452 4.2.2 Mailbox full\r", "", "554 5.7.1 Service unavailable; Client host [192.0.2.%d] blocked"]
with open(sys.argv[1], "w", newline="") as f:
    lines = [(r % (i % 3000)) if "%d" in r else r for i in range(40000) for r in [replies[i % len(replies)]]]
    f.write("\n".join(lines) + "\n550 last line, no newline")
PY
"$REBOUND" classify --format json -i "$tmp/many.txt" > "$tmp/memo.jsonl"
"$REBOUND" classify --format json --no-memo -i "$tmp/many.txt" > "$tmp/nomemo.jsonl"
"$REBOUND" classify --format json < "$tmp/many.txt" > "$tmp/stdin.jsonl"
check "large input: one record per reply" [ "$(wc -l < "$tmp/memo.jsonl")" -eq 32001 ]
check "large input: the memo changes no byte" cmp -s "$tmp/memo.jsonl" "$tmp/nomemo.jsonl"
check "large input: stdin reads as -i does" cmp -s "$tmp/memo.jsonl" "$tmp/stdin.jsonl"
check "large input: the last line is read" grep -q '"reply":"550 last line, no newline"' "$tmp/memo.jsonl"
check "large input: CR dropped" [ "$(grep -c '"reply":"452 4.2.2 Mailbox full"' "$tmp/memo.jsonl")" -eq 8000 ]

: > "$tmp/empty.txt"
"$REBOUND" classify -i "$tmp/empty.txt" > "$tmp/o" ; rc=$?
check "empty file: exit 0, no output" [ $rc -eq 0 -a ! -s "$tmp/o" ]

"$REBOUND" classify -i "$tmp/does-not-exist" 2> "$tmp/err.txt"; rc=$?
check "missing input: exit 1 with message" [ $rc -eq 1 ]
check "missing input: message names it" grep -q "does-not-exist" "$tmp/err.txt"

"$REBOUND" classify -i "$tmp" 2> "$tmp/err.txt"; rc=$?
check "unreadable input (a directory): exit 1" [ $rc -eq 1 ]
check "unreadable input: the error is said" grep -q "read failed" "$tmp/err.txt"

# One 24 MB line arriving through a pipe in many reads, then a short one: both read whole.
/usr/bin/python3 -c 'import sys; sys.stdout.write("550 " + "x" * 24000000 + "\n421 after the long line\n")' |
  "$REBOUND" classify --format json > "$tmp/long.jsonl"
check "long piped line: both replies" [ "$(wc -l < "$tmp/long.jsonl")" -eq 2 ]
check "long piped line: the next line intact" grep -q '"reply":"421 after the long line"' "$tmp/long.jsonl"

cat > "$tmp/local.toml" <<'TOML'
[[rule]]
id = "local.our-gateway"
category = "ip_blacklisted"
match = 'gateway says no'
TOML
out=$("$REBOUND" classify --format json --rules "$tmp/local.toml" "554 gateway says no")
check "--rules adds a local rule" [ "$(json_field rule <<<"$out")" = local.our-gateway ]

cat > "$tmp/bad.toml" <<'TOML'
[[rule]]
id = "local.bad"
category = "not_a_category"
match = '(oops'
TOML
"$REBOUND" rules check "$tmp/bad.toml" 2> "$tmp/err.txt"; rc=$?
check "rules check: exit 3 on bad rules" [ $rc -eq 3 ]
check "rules check: file:line in errors" grep -q "bad.toml:1: rule local.bad: unknown category" "$tmp/err.txt"
"$REBOUND" rules check "$tmp/local.toml" > /dev/null; rc=$?
check "rules check: good file passes" [ $rc -eq 0 ]
"$REBOUND" rules check --shipped "$REBOUND_SOURCE_DIR/rules" > /dev/null; rc=$?
check "rules check: the repository's rule base is valid on its own" [ $rc -eq 0 ]
"$REBOUND" classify --rules "$tmp/bad.toml" "550 x" 2>/dev/null; rc=$?
check "classify with invalid local rules: exit 3" [ $rc -eq 3 ]

out=$("$REBOUND" classify --format json --lang zh "552 mailbox is full" | json_field solution)
check "--lang zh gives Chinese solutions" grep -q "邮箱" <<<"$out"

out=$("$REBOUND" classify --format text --explain "550 5.1.1 user unknown")
check "--explain shows the deciding rule" grep -q "matching rules, in evaluation order" <<<"$out"
check "--explain says why it is a hard bounce" grep -q "hard bounce: hard_bounce (evidence " <<<"$out"
out=$("$REBOUND" classify --format text --explain "550 Requested action not taken: mailbox unavailable")
check "--explain says why it is not one" grep -q "hard bounce: no_evidence (evidence none, veto none)" <<<"$out"

out=$("$REBOUND" classify --format text --explain "550 Empfänger unbekannt")
check "--explain shows the facets and the row they select" grep -q "facets:   who=recipient what=unknown -> facet.recipient-unknown" <<<"$out"

# Local rules: a [[disable]] switches a shipped rule off; local words join a facet.
rules_dir=$(mktemp -d)
cat > "$rules_dir/local.toml" <<'TOML'
[[disable]]
ids = ["qq.ip-frequency"]

[[what]]
name = "unknown"
words = ["ukjent"]
TOML
out=$("$REBOUND" classify --format json --rules "$rules_dir/local.toml" "550 Ip frequency limited" | json_field rule)
check "[[disable]] switches off a shipped rule" [ "$out" != "qq.ip-frequency" ]
out=$("$REBOUND" classify --format json --rules "$rules_dir/local.toml" "550 mailbox ukjent" | json_field category)
check "local facet words are read" [ "$out" = "recipient_not_found" ]
rm -rf "$rules_dir"

"$REBOUND" classify --bogus-flag 2>/dev/null; rc=$?
check "usage error: exit 2" [ $rc -eq 2 ]
check "categories lists the taxonomy" [ "$("$REBOUND" categories --format json | wc -l)" -eq 30 ]
check "rules list is non-empty" [ "$("$REBOUND" rules list --format json | wc -l)" -gt 100 ]
check "--help teaches with examples" grep -q "Examples" <<<"$("$REBOUND" classify --help)"

echo "classify CLI: $passed passed, $failed failed"
[ $failed -eq 0 ]
