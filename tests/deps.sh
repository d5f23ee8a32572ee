#!/usr/bin/env bash
# Install the Debian packages the build, the tests and the demo need, when missing.
# Safe to run again: it only calls apt-get when something is absent.
set -euo pipefail

pkgs=(build-essential pkg-config gcc clang make
      libpam0g-dev libsystemd-dev libsqlite3-dev libcurl4-openssl-dev check libsubunit-dev
      libjson-c-dev libinih-dev libssl-dev libseccomp-dev libpq-dev postgresql-15
      sudo openssh-server openssh-client tlog pamtester libpam-wrapper libpamtest0-dev
      sqlite3 valgrind mandoc shellcheck cppcheck util-linux passwd procps iproute2 openssl python3)

missing=()
for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]}" >&2
        echo "run as root, or: apt-get install ${missing[*]}" >&2
        exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
