#!/usr/bin/env bash
# Prints the "realistic mix" of replies used by the classification
# benchmarks, one per line: the seed cases, then every Diagnostic-Code field
# (folded lines joined) of the bounce corpus in ../shared when it is there.
# With the argument "wide", the sourced provider and MTA replies of
# tests/data/replies/ come between the two (the second mix of issue 11).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
/usr/bin/python3 - "$repo" "${1:-}" <<'PY'
import json, os, sys, glob
repo = sys.argv[1]
for line in open(os.path.join(repo, "tests/data/seed-cases.jsonl"), encoding="utf-8"):
    if line.strip():
        print(json.loads(line)["reply"])
if sys.argv[2] == "wide":
    for path in sorted(glob.glob(os.path.join(repo, "tests/data/replies", "*.jsonl"))):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                print(" ".join(json.loads(line)["reply"].split()))
corpus = os.path.join(repo, "..", "shared", "corpus", "sisimai", "maildir", "bsd")
if not os.path.isdir(corpus):
    print("replies_mix: ../shared/corpus absent; seed cases only", file=sys.stderr)
    sys.exit(0)
for path in sorted(glob.glob(os.path.join(corpus, "*.eml"))):
    field = None
    for raw in open(path, "rb").read().decode("utf-8", "replace").splitlines():
        if field is not None and raw[:1] in (" ", "\t"):
            field += " " + raw.strip()
            continue
        if field:
            print(field)
        field = raw.split(":", 1)[1].strip() if raw.lower().startswith("diagnostic-code:") else None
    if field:
        print(field)
PY
