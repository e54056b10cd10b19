#!/usr/bin/python3
"""`rebound scan` on every kind of input: .gz, rotated sets, stdin, --follow,
and bad input (unknown format, binary junk, a 10 MB line, a truncated .gz).

usage: scan_inputs_test.py REBOUND FIXTURE_DIR
"""
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

rebound, fixtures = sys.argv[1], sys.argv[2]
log_text = open(os.path.join(fixtures, "postfix.log"), "rb").read()
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def scan(*args, stdin=None):
    p = subprocess.run([rebound, "scan", "--no-progress", *args], input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def totals(out):
    return json.loads(out)["totals"]


d = tempfile.mkdtemp(prefix="rebound-scan-")
plain = os.path.join(d, "mail.log")
open(plain, "wb").write(log_text)
rc, out, err = scan("--json", plain)
check(rc == 0, f"plain: exit {rc} {err}")
want = totals(out)
rc, want_events, _ = scan("--events", plain)

# gzip, and stdin
gz = os.path.join(d, "mail.log.gz")
open(gz, "wb").write(gzip.compress(log_text))
rc, out, err = scan("--json", gz)
check(rc == 0 and totals(out) == want, f".gz: exit {rc}, {err}")
rc, out, err = scan("--json", "-", stdin=gzip.compress(log_text))
check(rc == 0 and totals(out) == want, f"stdin .gz: exit {rc}, {err}")
rc, out, err = scan("--json", stdin=log_text)
check(rc == 0 and totals(out) == want, f"stdin: exit {rc}, {err}")

# A rotated set, named in any order, is read oldest first: the same events
# as the whole log (queue ids joined across files).
lines = log_text.splitlines(keepends=True)
a, b = len(lines) // 3, 2 * len(lines) // 3
rot = os.path.join(d, "rot")
os.mkdir(rot)
open(os.path.join(rot, "mail.log.2.gz"), "wb").write(gzip.compress(b"".join(lines[:a])))
open(os.path.join(rot, "mail.log.1"), "wb").write(b"".join(lines[a:b]))
open(os.path.join(rot, "mail.log"), "wb").write(b"".join(lines[b:]))
rc, out, err = scan("--events", *(os.path.join(rot, n) for n in ("mail.log", "mail.log.2.gz", "mail.log.1")))
check(rc == 0 and out == want_events, f"rotated set: exit {rc}, {len(out.splitlines())} vs {len(want_events.splitlines())} events")

# Unknown format: reported, not guessed.
text = os.path.join(d, "notes.txt")
open(text, "w").write("Dear diary,\nToday I read a mail log.\n" * 50)
rc, out, err = scan(text)
check(rc == 1 and "unknown log format" in err, f"unknown format: exit {rc}, {err!r}")

# Binary junk, forced: counted as garbled, no crash.
junk = os.path.join(d, "junk.bin")
rnd = random.Random(7)
open(junk, "wb").write(bytes(rnd.getrandbits(8) for _ in range(1 << 20)))
for fmt in ("postfix", "exim", "sendmail", "kumomta", "pmta"):
    rc, out, err = scan("--json", "--log-format", fmt, junk)
    check(rc == 0, f"junk as {fmt}: exit {rc} {err[-300:]}")
    if rc == 0:
        check(json.loads(out)["inputs"][0]["garbled"] + json.loads(out)["inputs"][0]["ignored"] > 0, f"junk as {fmt}: nothing counted")

# A 10 MB line in the middle: skipped and counted; every other line still read.
big = os.path.join(d, "big.log")
open(big, "wb").write(b"".join(lines[:a]) + b"Nov 27 23:10:00 mta postfix/smtp[1]: " + b"x" * (10 << 20) + b"\n" + b"".join(lines[a:]))
rc, out, err = scan("--json", big)
check(rc == 0 and totals(out) == want, f"10 MB line: exit {rc}")
if rc == 0:
    check(json.loads(out)["inputs"][0]["garbled"] >= 1, "10 MB line not counted")

# A truncated .gz: what was readable is scanned, the error is reported.
cut = os.path.join(d, "cut.log.gz")
data = gzip.compress(log_text * 20)
open(cut, "wb").write(data[: len(data) // 2])
rc, out, err = scan("--json", cut)
check(rc == 1 and "truncated" in err, f"truncated .gz: exit {rc}, {err!r}")
check(rc == 1 and totals(out)["attempts"] > 0, "truncated .gz: nothing scanned before the cut")

# --follow survives rotation, like tail -F, and streams events as lines come.
follow = os.path.join(d, "follow.log")
open(follow, "wb").write(b"".join(lines[:a]))
p = subprocess.Popen([rebound, "scan", "--no-progress", "--follow", "--events", follow], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
os.set_blocking(p.stdout.fileno(), False)
got = b""


def read_until(expected, seconds=30):
    """Collects the follower's output until it equals expected (or time runs out)."""
    global got
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and got != expected:
        chunk = p.stdout.read()
        if chunk:
            got += chunk
        else:
            time.sleep(0.1)
    return got == expected


first_part = subprocess.run([rebound, "scan", "--no-progress", "--events", "--log-format", "postfix", "-"],
                            input=b"".join(lines[:a]), capture_output=True).stdout
check(read_until(first_part), f"--follow: {len(got.splitlines())} events streamed, expected {len(first_part.splitlines())}")
with open(follow, "ab") as f:
    f.write(b"".join(lines[a:b]))
time.sleep(0.5)
os.rename(follow, follow + ".1")
open(follow, "wb").write(b"".join(lines[b:]))
read_until(want_events.encode())
p.send_signal(signal.SIGINT)
os.set_blocking(p.stdout.fileno(), True)
rest, err = p.communicate(timeout=30)
got += rest
check(p.returncode == 0, f"--follow: exit {p.returncode} {err.decode()[-300:]}")
check(got.decode() == want_events, f"--follow: {len(got.decode().splitlines())} events, expected {len(want_events.splitlines())}")

if failures:
    print(f"{len(failures)} failures; inputs kept in {d}")
    sys.exit(1)
shutil.rmtree(d, ignore_errors=True)
print("ok")
