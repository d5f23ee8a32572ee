#!/usr/bin/env bash
# Governance: break-glass (immediate, alert-logged, notify, review by another
# admin, overdue), extensions (limits, fresh approvals, someone else's grant),
# the audit trail (export, verify; edits, deletions and insertions made with
# the sqlite3 shell are caught), reload (a broken config keeps the old one;
# users no longer eligible lose their grants), single-use grants.
. "$(dirname "$0")/../lib.sh"
jt_setup

group_add jt_sec; group_add jt_admins; group_add jt_oncall
user_add jt_alice jt_oncall
user_add jt_bob jt_sec
user_add jt_carol
user_add jt_dave jt_admins
user_add jt_erin "jt_admins,jt_oncall"

cat >"$T/notify" <<EOF2
#!/bin/sh
env | grep '^JIT_' | sort >"$T/notified"
EOF2
chmod 0755 "$T/notify"

conf() {  # conf EXTRA-MEMBERS-OF-OPS
        config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
admin_group = jt_admins
notify = $T/notify
review_within = 2s

[role:ops]
members   = jt_alice, jt_erin$1
services  = sudo
approval  = peer
approvers = %jt_sec
default_duration = 1h
max_duration = 2h
break_glass = %jt_oncall
break_glass_duration = 30m

[role:quick]
members   = jt_alice, jt_carol
services  = sudo
approval  = auto
ticket    = none
default_duration = 10m
max_duration = 30m

[role:twice]
members   = jt_carol
services  = sudo
approval  = auto
ticket    = none
default_duration = 10m
max_duration = 10m
max_extensions = 2

[role:once]
members   = jt_carol
services  = login
approval  = auto
ticket    = none
uses      = 1
EOF2
}
conf ", jt_carol"
jitd_start || exit 1

# Break-glass.
expect 2 "break-glass without a reason is a usage error" "needs" -- jc jt_alice break-glass -r ops
expect 1 "carol, not on the break_glass list, is refused" "may not use break-glass for role ops" -- \
        jc jt_carol break-glass -r ops -m "prod down"
expect 1 "break-glass longer than break_glass_duration is refused" "at most 30m" -- \
        jc jt_alice break-glass -r ops -m "prod down" -d 1h
expect 0 "alice (on call) gets an immediate grant with no ticket or approver" \
        "break-glass grant [0-9]+ for ops is active for 30m; an admin will review it" -- \
        jc jt_alice break-glass -r ops -m "prod down"
bg=$(jc jt_alice list --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["break_glass"]][0])')
expect 0 "it is flagged for review" '"review":"pending"' -- jc jt_alice show "$bg" --json
grep -qE "alert: event=break-glass seq=[0-9]+ hash=[0-9a-f]{64} grant=$bg " "$T/jitd.log" && ok "it was logged at alert priority" \
        || not_ok "break-glass logged at alert priority" "$(tail -5 "$T/jitd.log")"
wait_for 3 test -s "$T/notified" && grep -q "^JIT_GRANT=$bg$" "$T/notified" && grep -q '^JIT_REASON=prod down$' "$T/notified" \
        && ok "the notify command ran with the grant in its environment" || not_ok "notify ran" "$(cat "$T/notified" 2>&1)"
