#!/usr/bin/python3
"""Checks `rebound scan` against an Exim fixture made by make_exim_fixtures.sh.

usage: check_exim_fixture.py REBOUND FIXTURE_DIR

FIXTURE_DIR holds exim.log (a real Exim's main log), exim-scenarios.jsonl
(per recipient, what the receiver was told to do: written from the scenario
table, not from Rebound), exim-receiver-answers.jsonl (every reply the
receiver gave) and, when present, exim-expected.jsonl (the reviewed
`rebound scan --log-format exim --events` output).

Checks, each of which can fail on its own:
- the events equal exim-expected.jsonl in every field the log reader and the
  verdict's outcome decide (the rule base's wording -- solution, action,
  rule, provider, reference -- is left to the classifier's own tests, so a
  reworded solution does not invalidate a log fixture);
- auto-detection picks Exim and gives the same events;
- every event agrees with the receiver: one event per attempt the receiver
  saw, carrying the reply it gave at that attempt; Exim's skipped attempts
  ("retry time not reached") are not events;
- final status and category per recipient, and the category of its
  deferrals, agree with the scenario table;
- the report's totals, delisting, slow-down and suppression actions.
"""
import json
import os
import sys
import tempfile

import scan_check
from scan_check import fail, failures

rebound, fixtures = sys.argv[1], sys.argv[2]
log = os.path.join(fixtures, "exim.log")
scenarios = [json.loads(l) for l in open(os.path.join(fixtures, "exim-scenarios.jsonl"))]
answers = [json.loads(l) for l in open(os.path.join(fixtures, "exim-receiver-answers.jsonl"))]
expected_path = os.path.join(fixtures, "exim-expected.jsonl")
SENDER = "news@sender.rebound.test"
OUTCOME_FIELDS = ("time", "queue_id", "from", "recipient", "domain", "relay_host", "relay_ip", "delay", "status",
                  "dsn", "diagnostic", "message_id", "size", "category", "reason", "permanent", "hard_bounce")


def run(*args):
    return scan_check.run(rebound, *args)


def events_of(*args):
    rc, out, err = run("--events", *args, log)
    if rc != 0:
        fail(f"scan --events {' '.join(args)}: exit {rc}: {err}")
    return [json.loads(l) for l in out.splitlines()]


# 1. The reviewed expected output.
events = events_of("--log-format", "exim")
if not events:
    fail("no events")
if os.path.exists(expected_path):
    expected = [json.loads(l) for l in open(expected_path)]
    if len(expected) != len(events):
        fail(f"{len(events)} events, {expected_path} has {len(expected)}")
    for i, (got, want) in enumerate(zip(events, expected)):
        diff = {k: (got.get(k), want.get(k)) for k in OUTCOME_FIELDS if got.get(k) != want.get(k)}
        if diff:
            fail(f"event {i + 1} ({want.get('recipient')}) differs (got, expected): {diff}")
            break

# 2. Auto-detection.
if events_of() != events:
    fail("detected format gives other events than --log-format exim")
rc, out, err = run("--json", log)
report = json.loads(out) if rc == 0 else {}
formats = [i.get("format") for i in report.get("inputs", [])]
if formats != ["exim"]:
    fail(f"detected {formats}, expected ['exim']")

# 3. Against the receiver: attempts as the receiver saw them.
attempts = {}  # recipient -> [decisive reply of each attempt]
for a in answers:
    per = attempts.setdefault(a["recipient"], [])
    if a["stage"] == "RCPT":
        per.append(a["reply"])
    elif per:
        per[-1] = a["reply"]  # the DATA reply decides when RCPT was accepted
by_rcpt = {}
for e in events:
    by_rcpt.setdefault(e["recipient"], []).append(e)
for rcpt in by_rcpt:
    if rcpt not in attempts:
        fail(f"events for {rcpt}, which the receiver never saw")
