#!/usr/bin/env bash
# The Debian packages as an operator meets them. Builds them (scripts/package),
# makes a clean Debian 12 root with debootstrap, and in it (chroot, as root):
#   - installs them with apt-get from the files, pulling the run-time
#     libraries dpkg-shlibdeps declared;
#   - runs rebound --version, classify and config check on the packaged config;
#   - checks owners and modes, the rebound system user, the unit enabled;
#   - starts `rebound serve` with the packaged config as the rebound user and
#     talks SMTP to it;
#   - edits the config, adds an account, upgrades to a rebuilt package
#     (the next Debian revision) and checks both survived;
#   - removes (data, config and user stay), then purges (all gone).
# Then runs systemd-analyze verify on the installed unit and `security` on it,
# and lintian on the packages (no errors allowed). Needs root and Debian's
# package mirror. Writes what it saw (lintian, exposure score) to
# build/package-test/report.txt.
# Usage: tests/package/install_test.sh   (from anywhere; env DEBIAN_MIRROR)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
work="$REPO/build/package-test"
root="$work/root"
report="$work/report.txt"
version=$(sed -n 's/^project(rebound VERSION \([0-9.]*\).*/\1/p' "$REPO/CMakeLists.txt")
arch=$(dpkg --print-architecture)

[[ $(id -u) == 0 ]] || { echo "install_test: needs root (chroot, debootstrap)" >&2; exit 1; }
passed=0 failed=0
check() {  # check NAME COMMAND...: one assertion, counted
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"
  else failed=$((failed + 1)); echo "FAIL $name"; fi
}
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
owner_mode() { chroot "$root" stat -c '%U:%G %a' "$1"; }  # names as the root's passwd has them
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  return 0
}
trap cleanup EXIT

echo "-- packages: revision 1 and its rebuild, revision 2"
bash "$REPO/scripts/package" --release 2 >/dev/null
bash "$REPO/scripts/package" --release 1 >/dev/null
debs() { ls "$REPO"/dist/{rebound,librebound"${version%.*}",librebound-dev}_"$version-$1"_"$arch".deb; }
first=($(debs 1)) second=($(debs 2))

echo "-- a clean Debian 12 root ($MIRROR)"
rm -rf "$root"; mkdir -p "$work"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" > "$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log"; echo "install_test: debootstrap failed" >&2; exit 1; }
cat > "$root/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY_MIRROR bookworm-security main
EOF
# A chroot has no init: tell maintainer scripts not to start services.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/tmp/debs"; cp "${first[@]}" "${second[@]}" "$root/tmp/debs/"
in_root apt-get update -q > "$work/apt.log" 2>&1 || { tail "$work/apt.log"; exit 1; }
# systemd itself, as on any machine that runs the service (minbase has none):
# the unit's targets for systemd-analyze verify.
in_root apt-get install -y -q --no-install-recommends systemd >> "$work/apt.log" 2>&1 || { tail "$work/apt.log"; exit 1; }

echo "-- install revision 1"
install_debs() {  # install_debs DEB...: the copies in the root's /tmp/debs
  local deb paths=()
  for deb; do paths+=("/tmp/debs/${deb##*/}"); done
  in_root apt-get install -y -q --no-install-recommends "${paths[@]}" >> "$work/apt.log" 2>&1
}
check "apt-get install ./rebound_$version-1 (with its libraries from the mirror)" install_debs "${first[@]}"
check "rebound --version" bash -c '[[ $(chroot "$1" rebound --version) == *"$2"* ]]' _ "$root" "$version"
check "rebound classify" bash -c 'chroot "$1" rebound classify --format json "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown" | grep -q "\"hard_bounce\":true"' _ "$root"
check "rebound config check /etc/rebound/rebound.toml" in_root rebound config check /etc/rebound/rebound.toml
check "the packaged config keeps data in /var/lib/rebound" grep -q '^data_dir = "/var/lib/rebound"' "$root/etc/rebound/rebound.toml"
check "the packaged config logs to the journal" grep -q '^log = "journal"' "$root/etc/rebound/rebound.toml"
check "/etc/rebound/rebound.toml is a conffile" grep -qx /etc/rebound/rebound.toml "$root/var/lib/dpkg/info/rebound.conffiles"
check "rebound system user, no login, home /var/lib/rebound" \
  bash -c 'IFS=: read -r _ _ uid _ _ home shell < <(chroot "$1" getent passwd rebound) && ((uid < 1000)) && [[ $home == /var/lib/rebound && $shell == */nologin ]]' _ "$root"
check "/usr/bin/rebound root:root 755" [ "$(owner_mode /usr/bin/rebound)" = "root:root 755" ]
check "/etc/rebound/rebound.toml root:rebound 640" [ "$(owner_mode /etc/rebound/rebound.toml)" = "root:rebound 640" ]
check "/var/lib/rebound rebound:rebound 750" [ "$(owner_mode /var/lib/rebound)" = "rebound:rebound 750" ]
check "unit installed root:root 644" [ "$(owner_mode /lib/systemd/system/rebound.service)" = "root:root 644" ]
check "unit enabled" [ -L "$root/etc/systemd/system/multi-user.target.wants/rebound.service" ]
check "man pages rebound(1), rebound-serve(1), rebound.toml(5)" \
  test -f "$root/usr/share/man/man1/rebound.1.gz" -a -f "$root/usr/share/man/man1/rebound-serve.1.gz" -a -f "$root/usr/share/man/man5/rebound.toml.5.gz"
