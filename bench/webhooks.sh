#!/usr/bin/env bash
# Webhook delivery rate (issue 15): events/second from `rebound serve` to a
# loopback receiver, one event per POST and batched, with the receiver's own
# ceiling (a plain Python sender) measured in the same run. See
# bench/webhooks_bench.py; the figures go to docs/webhooks.md.
#
# Usage: bench/webhooks.sh [EVENTS]   (REBOUND=path/to/rebound)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REBOUND=${REBOUND:-$ROOT/build/release/src/cli/rebound}
EVENTS=${1:-5000}
[[ -x $REBOUND ]] || { echo "no rebound binary at $REBOUND (set REBOUND=)"; exit 2; }
echo "== one event per POST"
/usr/bin/python3 "$ROOT/bench/webhooks_bench.py" "$REBOUND" "$EVENTS" 1
echo "== batches of 50"
/usr/bin/python3 "$ROOT/bench/webhooks_bench.py" "$REBOUND" "$EVENTS" 50
