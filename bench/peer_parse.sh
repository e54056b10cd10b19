#!/usr/bin/env bash
# rebound parse vs Sisimai (Debian's libsisimai-perl) on the same bounces,
# as whole processes in one run. The corpus (../shared/corpus/sisimai, or
# $1) is repeated into one mbox so each run lasts seconds. Prints emails/s for
# both, the ratio, and rebound's peak RSS (/usr/bin/time -v).
#
# Usage: bench/peer_parse.sh [CORPUS_DIR] [REPEAT]   (REBOUND=path/to/rebound)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${1:-$ROOT/../shared/corpus/sisimai}
REPEAT=${2:-50}
REBOUND=${REBOUND:-$ROOT/build/release/src/cli/rebound}
[[ -d $CORPUS/maildir/bsd ]] || { echo "SKIP: no corpus at $CORPUS"; exit 77; }
[[ -x $REBOUND ]] || { echo "no rebound binary at $REBOUND (set REBOUND=)"; exit 2; }
if ! perl -MSisimai -e1 2>/dev/null; then
  echo "installing libsisimai-perl" >&2
  apt-get install -y -q --no-install-recommends libsisimai-perl >/dev/null
fi
[[ -x /usr/bin/time ]] || apt-get install -y -q --no-install-recommends time >/dev/null

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# One mbox: every corpus message REPEAT times, each behind a "From " line.
for ((i = 0; i < REPEAT; i++)); do
  for f in "$CORPUS"/maildir/bsd/*.eml; do
    printf 'From MAILER-DAEMON Thu Jan  1 00:00:00 2024\n'
    sed -e '/^From /d' "$f"
    printf '\n'
  done
done > "$T/corpus.mbox"
emails=$(grep -c '^From MAILER-DAEMON Thu Jan  1 00:00:00 2024$' "$T/corpus.mbox")

# Each side runs under /usr/bin/time -v: wall time, CPU time (user+sys; the
# fairer figure on a shared machine) and peak RSS.
/usr/bin/time -v "$REBOUND" parse --format json "$T/corpus.mbox" > "$T/rebound.jsonl" 2> "$T/rebound.time" || true
/usr/bin/time -v perl -MSisimai -e '
  # Sisimai 5 has rise(), Debian 12 ships 4.25 with make().
  my $m = Sisimai->can("rise") ? "rise" : "make";
  my $v = Sisimai->$m($ARGV[0], "delivered" => 1, "vacation" => 1) || [];
  print scalar(@$v), "\n";' "$T/corpus.mbox" > "$T/sisimai.txt" 2> "$T/sisimai.time"

/usr/bin/python3 - "$emails" "$T" "$(wc -l < "$T/rebound.jsonl")" "$(cat "$T/sisimai.txt")" <<'PY'
import re, sys
emails, tdir, rrec, srec = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def read(name):
    t = open(f"{tdir}/{name}.time").read()
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", t).group(1)
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    return user + sys_, secs, rss
rc, rw, rr = read("rebound")
sc, sw, sr = read("sisimai")
print(f"emails: {emails} (corpus repeated), records: rebound {rrec}, sisimai {srec}")
print(f"rebound parse: {emails/rc:9.0f} emails/s CPU, {emails/rw:9.0f} emails/s wall ({rw:.2f} s), peak RSS {rr/1024:.1f} MB")
print(f"sisimai:       {emails/sc:9.0f} emails/s CPU, {emails/sw:9.0f} emails/s wall ({sw:.2f} s), peak RSS {sr/1024:.1f} MB")
print(f"ratio: {sc/rc:.1f}x by CPU time, {sw/rw:.1f}x by wall time")
PY
