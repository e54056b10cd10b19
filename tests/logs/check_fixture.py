#!/usr/bin/python3
"""Checks `rebound scan` against a Postfix fixture made by make_fixtures.sh.

usage: check_fixture.py REBOUND FIXTURE_DIR

The oracle is postfix-expected.jsonl, written from the scenario table (what
the receiver was told to answer each recipient), not from Rebound's output.
"""
import json
import os
import sys
import tempfile

import scan_check
from scan_check import fail, failures

rebound, fixtures = sys.argv[1], sys.argv[2]
log = os.path.join(fixtures, "postfix.log")
expected = [json.loads(l) for l in open(os.path.join(fixtures, "postfix-expected.jsonl"))]


def run(*args):
    return scan_check.run(rebound, *args)


# Every attempt, per recipient, in log order.
rc, out, err = run("--events", log)
if rc != 0:
    fail(f"--events exit {rc}: {err}")
events = [json.loads(l) for l in out.splitlines()]
by_rcpt = {}
for e in events:
    by_rcpt.setdefault(e["recipient"], []).append(e)
    for field in ("time", "queue_id", "from", "recipient", "domain", "relay_host", "relay_ip", "delay", "status",
                  "diagnostic", "category", "reason", "permanent", "hard_bounce", "action", "solution", "rule"):
        if field not in e:
            fail(f"event without {field}: {e}")
            break

for x in expected:
    got = by_rcpt.get(x["recipient"])
    if not got:
        fail(f"{x['recipient']}: no events")
        continue
    last = got[-1]
    if last["status"] != x["status"]:
        fail(f"{x['recipient']}: final status {last['status']}, expected {x['status']}")
    if last["category"] != x["category"]:
        fail(f"{x['recipient']}: final category {last['category']}, expected {x['category']} ({last['diagnostic']})")
    if x["deferred_category"]:
        cats = {e["category"] for e in got if e["status"] == "deferred"}
        if cats != {x["deferred_category"]}:
            fail(f"{x['recipient']}: deferrals classified {cats}, expected {x['deferred_category']}")
    if last["from"] != "news@sender.rebound.test":
        fail(f"{x['recipient']}: sender not joined by queue id: {last['from']}")
    if last["status"] == "expired" and not last["diagnostic"]:
        fail(f"{x['recipient']}: expiry without the last error")

# The report agrees with the events.
rc, out, err = run("--json", log)
report = json.loads(out)
t = report["totals"]
counts = {s: sum(1 for e in events if e["status"] == s) for s in ("sent", "deferred", "bounced", "expired")}
for s, n in counts.items():
    if t[s] != n:
        fail(f"totals.{s} = {t[s]}, events say {n}")
if t["attempts"] != len(events):
    fail(f"totals.attempts = {t['attempts']}, {len(events)} events")
titles = [a["title"] for a in report["actions"]]
if not any("127.0.0.1 is listed by Spamhaus at 2 receivers" in s for s in titles):
    fail(f"no delisting action: {titles}")
if not any(s.startswith("qq.com answered 3 rate-limit replies") for s in titles):
    fail(f"no slow-down action for qq.com: {titles}")
hard = sorted(x["recipient"] for x in expected if x["category"] in ("recipient_not_found", "invalid_address"))
if f"suppress these {len(hard)} addresses (hard bounces)" not in titles:
    fail(f"no suppression action for {len(hard)} addresses: {titles}")

# --suppress-out: exactly the hard bounces; the terminal report names them too.
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "suppress.txt")
    rc, out, err = run("--format", "text", "--suppress-out", path, log)
    got = open(path).read().split()
    if got != hard:
        fail(f"--suppress-out wrote {got}, expected {hard}")
    for word in ("Recommended actions", "recipient_not_found", "bounce rate", "qq.com"):
        if word not in out:
            fail(f"terminal report lacks {word!r}")

if failures:
    sys.exit(1)
print(f"ok: {len(events)} events, {len(expected)} scenarios")
