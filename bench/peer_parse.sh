#!/usr/bin/env bash
# rebound parse vs Sisimai (Debian's libsisimai-perl) on the same bounces,
# as whole processes in one run. The corpus (../shared/corpus/sisimai, or
# $1) is repeated REPEAT times into one mbox, which Sisimai reads once (about
# ten seconds); rebound reads that same mbox PASSES times in one process
# (rebound parse MBOX MBOX ...) so that its run lasts seconds too and neither
# side's start-up or /usr/bin/time's 10 ms resolution weighs on the figure.
# Prints emails/s for both, the ratio, and both peak RSS (/usr/bin/time -v).
#
# rebound parse remembers how it read each diagnostic (src/bounce/finalize.h),
# so in the repeated corpus every reading after the first copy is a lookup.
# A second mbox therefore varies the copies: every address domain gets the
# copy's number ("@c7xexample.org"), so only diagnostics that name no
# address repeat (about 55% of readings), as a provider's fixed texts do in
# real bounce streams. Both sides run on both mboxes; the first is issue 3's
# figure. VARIED=0 skips the second.
#
# Usage: bench/peer_parse.sh [CORPUS_DIR] [REPEAT] [PASSES]   (REBOUND=path/to/rebound)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${1:-$ROOT/../shared/corpus/sisimai}
REPEAT=${2:-50}
PASSES=${3:-10}
REBOUND=${REBOUND:-$ROOT/build/release/src/cli/rebound}
[[ -d $CORPUS/maildir/bsd ]] || { echo "SKIP: no corpus at $CORPUS"; exit 77; }
[[ -x $REBOUND ]] || { echo "no rebound binary at $REBOUND (set REBOUND=)"; exit 2; }
if ! perl -MSisimai -e1 2>/dev/null; then
  echo "installing libsisimai-perl" >&2
  apt-get install -y -q --no-install-recommends libsisimai-perl >/dev/null
fi
[[ -x /usr/bin/time ]] || apt-get install -y -q --no-install-recommends time >/dev/null

VARIED=${VARIED:-1}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# One mbox: every corpus message REPEAT times, each behind a "From " line;
# the varied one with the copy's number in every address domain.
for ((i = 0; i < REPEAT; i++)); do
  for f in "$CORPUS"/maildir/bsd/*.eml; do
    printf 'From MAILER-DAEMON Thu Jan  1 00:00:00 2024\n'
    sed -e '/^From /d' "$f"
    printf '\n'
  done
done > "$T/corpus.mbox"
if [[ $VARIED == 1 ]]; then
  for ((i = 0; i < REPEAT; i++)); do
    for f in "$CORPUS"/maildir/bsd/*.eml; do
      printf 'From MAILER-DAEMON Thu Jan  1 00:00:00 2024\n'
      sed -e '/^From /d' -e "s/@\([A-Za-z0-9]\)/@c${i}x\1/g" "$f"
      printf '\n'
    done
  done > "$T/varied.mbox"
fi
emails=$(grep -c '^From MAILER-DAEMON Thu Jan  1 00:00:00 2024$' "$T/corpus.mbox")

# Each side runs under /usr/bin/time -v: wall time, CPU time (user+sys; the
# fairer figure on a shared machine) and peak RSS.
run_pair() {  # mbox name
  local mbox=$T/$1.mbox inputs=()
  for ((i = 0; i < PASSES; i++)); do inputs+=("$mbox"); done
  # The records are counted through a pipe rather than kept: PASSES copies of
  # them would fill /tmp.
  { /usr/bin/time -v -o "$T/rebound-$1.time" "$REBOUND" parse --format json "${inputs[@]}" || true; } | wc -l > "$T/rebound-$1.count"
  /usr/bin/time -v perl -MSisimai -e '
    # Sisimai 5 has rise(), Debian 12 ships 4.25 with make().
    my $m = Sisimai->can("rise") ? "rise" : "make";
    my $v = Sisimai->$m($ARGV[0], "delivered" => 1, "vacation" => 1) || [];
    print scalar(@$v), "\n";' "$mbox" > "$T/sisimai-$1.txt" 2> "$T/sisimai-$1.time"
}
run_pair corpus
[[ $VARIED == 1 ]] && run_pair varied

/usr/bin/python3 - "$emails" "$T" "$PASSES" "$VARIED" <<'PY'
import re, sys
emails, tdir, passes, varied = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
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
for name, title in [("corpus", "corpus repeated"), ("varied", "copies' addresses varied")]:
    if name == "varied" and not varied:
        continue
    rrec = int(open(f"{tdir}/rebound-{name}.count").read())
    srec = open(f"{tdir}/sisimai-{name}.txt").read().strip()
    rc, rw, rr = read(f"rebound-{name}")
    sc, sw, sr = read(f"sisimai-{name}")
    if name == "varied":
        print()
    print(f"emails: {emails} ({title}), records: rebound {rrec // passes} per pass, sisimai {srec}")
    print(f"rebound parse: {emails*passes/rc:9.0f} emails/s CPU, {emails*passes/rw:9.0f} emails/s wall ({rw:.2f} s, {passes} passes), peak RSS {rr/1024:.1f} MB")
    print(f"sisimai:       {emails/sc:9.0f} emails/s CPU, {emails/sw:9.0f} emails/s wall ({sw:.2f} s), peak RSS {sr/1024:.1f} MB")
    print(f"ratio: {sc*passes/rc:.1f}x by CPU time, {sw*passes/rw:.1f}x by wall time")
PY
