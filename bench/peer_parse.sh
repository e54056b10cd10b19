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
REBOUND=${REBOUND:-$ROOT/build/src/cli/rebound}
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

now() { date +%s.%N; }
t0=$(now)
/usr/bin/time -v "$REBOUND" parse --format json "$T/corpus.mbox" > "$T/rebound.jsonl" 2> "$T/time.txt" || true
t1=$(now)
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$T/time.txt")

perl -MSisimai -e '
  # Sisimai 5 has rise(), Debian 12 ships 4.25 with make().
  my $m = Sisimai->can("rise") ? "rise" : "make";
  my $v = Sisimai->$m($ARGV[0], "delivered" => 1, "vacation" => 1) || [];
  print scalar(@$v), "\n";' "$T/corpus.mbox" > "$T/sisimai.txt" &
s0=$(now); wait; s1=$(now)

/usr/bin/python3 - "$emails" "$t0" "$t1" "$s0" "$s1" "$rss_kb" "$(wc -l < "$T/rebound.jsonl")" "$(cat "$T/sisimai.txt")" <<'PY'
import sys
emails, t0, t1, s0, s1, rss, rrec, srec = sys.argv[1:]
emails = int(emails)
r = emails / (float(t1) - float(t0))
s = emails / (float(s1) - float(s0))
print(f"emails: {emails} (corpus repeated), records: rebound {rrec}, sisimai {srec}")
print(f"rebound parse: {r:10.0f} emails/s  ({float(t1)-float(t0):.2f} s), peak RSS {int(rss)/1024:.1f} MB")
print(f"sisimai:       {s:10.0f} emails/s  ({float(s1)-float(s0):.2f} s)")
print(f"ratio: {r/s:.1f}x")
PY
