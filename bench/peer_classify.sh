#!/usr/bin/env bash
# Side by side, in one run: Sisimai::Reason->match (Debian's libsisimai-perl)
# and `rebound classify`, as whole processes over the same 300,000 replies
# (the realistic mix of bench/replies_mix.sh, repeated). Prints both
# throughputs and the ratio. MIX=wide uses the second mix (with the sourced
# provider and MTA replies).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build/release}
count=${COUNT:-300000}
bash "$repo/scripts/install-deps.sh" --with-tests
[[ -x "$build/src/cli/rebound" ]] || { cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null; }
ninja -C "$build" rebound >/dev/null

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bash "$repo/bench/replies_mix.sh" "${MIX:-}" > "$work/mix.txt"
echo "mix: ${MIX:-realistic}, $(sort -u "$work/mix.txt" | wc -l) distinct replies"
/usr/bin/python3 - "$work/mix.txt" "$count" > "$work/replies.txt" <<'PY'
import sys
mix = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8", errors="replace") if l.strip()]
n = int(sys.argv[2])
for i in range(n):
    print(mix[i % len(mix)])
PY

now() { date +%s.%N; }
t0=$(now)
perl -MSisimai::Reason -ne 'chomp; my $r = Sisimai::Reason->match($_); $n++; END { print STDERR "sisimai: $n replies\n" }' \
  "$work/replies.txt" > /dev/null
t1=$(now)
"$build/src/cli/rebound" classify --format json -i "$work/replies.txt" > "$work/rebound.jsonl"
t2=$(now)
[[ $(wc -l < "$work/rebound.jsonl") -eq $count ]] || { echo "rebound wrote the wrong number of verdicts" >&2; exit 1; }

/usr/bin/python3 - "$count" "$t0" "$t1" "$t2" <<'PY'
import sys
n, t0, t1, t2 = int(sys.argv[1]), *map(float, sys.argv[2:])
s, r = n / (t1 - t0), n / (t2 - t1)
print(f"replies:          {n}")
print(f"sisimai (perl):   {s:12,.0f} replies/s  ({t1 - t0:.2f} s)")
print(f"rebound classify: {r:12,.0f} replies/s  ({t2 - t1:.2f} s)")
print(f"ratio:            {r / s:.1f}x")
PY