[ -f "$T/sudoers.d/jit-$bg" ] && ok "its drop-in is in place" || not_ok "break-glass drop-in"
expect 0 "the pending review is listed for admins" "^$bg +jt_alice +ops" -- jc jt_dave review
expect 1 "alice is no admin: she cannot review" "for admins" -- jc jt_alice review "$bg" --accept -m ok
expect 0 "erin (admin, on call) uses break-glass herself" "active" -- jc jt_erin break-glass -r ops -m "db down"
bg2=$(jc jt_erin list --user jt_erin --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["break_glass"]][0])')
expect 1 "erin cannot review her own break-glass grant" "cannot review your own" -- jc jt_erin review "$bg2" --accept -m "fine"
expect 2 "a review needs exactly one verdict" "" -- jc jt_dave review "$bg" --accept --reject -m x
sleep 2.2
expect 0 "reviews older than review_within show as overdue in status" "2 break-glass reviews overdue" -- jc jt_dave status
expect 0 "dave reviews alice's grant" "review accepted" -- jc jt_dave review "$bg" --accept -m "incident INC7"
expect 1 "reviewing twice is refused" "already reviewed" -- jc jt_dave review "$bg" --reject -m "changed my mind"
expect 0 "erin's is reviewed by dave" "review rejected" -- jc jt_dave review "$bg2" --reject -m "no incident found"
expect 0 "no review is pending any more" "no break-glass grant awaits review" -- jc jt_dave review
jc jt_alice release "$bg" >/dev/null; jc jt_erin release "$bg2" >/dev/null

# Extensions.
expect 0 "carol gets quick (auto) for 10m" "active" -- jc jt_carol request -r quick
q=$(jc jt_carol list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
before=$(grep -o 'NOTAFTER=[0-9]*Z' "$T/sudoers.d/jit-$q")
expect 0 "she extends it by 10m (auto: no approval)" "active until .*\((20m|19m[0-9]+s) left\)" -- jc jt_carol extend "$q" -d 10m -m "migration slow"
after=$(grep -o 'NOTAFTER=[0-9]*Z' "$T/sudoers.d/jit-$q")
[ "$before" != "$after" ] && ok "the drop-in's NOTAFTER moved ($before -> $after)" || not_ok "NOTAFTER moved"
expect 1 "past max_duration from activation is refused" "past the role's maximum of 30m" -- \
        jc jt_carol extend "$q" -d 15m -m "more"
expect 1 "alice cannot extend carol's grant" "no grant $q|not yours" -- jc jt_alice extend "$q" -d 1m -m "x"
expect 2 "an extension needs a reason" "" -- jc jt_carol extend "$q" -d 1m
expect 0 "carol gets twice (max_extensions = 2)" "active" -- jc jt_carol request -r twice
tw=$(jc jt_carol list --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["role"]=="twice"][0])')
expect 0 "first extension" "(20m|19m[0-9]+s) left" -- jc jt_carol extend "$tw" -d 10m -m one
expect 0 "second extension" "(30m|29m[0-9]+s) left" -- jc jt_carol extend "$tw" -d 10m -m two
expect 1 "a third is refused" "already extended 2 times" -- jc jt_carol extend "$tw" -d 10m -m three
expect 0 "each extension is audited" "^2$" -- sqlite3 "$DB" "SELECT count(*) FROM audit WHERE grant_id = $tw AND event = 'extended'"
expect 0 "alice requests ops (peer)" "pending" -- jc jt_alice request -r ops -d 1h
o=$(jc jt_alice list --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["role"]=="ops"][0])')
jc jt_bob approve "$o" >/dev/null
expect 0 "alice asks to extend: it waits for a fresh approval" "waits for 1 approval" -- jc jt_alice extend "$o" -d 30m -m "not done"
expect 1 "alice cannot approve her own extension" "cannot approve your own" -- jc jt_alice approve "$o"
expect 0 "bob approves the extension" "(1h30m|1h29m[0-9]+s) left" -- jc jt_bob approve "$o"
expect 0 "the grant now runs 1h30m" '"duration":5400' -- jc jt_alice show "$o" --json

# Audit trail.
expect 1 "carol (no admin) cannot read the audit trail" "for admins" -- jc jt_carol audit
expect 0 "the audit trail exports as JSON lines" '^\{"seq":1,"time":"[0-9T:-]+Z","actor":\{"uid":[0-9]+,"name":"jt_alice"\},"grant":[0-9]+,"event":"break-glass"' -- \
        jc jt_dave audit --json
