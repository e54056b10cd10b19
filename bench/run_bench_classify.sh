#!/usr/bin/env bash
# Library throughput: parse+classify of the realistic mix on one core.
# MIX=wide uses the second mix (bench/replies_mix.sh wide). Google
# Benchmark's CPU column is the figure to quote on a shared machine: its
# wall time counts the time other processes held the core.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build/release}
ninja -C "$build" bench_classify >/dev/null
mix=$(mktemp); trap 'rm -f "$mix"' EXIT
bash "$repo/bench/replies_mix.sh" ${MIX:-} > "$mix"
REBOUND_REPLIES=$mix taskset -c 0 "$build/bench/bench_classify" --benchmark_min_time=2 "$@"
