#!/usr/bin/python3
"""One output convention for every command that lists or reports: --format
text, json or csv, text by default on a terminal and JSON otherwise. JSON is
JSON Lines (stats and scan: one document, a report); CSV has a header and
reads back through Python's csv module, quotes and commas included.

Usage: format_test.py REBOUND_BINARY. Fills a data directory of its own:
accounts and suppressions through the CLI, a queued message and its delivery
events straight into the store's SQLite file.
"""
import csv
import io
import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import tempfile

REBOUND = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("REBOUND_SOURCE_DIR", os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(SOURCE, "tests", "logs", "fixtures")
SEEDS = os.path.join(SOURCE, "fuzz", "seeds", "bounce")
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def run(*args, input=None, rc=0):
    p = subprocess.run([REBOUND, *args], input=input, capture_output=True, text=True)
    check(p.returncode == rc, f"{' '.join(args)}: exit {p.returncode}, want {rc}: {p.stderr.strip()}")
    return p.stdout


def run_on_terminal(*args):
    """Runs with stdout on a pseudo-terminal: what a person at a shell sees.

    The test keeps its own copy of the terminal's other end open, so a read
    never fails, and reads until the command has exited and the terminal has
    had nothing more for a while: the kernel hands a write over to the reading
    side a little later, so output can still arrive after the exit, and a
    read that fails on the command's close can miss it.
    """
    leader, follower = pty.openpty()
    p = subprocess.Popen([REBOUND, *args], stdout=follower, stderr=subprocess.DEVNULL)
    chunks = []
    while True:
        exited = p.poll() is not None
        if select.select([leader], [], [], 0.2 if exited else 0.05)[0]:
            chunks.append(os.read(leader, 65536))
        elif exited:
            break
    os.close(follower)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def json_lines(out, what):
    try:
        return [json.loads(line) for line in out.splitlines()]
    except ValueError as e:
        check(False, f"{what}: not JSON Lines ({e}): {out[:200]!r}")
        return []


def is_json_line(line):
    try:
        json.loads(line)
        return True
    except ValueError:
        return False


def csv_rows(out, header, what):
    rows = list(csv.reader(io.StringIO(out)))
    check(rows and rows[0] == header, f"{what}: CSV header {rows[:1]}, want {header}")
    return [dict(zip(rows[0], r)) for r in rows[1:]]


# A data directory: two accounts, two suppressions, one message with two
# recipients and three events, one of them quoting a reply with a comma,
# quotes and a line break.
work = tempfile.mkdtemp(prefix="rebound-format-")
data = os.path.join(work, "data")
store = ["--data", data]
run("account", "add", "alice", "--domain", "example.com", *store, input="pw\n")
run("account", "add", "bob", "--domain", "example.org", "--domain", "b.example", "--daily-quota", "5", *store, input="pw\n")
tricky_reply = '550 5.1.1 <x@example.net>: "no such user", really'
run("suppression", "add", "--account", "alice", "x@example.net", "y@example.net", "--reason", tricky_reply, *store)
db = sqlite3.connect(os.path.join(data, "queue.db"))
db.execute("INSERT INTO messages(id, account, mail_from, size, client_ip, queued_at, body) "
           "VALUES(1, 'alice', 'me@example.com', 120, '127.0.0.1', 1796000000, 'x')")
for rid, addr, state, reply in ((1, "ok@example.net", "delivered", "250 2.0.0 ok"),
                                 (2, "later@example.net", "deferred", '451 4.7.1 "slow down", please')):
    db.execute("INSERT INTO recipients(id, message_id, address, domain, state, attempts, next_attempt_at, queued_at, "
               "updated_at, last_reply, last_category) VALUES(?, 1, ?, 'example.net', ?, 1, 1796000600, 1796000000, "
               "1796000000, ?, '')", (rid, addr, state, reply))
events = [
    (1796000010, "ok@example.net", "delivered", "250 2.0.0 ok", "delivered", "", 0, 0, "delivered", 0),
    (1796000020, "later@example.net", "deferred", '451 4.7.1 "slow down", please\nsecond line', "ip_rate_limited",
     "speeding", 0, 0, "deferred", 1796000600),
    (1796000030, "x@example.net", "bounced", tricky_reply, "recipient_not_found", "userunknown", 1, 1, "bounced", 0),
]
for t, rcpt, state, reply, cat, reason, perm, hard, decision, nxt in events:
    db.execute("INSERT INTO events(time, message_id, recipient, state, mx, ip, reply, category, reason, permanent, "
               "hard_bounce, rule, decision, next_attempt_at) VALUES(?, 1, ?, ?, 'mx.example.net', '192.0.2.1', ?, ?, ?, "
               "?, ?, 'test.rule', ?, ?)", (t, rcpt, state, reply, cat, reason, perm, hard, decision, nxt))
db.commit()
db.close()

# The relay's lists: JSON Lines on a pipe, the same as --format json; CSV
# with a header that reads back; text that is not JSON.
lists = {
    ("account", "list"): (["name", "enabled", "daily_quota", "monthly_quota", "timezone", "domains", "created_at",
                           "updated_at"], 2),
    ("queue", "list"): (["id", "account", "mail_from", "size", "client_ip", "queued_at", "recipient_id", "address",
                         "state", "attempts", "next_attempt_at", "last_reply", "last_category"], 2),
    ("suppression", "list"): (["account", "address", "reply", "rule", "source", "time"], 2),
    ("events",): (["time", "message_id", "recipient", "decision", "state", "mx", "ip", "reply", "category", "reason",
                   "permanent", "hard_bounce", "rule", "next_attempt_at"], 3),
}
for cmd, (header, rows) in lists.items():
    name = " ".join(cmd)
    piped = run(*cmd, *store)
    check(piped == run(*cmd, *store, "--format", "json"), f"{name}: the default on a pipe is --format json")
    records = json_lines(piped, name)
    check(len(records) == (1 if cmd == ("queue", "list") else rows), f"{name}: {len(records)} JSON records")
    table = csv_rows(run(*cmd, *store, "--format", "csv"), header, name)
    check(len(table) == rows, f"{name}: {len(table)} CSV rows, want {rows}")
    text = run(*cmd, *store, "--format", "text")
    check(text and not is_json_line(text.splitlines()[0]), f"{name}: --format text is text: {text[:100]!r}")
    check(run_on_terminal(*cmd, *store) == text, f"{name}: the default on a terminal is --format text")

suppressed = csv_rows(run("suppression", "list", *store, "--format", "csv"),
                      lists[("suppression", "list")][0], "suppression list")
check([r["reply"] for r in suppressed] == [tricky_reply] * 2, f"suppression CSV keeps the reply: {suppressed}")
check(run("suppression", "export", *store) == run("suppression", "list", *store, "--format", "csv"),
      "suppression export writes what list --format csv does")
check([r["address"] for r in json_lines(run("suppression", "list", *store), "suppression")] ==
      ["x@example.net", "y@example.net"], "suppression list JSON has the addresses")
ev = csv_rows(run("events", *store, "--format", "csv"), lists[("events",)][0], "events")
check(ev[1]["reply"] == events[1][3] and ev[2]["hard_bounce"] == "true" and ev[1]["next_attempt_at"].startswith("2026"),
      f"events CSV round-trips replies with quotes, commas and line breaks: {ev}")
q = csv_rows(run("queue", "list", *store, "--format", "csv"), lists[("queue", "list")][0], "queue")
check([(r["id"], r["address"], r["state"]) for r in q] ==
      [("1", "ok@example.net", "delivered"), ("1", "later@example.net", "deferred")], f"queue CSV: a row per recipient: {q}")
accounts = csv_rows(run("account", "list", *store, "--format", "csv"), lists[("account", "list")][0], "account")
check(accounts[1]["domains"] == "b.example example.org" and accounts[1]["daily_quota"] == "5", f"account CSV: {accounts}")

# stats: a report, one JSON document; CSV one row per table line.
stats = json.loads(run("stats", *store))
check(stats["total"]["attempts"] == 3 and stats["total"]["bounced"] == 1, f"stats JSON: {stats.get('total')}")
check(json.loads(run("stats", *store, "--format", "json")) == stats, "stats: the default on a pipe is --format json")
table = csv_rows(run("stats", *store, "--format", "csv"),
                 ["section", "key", "attempts", "delivered", "deferred", "bounced", "expired", "suppressed",
                  "deferral_rate", "bounce_rate"], "stats")
check(table[0]["section"] == "total" and table[0]["attempts"] == "3", f"stats CSV total row: {table[:1]}")
check({r["section"] for r in table} == {"total", "category", "domain", "provider"}, "stats CSV has every table")
check(run("stats", *store, "--format", "text").startswith("Delivery since"), "stats --format text is the table")

# The rule base and the classifier's commands: JSON Lines on a pipe, text on
# request; no CSV.
for cmd in (["rules", "list"], ["categories"], ["classify", "550 5.1.1 user unknown", "421 RP-001"],
            ["parse", os.path.join(SEEDS, "dsn.eml")]):
    name = cmd[0]
    piped = run(*cmd)
    check(piped == run(*cmd, "--format", "json"), f"{name}: the default on a pipe is --format json")
    check(len(json_lines(piped, name)) >= 1, f"{name}: JSON Lines")
    text = run(*cmd, "--format", "text")
    check(text and not is_json_line(text.splitlines()[0]), f"{name}: --format text is text")
    run(*cmd, "--format", "csv", rc=2)
check(run_on_terminal("classify", "550 5.1.1 user unknown") == run("classify", "--format", "text", "550 5.1.1 user unknown"),
      "classify: the default on a terminal is --format text")

# scan: the report as one JSON document on a pipe (--json is the same),
# text on request; --events stays JSON Lines.
log = os.path.join(FIXTURES, "postfix.log")
if os.path.exists(log):
    report = run("scan", "--no-progress", log)
    check(report == run("scan", "--no-progress", "--format", "json", log), "scan: the default on a pipe is --format json")
    check(report == run("scan", "--no-progress", "--json", log), "scan: --json is --format json")
    check(isinstance(json.loads(report), dict), "scan: the report is one JSON document")
    text = run("scan", "--no-progress", "--format", "text", log)
    check(text and not text.startswith("{"), "scan --format text is the text report")
    check(len(json_lines(run("scan", "--no-progress", "--events", log), "scan --events")) > 10, "scan --events: JSON Lines")

# --help says it the same way everywhere.
for cmd in (["account", "list"], ["queue", "list"], ["suppression", "list"], ["events"], ["stats"], ["rules", "list"],
            ["categories"], ["classify"], ["parse"], ["scan"]):
    check("default: text on a terminal, else json" in run(*cmd, "--help"), f"{' '.join(cmd)} --help explains --format")

print(f"format: {'ok' if not failures else str(len(failures)) + ' failed'}")
sys.exit(1 if failures else 0)