check "bash completion" test -f "$root/usr/share/bash-completion/completions/rebound"
check "librebound in the linker cache" bash -c 'chroot "$1" ldconfig -p | grep -q "librebound.so.${2%.*}"' _ "$root" "$version"
check "librebound-dev: headers and find_package(Rebound)" \
  bash -c 'chroot "$1" dpkg -L librebound-dev | grep -q "/ReboundConfig.cmake$" && test -f "$1/usr/include/rebound/classifier.h"' _ "$root"

echo "-- serve with the packaged config, as the rebound user"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s|^#* *listen = \"127.0.0.1:2525\"|listen = \"127.0.0.1:$port\"|" "$root/etc/rebound/rebound.toml"
chroot --userspec=rebound:rebound "$root" env -i PATH=/usr/bin:/bin HOME=/var/lib/rebound \
  sh -c 'cd /var/lib/rebound && exec rebound serve --config /etc/rebound/rebound.toml' > "$work/serve.log" 2>&1 &
server_pid=$!
check "serve answers EHLO on the configured port" /usr/bin/python3 - "$port" <<'EOF'
import smtplib, sys, time
deadline = time.time() + 30
while True:
    try:
        with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
            code, _ = s.ehlo("install-test.example")
            sys.exit(0 if code == 250 else 1)
    except OSError:
        if time.time() > deadline: sys.exit(1)
        time.sleep(0.2)
EOF
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
check "the queue is the service's own" [ "$(owner_mode /var/lib/rebound/queue.db | cut -d' ' -f1)" = "rebound:rebound" ]
[[ $failed == 0 ]] || cat "$work/serve.log"

echo "-- edit the config, add an account, upgrade to revision 2"
sed -i '0,/^#* *max_recipients = .*/s//max_recipients = 42/' "$root/etc/rebound/rebound.toml"
check "the edit is in place ([server] only)" test "$(grep -cx "max_recipients = 42" "$root/etc/rebound/rebound.toml")" = 1
echo 's3cret' | chroot --userspec=rebound:rebound "$root" env -i PATH=/usr/bin:/bin \
  rebound account add alice --domain example.com --config /etc/rebound/rebound.toml > /dev/null
check "apt-get install ./rebound_$version-2 (upgrade)" install_debs "${second[@]}"
check "revision 2 installed" [ "$(in_root dpkg-query -W -f='${Version}' rebound)" = "$version-2" ]
check "the config edit survived the upgrade" grep -qx 'max_recipients = 42' "$root/etc/rebound/rebound.toml"
check "the port edit survived the upgrade" grep -qx "listen = \"127.0.0.1:$port\"" "$root/etc/rebound/rebound.toml"
check "no .dpkg-dist or .dpkg-new left" bash -c '! ls "$1"/etc/rebound/*.dpkg-* 2>/dev/null | grep -q .' _ "$root"
check "the account survived the upgrade" bash -c 'chroot "$1" rebound account list --format text --config /etc/rebound/rebound.toml | grep -q alice' _ "$root"
check "modes kept by the upgrade" [ "$(owner_mode /etc/rebound/rebound.toml) $(owner_mode /var/lib/rebound)" = "root:rebound 640 rebound:rebound 750" ]

echo "-- systemd-analyze on the installed unit"
# MANPATH: its Documentation= pages are looked up with the host's man.
check "systemd-analyze verify (no warnings)" bash -c 'MANPATH="$1/usr/share/man" systemd-analyze verify --root="$1" rebound.service > "$2/verify.log" 2>&1 && ! grep -q . "$2/verify.log"' _ "$root" "$work"
security=$(systemd-analyze security --offline=true --root="$root" rebound.service 2>&1 | tail -1)
exposure=$(sed -n 's/.*exposure level for rebound.service: \([0-9.]*\).*/\1/p' <<<"$security")
check "systemd-analyze security: exposure below 2.0 ($exposure)" awk -v e="${exposure:-99}" 'BEGIN { exit !(e < 2.0) }'

echo "-- remove keeps data, config and user; purge takes them"
in_root apt-get remove -y -q rebound >> "$work/apt.log" 2>&1
check "after remove: config, data and user stay" \
  bash -c 'test -f "$1/etc/rebound/rebound.toml" -a -f "$1/var/lib/rebound/queue.db" && chroot "$1" getent passwd rebound >/dev/null' _ "$root"
in_root apt-get purge -y -q rebound >> "$work/apt.log" 2>&1
check "after purge: config, data and user gone" \
  bash -c '! test -e "$1/etc/rebound" && ! test -e "$1/var/lib/rebound" && ! chroot "$1" getent passwd rebound >/dev/null' _ "$root"

echo "-- lintian"
lintian_out=$(lintian --fail-on error --display-info "${first[@]}" 2>&1) && lintian_ok=1 || lintian_ok=0
echo "${lintian_out:-(no tags)}"
check "lintian: no errors" [ "$lintian_ok" = 1 ]

{
  echo "packages: ${first[*]##*/}"
  echo "lintian --display-info:"; echo "${lintian_out:-(no tags)}" | sed 's/^/  /'
  echo "systemd-analyze security: $security"
} > "$report"
echo "$passed passed, $failed failed (report: $report)"
((failed == 0))
