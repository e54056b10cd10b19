#!/usr/bin/env bash
# rebound scan versus pflogsumm (Debian), side by side on the same synthetic
# Postfix log, in one run.
#
# The log is built from tests/logs/fixtures/postfix.log (made by a real
# Postfix, see tests/logs/make_fixtures.sh): the fixture is replicated with
# fresh queue ids and advancing timestamps until the file reaches SIZE_MB.
# Each copy also gets its own recipients (nouser1@example.com becomes
# nouser1.2f@example.com, in the to=<...> field and in the receiver's reply,
# which quotes it as "<nouser1.2f@example.com>: ...") and its own per-message
# token in the 163.com reply, as a real log's replies differ from message to
# message; only the replies that carry no address repeat word for word.
# Both tools read the same file after one warm-up read (page cache), on one
# core each (taskset when available); MB/s is file size / wall time.
#
# usage: bench/peer_scan.sh REBOUND_BINARY [SIZE_MB (default 1024)]
# env:   KEEP_LOG=path  reuse or keep the generated log at that path
set -euo pipefail
REBOUND=${1:?usage: peer_scan.sh REBOUND_BINARY [SIZE_MB]}
SIZE_MB=${2:-1024}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FIXTURE=$ROOT/tests/logs/fixtures/postfix.log
LOG=${KEEP_LOG:-$(mktemp /tmp/rebound-bench-XXXXXX.log)}
[[ -n "${KEEP_LOG:-}" ]] || trap 'rm -f "$LOG"' EXIT
command -v pflogsumm >/dev/null || { echo "peer_scan: pflogsumm missing (scripts/install-deps.sh --with-tests)" >&2; exit 1; }

if [[ ! -s "$LOG" || $(stat -c %s "$LOG") -lt $((SIZE_MB * 1000000)) ]]; then
  /usr/bin/python3 - "$FIXTURE" "$LOG" "$SIZE_MB" <<'PY'
import re, sys, time, calendar
fixture, out_path, size_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(fixture).read().splitlines()
qid_re = re.compile(r"(?<=: )([0-9A-F]{8,12})(?=: )")
# Recipients (not the sender, which gets the returned bounces) and where
# they appear: "to=<local@" and "said: 550 5.1.1 <local@".
sender = "news@sender.rebound.test"
locals_ = sorted({a.split("@")[0] for a in re.findall(r"to=<([^>]+@[^>]+)>", "\n".join(lines)) if a != sender})
addr_re = re.compile("<(" + "|".join(map(re.escape, locals_)) + ")@")
token_re = re.compile(r"(?<=,)QMCow[A-Za-z0-9]+(?=,)")  # 163.com's per-message id
ids = []
for l in lines:
    m = qid_re.search(l)
    if m and m.group(1) not in ids:
        ids.append(m.group(1))
# Split each line into (seconds since the first line, text after the time, queue id or None).
year = 2026
t0 = None
parts = []
for l in lines:
    ts = time.strptime(f"{year} {l[:15]}", "%Y %b %d %H:%M:%S")
    t = calendar.timegm(ts)
    t0 = t if t0 is None else t0
    m = qid_re.search(l)
    parts.append((t - t0, l[15:], m.group(1) if m else None))
span = parts[-1][0] + 1
target = size_mb * 1000000
written, copy = 0, 0
cache = {}
with open(out_path, "w", buffering=1 << 20) as out:
    while written < target:
        base = t0 + copy * 5  # copies overlap in time, as busy servers do
        chunk = []
        for dt, rest, qid in parts:
            t = base + dt
            stamp = cache.get(t)
            if stamp is None:
                stamp = time.strftime("%b %d %H:%M:%S", time.gmtime(t))
                if stamp[4] == "0":
                    stamp = stamp[:4] + " " + stamp[5:]
                if len(cache) > 100000:
                    cache.clear()
                cache[t] = stamp
            if qid:
                rest = rest.replace(qid, "%X" % (0x10000000000 + copy * 4096 + ids.index(qid)), 1)
            chunk.append(stamp + rest)
        text = "\n".join(chunk) + "\n"
        tag = "%x" % copy
        text = addr_re.sub(lambda m: "<" + m.group(1) + "." + tag + "@", text)
        text = token_re.sub("QMCow" + tag.upper(), text)
        out.write(text)
        written += len(text)
        copy += 1
PY
fi

BYTES=$(stat -c %s "$LOG")
MB=$(awk -v b="$BYTES" 'BEGIN{printf "%.1f", b/1e6}')
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0)
cat "$LOG" >/dev/null  # warm the page cache for both
# Rebound keeps its compiled rule database in a cache (~0.15 s to build after
# a rules change, once, not per log): build it now, outside the timing.
"$REBOUND" scan --no-progress --log-format postfix /dev/null >/dev/null 2>&1 || true

# One run each; wall time and CPU time (user+sys of the child). The machine
# may be shared, so CPU time is the fairer figure; both are printed.
/usr/bin/python3 - "$LOG" "$BYTES" "$REBOUND" "${PIN[@]}" <<'PY'
import json, os, resource, subprocess, sys, time
log, size, rebound, pin = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]

def measure(cmd, out_path):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    with open(out_path, "w") as out:
        subprocess.run(pin + cmd, stdout=out, stderr=subprocess.DEVNULL, check=True)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu

rw, rc = measure([rebound, "scan", "--no-progress", "--format", "json", log], "/tmp/rebound-bench-report.json")
pw, pc = measure(["pflogsumm", "--problems-first", log], "/tmp/rebound-bench-pflogsumm.txt")
t = json.load(open("/tmp/rebound-bench-report.json"))["totals"]
mb = size / 1e6
lines = sum(1 for _ in open(log, "rb"))
print(f"log: {mb:.1f} MB synthetic Postfix, {lines} lines, {t['attempts']} delivery attempts, "
      f"{t['bounced'] + t['deferred'] + t['expired']} classified (not sent)")
print(f"rebound scan : wall {rw:7.2f} s {mb / rw:8.1f} MB/s   cpu {rc:7.2f} s {mb / rc:8.1f} MB/s")
print(f"pflogsumm    : wall {pw:7.2f} s {mb / pw:8.1f} MB/s   cpu {pc:7.2f} s {mb / pc:8.1f} MB/s")
print(f"ratio        : rebound is {pw / rw:.1f}x faster (wall), {pc / rc:.1f}x (cpu)")
PY
