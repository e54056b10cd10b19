#!/usr/bin/env bash
# Regenerating the Exim fixtures works: runs make_exim_fixtures.sh into a
# temporary directory and checks `rebound scan` against the fresh log (every
# check of check_exim_fixture.py except the comparison with the committed
# exim-expected.jsonl, whose times and ids differ run to run).
# Skips (77) without root, the unpacked exim4, swaks or aiosmtpd.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d /tmp/rebound-exim-fixtures.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
rc=0
bash "$HERE/make_exim_fixtures.sh" "$OUT" || rc=$?
[[ $rc == 0 ]] || exit $rc
/usr/bin/python3 "$HERE/check_exim_fixture.py" "$1" "$OUT"
