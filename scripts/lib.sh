# Shared by scripts/run and scripts/test: install what is missing, build.
# Sourced, not run.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# configure DIR [cmake args...]: once; later builds are incremental.
configure() {
  local dir=$1; shift
  if [[ ! -f "$dir/build.ninja" ]]; then
    cmake -S "$REPO" -B "$dir" -G Ninja "$@" >/dev/null
  fi
}

# build DIR [cmake args...]: configure, then build everything.
build() {
  configure "$@"
  ninja -C "$1" -j "$JOBS"
}
