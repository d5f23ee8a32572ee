#!/usr/bin/env bash
# make check's door to the real-systemd stories (tests/systemd/): build the
# Debian package, boot Debian 12 with systemd as PID 1 in a container,
# install it there and play tests/systemd/stories.sh. The same as
# `make check-systemd`. Takes two to three minutes, about one more the first
# time, when the container's root file system is built and cached.
# JIT_SKIP_SYSTEMD=1 skips it, with a SKIP line.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${JIT_SKIP_SYSTEMD:-}" = 1 ]; then
        echo "# SKIP real-systemd stories (tests/systemd): JIT_SKIP_SYSTEMD=1"
        exit 0
fi
if [ -n "${JIT_SANITIZED:-}" ]; then
        echo "# SKIP real-systemd stories under sanitizers: the package is built without them (make check plays them)"
        exit 0
fi
if ! { bash "$ROOT/tests/systemd/deps.sh" deb && bash "$ROOT/tests/systemd/deps.sh" systemd; } >/dev/null; then
        echo "not ok 1 - real systemd stories: cannot install systemd-container, debootstrap, debhelper, lintian"
        exit 1
fi
log=$(mktemp)
if ! make -C "$ROOT" --no-print-directory deb >"$log" 2>&1; then
        echo "not ok 1 - make deb builds the package for the real-systemd stories"
        tail -n 30 "$log" | sed 's/^/#   /'
        rm -f "$log"
        exit 1
fi
rm -f "$log"
exec bash "$ROOT/tests/systemd/run.sh" "$ROOT/build/deb"
