#!/usr/bin/env bash
# Dumps every Reply and Verdict field, Explain and ExplainFacets (see
# verdict_dump.cc) for the seed cases, the sourced replies of
# tests/data/replies, both bench mixes, and each of them wrapped in a DSN
# field and a Postfix "said:" line, cut short and upper-cased. Run it before
# and after a change that must not move any verdict and diff the two:
#   BUILD=build bash bench/verdict_check.sh > before.txt
# The held-out split (tests/data/replies-unseen) is left out on purpose.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build/release}
ninja -C "$build" verdict_dump >/dev/null
{ bash "$repo/bench/replies_mix.sh"; bash "$repo/bench/replies_mix.sh" wide; } |
/usr/bin/python3 -c '
import glob, json, os, sys
repo = sys.argv[1]
replies = [l.rstrip("\n") for l in sys.stdin if l.strip()]
for path in [os.path.join(repo, "tests/data/seed-cases.jsonl")] + sorted(glob.glob(os.path.join(repo, "tests/data/replies", "*.jsonl"))):
    for line in open(path, encoding="utf-8"):
        if line.strip():
            replies.append(json.loads(line)["reply"])
seen = set()
for r in replies:
    for variant in (r, "Diagnostic-Code: smtp; " + r, "host mx.example.com[192.0.2.1] said: " + r + " (in reply to RCPT TO command)",
                    r[: len(r) * 2 // 3], r.upper()):
        if variant not in seen:
            seen.add(variant)
            print(json.dumps(variant))
' "$repo" | "$build/bench/verdict_dump"
