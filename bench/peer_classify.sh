#!/usr/bin/env bash
# Side by side, in one run: Sisimai::Reason->match (Debian's libsisimai-perl)
# and `rebound classify --format json`, as whole processes over the same
# 300,000 replies (the realistic mix of bench/replies_mix.sh, repeated).
# MIX=wide uses the second mix (with the sourced provider and MTA replies).
# VARIED=1 makes every copy of a reply distinct, as logs of many recipients
# are: the domains of its addresses get the copy's number ("@c7xexample.com"),
# and a reply without an address gets it appended (" [id 7]"), so no reply
# repeats and Rebound's memo of repeated lines never helps. MEMO=off runs
# Rebound with --no-memo.
#
# Each round runs Sisimai, then Rebound, back to back; ROUNDS (default 3)
# rounds, and the medians are printed. Two ratios: by CPU time (user + sys
# of each process; what the work costs, and steady on a shared machine) and
# by wall time (what a user waits for on an idle one).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build/release}
count=${COUNT:-300000}
rounds=${ROUNDS:-3}
bash "$repo/scripts/install-deps.sh" --with-tests
[[ -x "$build/src/cli/rebound" ]] || { cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null; }
ninja -C "$build" rebound >/dev/null

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bash "$repo/bench/replies_mix.sh" "${MIX:-}" > "$work/mix.txt"
echo "mix: ${MIX:-realistic}$([[ ${VARIED:-0} == 1 ]] && echo ", varied"), $(sort -u "$work/mix.txt" | wc -l) distinct replies; memo: ${MEMO:-on}; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$work" "$count" "$rounds" "$build/src/cli/rebound" "${VARIED:-0}" "${MEMO:-on}" <<'PY'
import os, re, resource, statistics, subprocess, sys, time
work, n, rounds, rebound = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
varied, memo = sys.argv[5] == "1", sys.argv[6] != "off"
mix = [l.rstrip("\n") for l in open(f"{work}/mix.txt", encoding="utf-8", errors="replace") if l.strip()]
replies = f"{work}/replies.txt"
def vary(line, copy):
    if "@" in line:
        return re.sub(r"@([A-Za-z0-9])", rf"@c{copy}x\1", line)
    return f"{line} [id {copy}]"
with open(replies, "w", encoding="utf-8") as f:
    for i in range(n):
        line = mix[i % len(mix)]
        f.write((vary(line, i // len(mix)) if varied else line) + "\n")

def run(argv, out):
    """Wall and CPU (user + sys) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with open(out, "wb") as o:
        subprocess.run(argv, stdout=o, check=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

sisimai = ["perl", "-MSisimai::Reason", "-ne", "chomp; my $r = Sisimai::Reason->match($_);", replies]
ours = [rebound, "classify", "--format", "json", "-i", replies] + ([] if memo else ["--no-memo"])
rows = []
for r in range(rounds):
    s = run(sisimai, os.devnull)
    o = run(ours, f"{work}/rebound.jsonl")
    with open(f"{work}/rebound.jsonl", "rb") as f:
        if sum(1 for _ in f) != n:
            sys.exit("rebound wrote the wrong number of verdicts")
    rows.append((s, o))
    print(f"round {r + 1}: sisimai {s[1]:.2f} s CPU ({s[0]:.2f} s wall), rebound {o[1]:.2f} s CPU ({o[0]:.2f} s wall): "
          f"{s[1] / o[1]:.1f}x by CPU, {s[0] / o[0]:.1f}x by wall")
med = lambda xs: statistics.median(xs)
s_cpu, s_wall = med([s[1] for s, _ in rows]), med([s[0] for s, _ in rows])
o_cpu, o_wall = med([o[1] for _, o in rows]), med([o[0] for _, o in rows])
print(f"replies:          {n} (medians of {rounds} rounds)")
print(f"sisimai (perl):   {n / s_cpu:12,.0f} replies/s of CPU  ({s_cpu:.2f} s CPU, {s_wall:.2f} s wall)")
print(f"rebound classify: {n / o_cpu:12,.0f} replies/s of CPU  ({o_cpu:.2f} s CPU, {o_wall:.2f} s wall)")
print(f"ratio:            {med([s[1] / o[1] for s, o in rows]):.1f}x by CPU, {med([s[0] / o[0] for s, o in rows]):.1f}x by wall")
PY