for rcpt, replies in attempts.items():
    tried = [e for e in by_rcpt.get(rcpt, []) if e["status"] != "expired"]
    if len(tried) != len(replies):
        fail(f"{rcpt}: {len(tried)} attempt events, the receiver answered {len(replies)} attempts")
        continue
    for n, (e, reply) in enumerate(zip(tried, replies), 1):
        if not e["diagnostic"].endswith(reply):
            fail(f"{rcpt} attempt {n}: diagnostic {e['diagnostic']!r} lacks the reply {reply!r}")
        if (e["status"] == "sent") != reply.startswith("2") or (e["status"] == "deferred") != reply.startswith("4"):
            fail(f"{rcpt} attempt {n}: status {e['status']} for reply {reply!r}")
        if e["relay_ip"] != "127.0.0.1":
            fail(f"{rcpt} attempt {n}: relay_ip {e['relay_ip']}")

# 4. Against the scenario table.
failed_messages = 0
for x in scenarios:
    got = by_rcpt.get(x["recipient"])
    if not got:
        fail(f"{x['recipient']}: no events")
        continue
    last = got[-1]
    failed_messages += last["status"] in ("bounced", "expired")
    if last["status"] != x["status"]:
        fail(f"{x['recipient']}: final status {last['status']}, expected {x['status']}")
    if last["category"] != x["category"]:
        fail(f"{x['recipient']}: final category {last['category']}, expected {x['category']} ({last['diagnostic']})")
    deferrals = [e for e in got if e["status"] == "deferred"]
    if x["deferred_category"]:
        cats = {e["category"] for e in deferrals}
        if cats != {x["deferred_category"]}:
            fail(f"{x['recipient']}: deferrals classified {cats}, expected {x['deferred_category']}")
    elif deferrals:
        fail(f"{x['recipient']}: {len(deferrals)} deferrals, expected none")
    if last["from"] != SENDER:
        fail(f"{x['recipient']}: sender not joined by message id: {last['from']}")
    if last["delay"] is None or last["delay"] < 0:
        fail(f"{x['recipient']}: no delay since arrival: {last['delay']}")
    if last["status"] == "expired":
        if not deferrals or last["diagnostic"] != deferrals[-1]["diagnostic"] or last["relay_ip"] != "127.0.0.1":
            fail(f"{x['recipient']}: expiry without the last error and relay: {last['diagnostic']!r}")
# Exim wrote one bounce message (null sender) per failed message back to the sender.
dsns = by_rcpt.get(SENDER, [])
if len(dsns) != failed_messages or any(e["status"] != "sent" or e["from"] for e in dsns):
    fail(f"{len(dsns)} bounce messages delivered to {SENDER}, expected {failed_messages} from <>")

# 5. The report agrees with the events.
t = report.get("totals", {})
counts = {s: sum(1 for e in events if e["status"] == s) for s in ("sent", "deferred", "bounced", "expired")}
for s, n in counts.items():
    if t.get(s) != n:
        fail(f"totals.{s} = {t.get(s)}, events say {n}")
if t.get("attempts") != len(events):
    fail(f"totals.attempts = {t.get('attempts')}, {len(events)} events")
titles = [a["title"] for a in report.get("actions", [])]
if not any("127.0.0.1 is listed by Spamhaus at 2 receivers" in s for s in titles):
    fail(f"no delisting action: {titles}")
if not any(s.startswith("qq.com answered 3 rate-limit replies") for s in titles):
    fail(f"no slow-down action for qq.com: {titles}")
hard = sorted(x["recipient"] for x in scenarios if x["category"] in ("recipient_not_found", "invalid_address"))
if f"suppress these {len(hard)} addresses (hard bounces)" not in titles:
    fail(f"no suppression action for {len(hard)} addresses: {titles}")
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "suppress.txt")
    run("--suppress-out", path, log)
    got = open(path).read().split() if os.path.exists(path) else []
    if got != hard:
        fail(f"--suppress-out wrote {got}, expected {hard}")

if failures:
    sys.exit(1)
print(f"ok: {len(events)} events, {len(scenarios)} scenario recipients, {len(answers)} receiver answers")
