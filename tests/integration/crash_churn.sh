#!/usr/bin/env bash
# jitd is killed with SIGKILL at random moments while at least 200 grants are
# created, expire and are released. After a restart and reconciliation: no
# jit-* drop-in without an active grant, no ended grant usable through real
# sudo, and no grant that was reported active lost.
. "$(dirname "$0")/../lib.sh"
needs_plain_pam_module
in_private_namespace "$@"
jt_setup

users=(jt_ch1 jt_ch2 jt_ch3 jt_ch4 jt_ch5 jt_ch6)
roles=(r1 r2 r3 r4 r5)
for u in "${users[@]}"; do user_add "$u"; done
{
        echo "[jitd]"
        echo "socket = $SOCK"
        echo "database = $DB"
        echo "sudoers_dir = $T/sudoers.d"
        echo "host = testhost"
        for r in "${roles[@]}"; do
                echo
                echo "[role:$r]"
                echo "members = ${users[*]}" | sed 's/ /, /g; s/members, =,/members =/'
                echo "services = sudo"
                echo "nopasswd = yes"
                echo "approval = auto"
                echo "ticket = none"
                echo "default_duration = 2s"
                echo "max_duration = 1h"
        done
} | config_write
sudoers_write
cat >"$T/pam-sudo" <<EOF2
auth     required pam_permit.so
account  required $T/bin/pam_jit.so socket=$SOCK timeout=500
account  required pam_permit.so
EOF2
bind_over "$T/sudoers" /etc/sudoers
bind_over "$T/pam-sudo" /etc/pam.d/sudo
jitd_start || exit 1
expect 0 "the churn config is valid" "OK \(5 roles" -- "$T/bin/jitd" -c "$CONF" --check

# The killer: SIGKILL jitd every 0.1-0.6 s and start it again, until told to stop.
killer() {
        while [ ! -e "$T/stop-killing" ]; do
                sleep "0.$(( RANDOM % 5 + 1 ))"
                pkill -KILL -f "^$T/bin/jitd " 2>/dev/null
                ( "$T/bin/jitd" -c "$CONF" 2>>"$T/jitd.log" & )
                for _ in $(seq 1 40); do [ -S "$SOCK" ] && break; sleep 0.02; done
        done
}
kill -KILL "$JITD_PID"; wait "$JITD_PID" 2>/dev/null; JITD_PID=
killer &
killer_pid=$!

reported=0 attempts=0 kills_seen=0
: >"$T/active-ids"
while [ "$reported" -lt 200 ] && [ "$attempts" -lt 4000 ]; do
        attempts=$((attempts + 1))
        u=${users[$((RANDOM % ${#users[@]}))]}
        r=${roles[$((RANDOM % ${#roles[@]}))]}
        out=$(as "$u" "$T/bin/jitctl" -s "$SOCK" request -r "$r" -d "$((RANDOM % 2 + 1))s" 2>&1)
        rc=$?
        [ "$rc" -eq 3 ] && kills_seen=$((kills_seen + 1))
        if [ "$rc" -eq 0 ] && [[ "$out" =~ grant\ ([0-9]+)\ for\ .*\ is\ active ]]; then
                echo "${BASH_REMATCH[1]} $u" >>"$T/active-ids"
                reported=$((reported + 1))
                # Release about a third of them at once.
                [ $((RANDOM % 3)) -eq 0 ] && as "$u" "$T/bin/jitctl" -s "$SOCK" release "${BASH_REMATCH[1]}" >/dev/null 2>&1
        fi
done
touch "$T/stop-killing"
wait "$killer_pid"
pkill -KILL -f "^$T/bin/jitd " ; sleep 0.1
restarts=$(grep -c "serving on" "$T/jitd.log")
[ "$reported" -ge 200 ] && ok "$reported grants reported active across $restarts jitd starts ($kills_seen requests met a dead jitd)" \
        || not_ok "at least 200 grants went active" "only $reported in $attempts attempts"

# Let every grant end; then one clean start reconciles.
sleep 2.5
jitd_start || exit 1

stray=0
for f in "$T"/sudoers.d/jit-*; do
        [ -e "$f" ] || continue
        id=${f##*/jit-}
        state=$(sqlite3 "$DB" "SELECT state FROM grants WHERE id = $id")
        [ "$state" = active ] || { stray=$((stray + 1)); echo "# $f belongs to grant state '$state'"; }
done
[ "$stray" -eq 0 ] && ok "no jit-* drop-in without an active grant" || not_ok "drop-ins without an active grant: $stray"

usable=0
for u in "${users[@]}"; do
        n=$(sqlite3 "$DB" "SELECT count(*) FROM grants WHERE user = '$u' AND state = 'active'")
        if [ "$n" -eq 0 ] && as "$u" sudo -n true 2>/dev/null; then
                usable=$((usable + 1)); echo "# $u can still sudo without an active grant"
        fi
done
[ "$usable" -eq 0 ] && ok "no ended grant is usable through real sudo" || not_ok "ended grants usable: $usable"

lost=0
while read -r id u; do
        row=$(sqlite3 "$DB" "SELECT user || ' ' || state FROM grants WHERE id = $id")
        case "$row" in
        "$u active"|"$u expired"|"$u released") ;;
        *) lost=$((lost + 1)); echo "# grant $id reported active to $u is now: '${row:-missing}'" ;;
        esac
done <"$T/active-ids"
[ "$lost" -eq 0 ] && ok "no grant reported active was lost ($(wc -l <"$T/active-ids") checked)" || not_ok "lost grants: $lost"

open=$(sqlite3 "$DB" "SELECT count(*) FROM grants WHERE state = 'active' AND expires_at <= strftime('%s','now')")
[ "$open" -eq 0 ] && ok "no grant is active past its end after restart" || not_ok "grants active past their end: $open"
expect 0 "the audit chain survived the crashes" "" -- bash -c "sqlite3 '$DB' 'SELECT count(*) FROM audit' | grep -qv '^0$'"
finish
