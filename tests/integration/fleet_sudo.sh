#!/usr/bin/env bash
# Story: issue 14's fleet story with real sudo, in make check. It plays
# tests/demo_fleet.sh (make demo-fleet: a throwaway PostgreSQL 15, three
# hosts web-01, web-02, db-01 each in namespaces of its own, with its own
# /etc/sudoers and /etc/pam.d/sudo) and checks what the demo only narrates:
# before the request sudo is refused on web-01; demo_alice requests once for
# web-*, demo_bob approves once (SSHSIG); real `sudo -n id -u` then works on
# web-01 and web-02 and is refused on db-01; one revoke on db-01 ends it on
# both web hosts (sudo refused again). The demo takes the stories' lock itself
# and removes all it made.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && sed 's/^/#   /' <<<"$2"; }

out=$(bash "$ROOT/tests/demo_fleet.sh" 2>&1 </dev/null)
rc=$?
[ "$rc" -eq 0 ] && ok "make demo-fleet's story runs to its end" || not_ok "the demo exits 0 (rc $rc)" "$(tail -n 15 <<<"$out")"
verdicts=$(grep -oE -- '-> (allowed|refused)' <<<"$out" | sed 's/-> //' | tr '\n' ' ')
want="refused allowed allowed refused refused refused "
[ "$verdicts" = "$want" ] &&
        ok "real sudo: refused before; after one approval allowed on web-01 and web-02, refused on db-01; refused on both after one revoke" ||
        not_ok "sudo verdicts: '$verdicts', want '$want'" "$(grep -B3 -- '->' <<<"$out" | head -n 40)"
grep -qE 'uid=|^ *0$' <<<"$out" && ok "... and the allowed sudo ran as root (id -u said 0)" ||
        not_ok "sudo ran as root" "$(grep -A2 'sudo -n id' <<<"$out" | head -n 20)"
leftover=$(getent passwd demo_alice demo_bob; pgrep -f '/tmp/fleet-demo\.' ; ls -d /tmp/fleet-demo.* 2>/dev/null)
[ -z "$leftover" ] && ok "nothing is left behind (users, processes, directories)" || not_ok "left behind" "$leftover"
echo "# $n cases, $failed failed"
[ "$failed" -eq 0 ]
