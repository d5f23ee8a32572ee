#!/usr/bin/env bash
# Host packages for `make deb` (deps.sh deb) and `make check-systemd`
# (deps.sh systemd), installed when missing. --no-install-recommends on
# purpose: systemd-container recommends libnss-mymachines, which edits
# /etc/nsswitch.conf on the host.
set -euo pipefail

case "${1:-}" in
deb)     pkgs=(dpkg-dev debhelper lintian) ;;
systemd) pkgs=(systemd-container debootstrap util-linux) ;;
*)       echo "usage: $0 deb|systemd" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]}; run as root, or: apt-get install --no-install-recommends ${missing[*]}" >&2
        exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
