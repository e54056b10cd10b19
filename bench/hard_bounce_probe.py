#!/usr/bin/env python3
"""Probe the hard-bounce vetoes with the seen replies' own words.

A reply's status x.1.1 or x.1.3 is evidence that the address is bad only
while its text says nothing else. This probe takes every reply of the seen
tables (tests/data/replies) that is labelled as about something other than
the address, strips its code and status, puts "550 5.1.1" in front (x.1.3
reads the same way), and asks `rebound classify` whether that is a hard bounce. A text
that plainly speaks of a login, a header or the client and still suppresses
the address under an address status shows a family of words the vetoes miss.
Some texts carry their meaning only in their own code ("Ok: queued as ...",
"please say MAIL first"); under another code they say nothing, and the
status rightly decides. So this is a probe to read, not a gate.

Usage: bench/hard_bounce_probe.py [path/to/rebound] [--examples N] [--prefix TEXT]
--prefix puts TEXT in front instead of "550 5.1.1 " (for example Postfix's
"550 5.7.1 <jo@example.com>: Recipient address rejected: ", whose restriction
texts say why a recipient was refused, mostly not that it does not exist).
Never reads tests/data/replies-unseen.
"""
import collections
import glob
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDRESS_CATEGORIES = {"recipient_not_found", "invalid_address", "dns_failure"}
# Categories that a status x.1.1 may fairly refine: a mailbox said to be
# unavailable or full is still the recipient's own.
RECIPIENT_CATEGORIES = {"mailbox_full", "recipient_unavailable", "unknown"}
ADDRESS_CODE = "550 5.1.1 "


def strip_code(text):
    text = re.sub(r"^\s*[2-5]\d\d[ -]?", "", text)
    text = re.sub(r"^\s*#?[245]\.\d{1,3}\.\d{1,3}\s*", "", text)
    return text.strip()


def main():
    argv = sys.argv[1:]
    examples = 3
    if "--examples" in argv:
        at = argv.index("--examples")
        examples = int(argv[at + 1])
        del argv[at:at + 2]
    prefix = ADDRESS_CODE
    if "--prefix" in argv:
        at = argv.index("--prefix")
        prefix = argv[at + 1]
        del argv[at:at + 2]
    rebound = argv[0] if argv else os.path.join(REPO, "build/release/src/cli/rebound")
    probes = []  # (label, text)
    for path in sorted(glob.glob(os.path.join(REPO, "tests/data/replies/*.jsonl"))):
        for line in open(path, encoding="utf-8"):
            if not line.strip():
                continue
            row = json.loads(line)
            if row["category"] in ADDRESS_CATEGORIES or row["category"] in RECIPIENT_CATEGORIES:
                continue
            text = strip_code(row["reply"].replace("\n", " "))
            if text:
                probes.append((row["category"], prefix + text))
    feed = "".join(json.dumps({"reply": t}, ensure_ascii=False) + "\n" for _, t in probes)
    out = subprocess.run([rebound, "classify", "--format", "json", "--jsonl", "-i", "-"], input=feed,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == len(probes)
    suppressed = collections.defaultdict(list)
    for (label, text), record in zip(probes, out):
        if json.loads(record)["hard_bounce"]:
            suppressed[label].append(text)
    total = sum(len(v) for v in suppressed.values())
    print(f"{len(probes)} seen texts about something else, after {prefix.strip()!r}: "
          f"{total} would suppress the address")
    for label, texts in sorted(suppressed.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(texts):4d}  labelled {label}")
        for t in texts[:examples]:
            print(f"          {t[:140]}")


if __name__ == "__main__":
    main()
