#!/usr/bin/env bash
# Regenerating the Postfix fixtures works: runs make_fixtures.sh into a
# temporary directory and checks `rebound scan` against the fresh log.
# Skips (77) without root, postfix, swaks or aiosmtpd.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d /tmp/rebound-fixtures.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
rc=0
bash "$HERE/make_fixtures.sh" "$OUT" || rc=$?
[[ $rc == 0 ]] || exit $rc
/usr/bin/python3 "$HERE/check_fixture.py" "$1" "$OUT"