expect 0 "filtered by grant" '"event":"extended"' -- jc jt_dave audit --grant "$q" --json
n=$(jc jt_dave audit --json --since 1h | wc -l)
[ "$n" -gt 10 ] && ok "--since 1h returns the recent events ($n)" || not_ok "--since 1h" "$n"
expect 0 "the chain verifies" "audit chain intact: [0-9]+ events verified" -- jc jt_dave audit verify
jitd_stop
sqlite3 "$DB" ".backup '$T/db.bak'"
sqlite3 "$DB" "UPDATE audit SET details = '{\"reason\":\"nothing to see\"}' WHERE seq = 3"
jitd_start || exit 1
expect 1 "an edit made with the sqlite3 shell is caught" "event 3 was edited" -- jc jt_dave audit verify
jitd_stop; rm -f "$DB-wal" "$DB-shm"; cp "$T/db.bak" "$DB"
sqlite3 "$DB" "DELETE FROM audit WHERE seq = 5"
jitd_start || exit 1
expect 1 "a deletion is caught" "event 5 is missing" -- jc jt_dave audit verify
jitd_stop; rm -f "$DB-wal" "$DB-shm"; cp "$T/db.bak" "$DB"
# A forged event slipped in between 4 and 5, the rest renumbered.
sqlite3 "$DB" "UPDATE audit SET seq = seq + 100000 WHERE seq >= 5;
UPDATE audit SET seq = seq - 99999 WHERE seq >= 100000;
INSERT INTO audit (seq, at, actor_uid, actor, grant_id, event, details, prev_hash, hash)
  SELECT 5, at, 0, 'root', grant_id, 'approved', '{}', hash, printf('%064d', 0) FROM audit WHERE seq = 4;"
jitd_start || exit 1
expect 1 "an insertion is caught" "event [0-9]+ (does not chain|was edited|is missing)" -- jc jt_dave audit verify
jitd_stop; rm -f "$DB-wal" "$DB-shm"; cp "$T/db.bak" "$DB"
jitd_start || exit 1
expect 0 "the restored database verifies again" "intact" -- jc jt_dave audit verify

# Reload.
cp "$CONF" "$T/good.conf"
printf '\n[role:broken]\nmembers = jt_alice\nmistake = yes\n' >>"$CONF"
expect 1 "a reload with a broken config is refused, errors reported" "old configuration stays in force.*jitd.conf:[0-9]+: .*mistake" -- \
        jc jt_dave reload
kill -HUP "$JITD_PID"; sleep 0.3
grep -q "reload refused, the old configuration stays in force" "$T/jitd.log" && ok "SIGHUP with a broken config is refused too" \
        || not_ok "SIGHUP refused"
expect 0 "the old config is still in force" "state: +active" -- jc jt_alice show "$o"
expect 1 "carol cannot reload (admins)" "for admins" -- jc jt_carol reload
expect 0 "carol still holds quick under the old config" "state: +active" -- jc jt_carol show "$q"
conf ""
sed -i 's/members   = jt_alice, jt_carol$/members   = jt_alice/' "$CONF"
expect 0 "a valid reload that drops carol from quick" "2 grants of users no longer eligible revoked|grants? of users no longer eligible revoked" -- jc jt_dave reload
expect 0 "carol's quick grant was revoked, reason recorded" "no longer eligible for role quick" -- jc jt_carol show "$q"
[ ! -e "$T/sudoers.d/jit-$q" ] && ok "and its drop-in is gone" || not_ok "drop-in of a revoked-on-reload grant"

# Single use.
pam_service login ""
expect 0 "carol gets a single-use login grant" "active" -- jc jt_carol request -r once
s1=$(jc jt_carol list --json | python3 -c 'import json,sys; print([g["id"] for g in json.load(sys.stdin) if g["role"]=="once"][0])')
expect 0 "her first login session opens and closes" "close: PAM_SUCCESS" -- \
        pam_check login jt_carol --phase account --phase open --phase close
sleep 1.6
expect 0 "the grant ended with its first session" "state: +expired" -- jc jt_carol show "$s1"
expect 1 "a second login is refused" "PAM_PERM_DENIED" -- pam_check login jt_carol
finish
