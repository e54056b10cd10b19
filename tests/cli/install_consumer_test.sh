#!/usr/bin/env bash
# The library boundary as another project sees it: install this build into a
# temporary prefix, build examples/consumer against it with find_package
# (nothing from the source tree on the include path), run it and check what
# it prints. Also checks that the installed headers include only each other
# and that the shared object hides the private code.
set -uo pipefail
BUILD=${1:?usage: install_consumer_test.sh BUILD_DIR SOURCE_DIR}
SOURCE=${2:?usage: install_consumer_test.sh BUILD_DIR SOURCE_DIR}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
passed=0 failed=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}

# The library's two components only: the program's files (the systemd unit,
# /etc/rebound) have absolute destinations meant for the Debian package.
for component in library dev; do
  if ! cmake --install "$BUILD" --prefix "$prefix" --component "$component" >> "$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"; echo "FAIL: install $component"; exit 1
  fi
done
# lib/ or lib/<multiarch>/, as GNUInstallDirs chose.
config_dir=$(dirname "$(find "$prefix" -name ReboundConfig.cmake | head -1)")
library=$(find "$prefix" -name librebound.so | head -1)
check "package config installed" [ -f "$config_dir/ReboundConfig.cmake" ]
check "version file installed" [ -f "$config_dir/ReboundConfigVersion.cmake" ]
check "shared library installed" [ -n "$library" ]
check "export header installed" [ -f "$prefix/include/rebound/export.h" ]

# Public headers include the standard library and each other, nothing else:
# no private header, no dependency's header (<hs/hs.h>, <toml++/toml.h>).
private_includes=$(grep -h '^#include' "$prefix"/include/rebound/*.h | grep -v '^#include "rebound/' | grep -v '^#include <[a-z_]*>$')
check "public headers include no private header" [ -z "$private_includes" ]
[[ -z $private_includes ]] || echo "$private_includes"

# Hidden by default: a public entry point is exported, a private helper is not.
symbols=$(nm -DC --defined-only "$library")
check "BuildClassifier exported" grep -q 'rebound::BuildClassifier(' <<<"$symbols"
check "private text helpers hidden" bash -c '! grep -q "rebound::text::" <<<"$1"' _ "$symbols"

if ! cmake -S "$SOURCE/examples/consumer" -B "$tmp/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_PREFIX_PATH="$prefix" > "$tmp/configure.log" 2>&1 ||
   ! cmake --build "$tmp/consumer" -j 1 > "$tmp/build.log" 2>&1; then
  cat "$tmp/configure.log" "$tmp/build.log" 2>/dev/null; echo "FAIL: consumer build"; exit 1
fi
# The consumer's own database cache, not the user's.
out=$(REBOUND_CACHE_DIR="$tmp/cache" "$tmp/consumer/rebound_consumer")
check "consumer runs" [ $? -eq 0 ]
check "consumer reports the library version" grep -qEx 'librebound [0-9]+\.[0-9]+\.[0-9]+' <<<"$out"
check "consumer classifies a reply" grep -qx 'reply: category=recipient_not_found reason=userunknown permanent hard_bounce' <<<"$out"
check "consumer reads a bounce" grep -qx 'bounce: gone@example.net 5.2.2 category=mailbox_full reason=mailboxfull .*' <<<"$out"
[[ $failed -eq 0 ]] || echo "$out"

echo "install_consumer: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
