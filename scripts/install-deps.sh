#!/usr/bin/env bash
# Installs every Debian package Rebound needs to build, test and benchmark.
# Idempotent: packages already present are skipped, and `apt-get update` runs
# only when something is missing. Runs as root on a bare Debian 12.
set -euo pipefail

build_pkgs=(
  ca-certificates git pkg-config cmake ninja-build g++ make
  clang libclang-rt-14-dev            # libFuzzer and sanitizers
  libvectorscan-dev                   # many regexes in one pass
  libtomlplusplus-dev                 # rules and config
  nlohmann-json3-dev                  # JSON in and out
  libcli11-dev                        # command line
  zlib1g-dev                          # .gz input
  libsqlite3-dev                      # durable queue
  libsodium-dev                       # argon2id password hashes
  libboost-dev libssl-dev             # Asio + TLS for the relay
  tzdata                              # relay: per-account time zones for quotas
  libc-ares-dev                       # asynchronous DNS
  libopendkim-dev                     # DKIM signing (RSA and Ed25519)
  libspf2-dev libpsl-dev              # SPF evaluation; organizational domains (public suffix list)
  libkainjow-mustache-dev             # HTTP API: batch templates
  prometheus-cpp-dev                  # /metrics exposition
  libsystemd-dev                      # serve under systemd: readiness, watchdog, the journal
  libgtest-dev libgmock-dev libbenchmark-dev
)
# scripts/package: CPack's DEB generator reads ELF files (file, readelf) and
# asks dpkg-shlibdeps for the run-time dependencies.
package_pkgs=(dpkg-dev file binutils)
test_pkgs=(
  debootstrap lintian systemd man-db  # the package installed into a clean Debian 12 root, lintian, systemd-analyze, man page warnings
  python3 python3-aiosmtpd swaks postfix dnsmasq-base
  openssl                             # test certificates for the delivery STARTTLS test
  libnet-ssleay-perl libio-socket-ssl-perl  # swaks STARTTLS in the relay tests
  libsisimai-perl pflogsumm
  python3-dkim opendkim opendkim-tools  # two independent DKIM verifiers; Postfix+OpenDKIM peer bench
  python3-jsonschema python3-requests python3-yaml  # the HTTP API tests (OpenAPI schemas, a real client)
  wrk                                 # HTTP load for bench/peer_api.sh
  prometheus                          # promtool check metrics
  time                                # /usr/bin/time -v: peak RSS in bench/peer_parse.sh
  chromium                            # renders rebound scan --html in a test
  libluajit2-5.1-2 libglib2.0-0 libicu72 libunwind8 libpcre2-8-0  # rspamd's run-time libraries (rspamd itself: see below)
  libdb5.3 libgnutls30 libgnutls-dane0 libidn12 libidn2-0 libnsl2 libcrypt1  # exim4's run-time libraries (exim4 itself: see below)
)

want=("${build_pkgs[@]}")
case "${1:-}" in
  --with-packaging) want+=("${package_pkgs[@]}") ;;
  --with-tests) want+=("${package_pkgs[@]}" "${test_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

export DEBIAN_FRONTEND=noninteractive
updated=0
if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}" >&2
  # postfix asks questions at install time; answer them up front.
  if command -v debconf-set-selections >/dev/null; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  fi
  apt-get update -q
  updated=1
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# rspamd for tests/relay/content_check_test.py. Debian 12's rspamd package
# depends on libhyperscan5 (>= 5.4.0), which conflicts with libvectorscan5
# (our libvectorscan-dev), so apt cannot install it next to the build deps.
# Its files are unpacked into a private tree instead (no maintainer scripts,
# so no system daemon is started); rspamd runs from there against
# vectorscan's ABI-compatible libhs.so.5. The test finds it at this path.
rspamd_root=/opt/rebound-test/rspamd
if [[ "${1:-}" == "--with-tests" && ! -x "$rspamd_root/usr/bin/rspamd" ]] && ! command -v rspamd >/dev/null; then
  echo "install-deps: unpacking rspamd into $rspamd_root" >&2
  ((updated)) || apt-get update -q
  tmp=$(mktemp -d)
  (cd "$tmp" && chmod 777 . && apt-get download -q rspamd)
  mkdir -p "$rspamd_root"
  dpkg-deb -x "$tmp"/rspamd_*.deb "$rspamd_root"
  rm -rf "$tmp"
fi

# Exim for tests/logs/make_exim_fixtures.sh (real Exim logs as scan fixtures).
# exim4-daemon-light conflicts with postfix (both provide
# mail-transport-agent), which other tests need, so its files are unpacked
# into a private tree like rspamd's; the binary is run with its own -C config.
# It was built to run as the Debian-exim user, which its package's maintainer
# scripts would create; create it here the same way (system user, no login).
exim_root=/opt/rebound-test/exim4
if [[ "${1:-}" == "--with-tests" && ! -x "$exim_root/usr/sbin/exim4" ]]; then
  echo "install-deps: unpacking exim4-daemon-light into $exim_root" >&2
  ((updated)) || apt-get update -q
  updated=1
  tmp=$(mktemp -d)
  (cd "$tmp" && chmod 777 . && apt-get download -q exim4-daemon-light)
  mkdir -p "$exim_root"
  dpkg-deb -x "$tmp"/exim4-daemon-light_*.deb "$exim_root"
  rm -rf "$tmp"
fi
if [[ "${1:-}" == "--with-tests" ]] && ! id Debian-exim >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /var/spool/exim4 --shell /usr/sbin/nologin Debian-exim
fi
