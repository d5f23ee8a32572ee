#!/usr/bin/env bash
# Story: ticket-approved (and auto-approved) fleet grants. Three hosts
# (web-01, web-02, db-01) share one PostgreSQL 15 fleet database; each has
# its own ticket server (tests/ticketd.py, Redmine's API over HTTPS), so that
# each host's lookups are counted apart and each can be told something else.
# jt_alice requests role change (approval = ticket) once, on web-01, with
# ticket 101: each host looks the ticket up itself, once, after a random
# delay below [fleet] ticket_jitter; web-01 and web-02, whose servers say
# Approved, enforce it; db-01, whose server says New, does not, audits
# fleet-refused once, and enforces it when its server says Approved (its
# poll asks again). An HTTP 500 on web-02 is the same: not enforced, audited,
# retried. Two grants with one ticket: one lookup per host. A ticket server
# that hangs (db-01's, for one ticket): PAM checks on db-01 answer at once and
# another fleet grant is enforced there meanwhile. A grant waiting for its
# ticket past its duration from the request expires; one approved late ends
# at its duration from the request, not from the approval. The ticket closed:
# the grant is revoked on all three hosts. Role logs (approval = auto on the
# web hosts, peer on db-01): enforced at once on web-01 and web-02 without a
# lookup, not on db-01; its copy cannot be extended. Refused at the request:
# a ticket role without a ticket (ticket and peer together too). Role both
# (approval = ticket, peer): jt_carol requests it for web-* with ticket 110;
# no host makes a copy or asks its ticket server before jt_bob's signed
# approval; then web-01 (server: Approved) enforces it (sudo's PAM check and
# jitctl check say allow), web-02 (server: New) does not and audits why,
# db-01 (out of scope) says nothing; jt_bob cannot approve web-02's copy by
# its local id; web-02 enforces it once its server says
# Approved, with the same end as web-01 (duration after the approval); the
# ticket closed: revoked on both.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fleet_lib.sh"
. "$(dirname "$0")/../pg_lib.sh"
pg_require
command -v openssl >/dev/null || { echo "# SKIP openssl is missing"; exit 0; }
command -v ssh-keygen >/dev/null || { echo "# SKIP ssh-keygen is missing"; exit 0; }
jt_setup

HOSTS="web-01 web-02 db-01"
# shellcheck disable=SC2034 # used by tests/fleet_lib.sh
declare -A PID

if ! pg_start; then
        not_ok "PostgreSQL 15 starts in $T/pg"
        finish
        exit
fi
ok "PostgreSQL 15 starts in $T/pg"

OWNER_PW=$(pg_random)
pg_super "CREATE ROLE jit_owner LOGIN CREATEROLE PASSWORD '$OWNER_PW'" "CREATE DATABASE fleet OWNER jit_owner" \
         "REVOKE CONNECT ON DATABASE fleet FROM PUBLIC"
ADMIN="host=$PG_DIR dbname=fleet user=jit_owner"
admin() { PGPASSWORD=$OWNER_PW "$T/bin/jitctl" "$@"; }
owner_sql() { pg_as "$ADMIN" "$OWNER_PW" "$@"; }
expect 0 "fleet init" 'created' -- admin fleet init -D "$ADMIN"

group_add jt_webops
user_add jt_alice jt_webops
user_add jt_bob
user_add jt_carol jt_webops

# bob's key, listed for approvals in an allowed_signers file root keeps
# (role both: ticket and peer together).
mkdir -m 0700 "$T/bobkeys"
ssh-keygen -q -t ed25519 -N '' -C bob -f "$T/bobkeys/key" || exit 1
chown -R jt_bob "$T/bobkeys"
mkdir -m 0755 "$T/signers"
echo "jt_bob namespaces=\"pam-jit-approval\" $(cat "$T/bobkeys/key.pub")" >"$T/signers/allowed_signers"
chmod 0644 "$T/signers/allowed_signers"

# One ticket server per host, all with the same test CA and token.
declare -A TD_PID TD_PORT TD_CTL
ticketd_start s3cret jt_alice || { not_ok "the ticket server starts"; finish; exit; }
TD_PID[web-01]=$TICKETD TD_PORT[web-01]=$HTTPS TD_CTL[web-01]=$CTL
for h in web-02 db-01; do
        python3 "$ROOT/tests/ticketd.py" --tls "$T/srv.pem" "$T/srv.key" --token s3cret --requester jt_alice \
                --port-file "$T/ports.$h" >/dev/null 2>"$T/ticketd.$h.log" 9>&- &
        TD_PID[$h]=$!
        wait_for 10 grep -q '^https ' "$T/ports.$h" || { not_ok "the ticket server of $h starts"; finish; exit; }
        TD_PORT[$h]=$(awk '$1 == "https" { print $2 }' "$T/ports.$h")
        TD_CTL[$h]="http://127.0.0.1:$(awk '$1 == "http" { print $2 }' "$T/ports.$h")/_control"
done
ticketds_stop() { local h; for h in $HOSTS; do kill "${TD_PID[$h]}" 2>/dev/null; done; }
CLEANUP_HOOKS=(ticketds_stop "${CLEANUP_HOOKS[@]}")
ok "three ticket servers (Redmine's API over HTTPS), one per host"
printf 's3cret\n' >"$T/token"
chmod 0600 "$T/token"

tk() {  # tk HOST|all TICKET JSON: what that host's ticket server says
        local h hs=$1
        [ "$hs" = all ] && hs=$HOSTS
        for h in $hs; do
                curl -fsS -X POST -H 'Content-Type: application/json' -d "$3" "${TD_CTL[$h]}/ticket/$2" >/dev/null ||
                        return 1
        done
}
lookups() {  # lookups HOST TICKET: how often HOST's server was asked about TICKET
        curl -fsS "${TD_CTL[$1]}/count" | python3 -c "import json,sys; print(json.load(sys.stdin)['tickets'].get('$2', 0))"
}
total_lookups() { curl -fsS "${TD_CTL[$1]}/count" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])"; }

declare -A CONNINFO PW
for h in $HOSTS; do
        d=$T/h/$h
        mkdir -p "$d/db" "$d/pam" "$d/sudoers.d"
        chmod 0755 "$T/h" "$d"
        chmod 0750 "$d/sudoers.d"
        out=$(admin fleet add-host "$h" -D "$ADMIN" --password-file "$d/password") ||
                { not_ok "fleet add-host $h" "$out"; finish; exit; }
        CONNINFO[$h]=$(sed -n 's/^database = //p' <<<"$out")
        # shellcheck disable=SC2034 # read by as_host (tests/fleet_lib.sh)
        PW[$h]=$(cat "$d/password")
        logs="approval = auto"
        [ "$h" = db-01 ] && logs=$'approval = peer\napprovers = jt_bob'
        cat >"$d/jitd.conf" <<EOF2
[jitd]
socket = $d/jitd.sock
database = $d/db/jitd.db
sudoers_dir = $d/sudoers.d
host = $h
teardown = ${JIT_FLEET_TEARDOWN:-pidfd}

[role:change]
members = %jt_webops
hosts = *
approval = ticket
ticket = required
max_duration = 4h

[role:logs]
members = %jt_webops
hosts = *
$logs
max_duration = 4h

[role:both]
members = %jt_webops
approval = ticket, peer
approvers = jt_bob
ticket = required

[ticket]
provider = redmine
url = https://127.0.0.1:${TD_PORT[$h]}
token_file = $T/token
ca_file = $T/ca.pem
poll = 10m
timeout = 2s

[fleet]
database = ${CONNINFO[$h]}
password_file = $d/password
sync = 1s
ticket_jitter = 2s
allowed_signers = $T/signers/allowed_signers
EOF2
        chmod 0644 "$d/jitd.conf"
        cat >"$d/pam/sudo" <<EOF2
account  required $T/bin/pam_jit.so socket=$d/jitd.sock
account  required pam_permit.so
EOF2
done
ok "three hosts added with jitctl fleet add-host; role change is ticket-approved, each host asks its own server"

CLEANUP_HOOKS=(hosts_stop "${CLEANUP_HOOKS[@]}")
for h in $HOSTS; do
        host_start "$h" || { not_ok "jitd starts on $h with [fleet] and [ticket]"; finish; exit; }
done
st() { "$T/bin/jitctl" -s "$T/h/$1/jitd.sock" status; }
status_has() { local out; out=$(st "$1" 2>&1); grep -q "$2" <<<"$out"; }
if wait_for 10 status_has web-01 '^fleet: connected' && wait_for 10 status_has web-02 '^fleet: connected' &&
   wait_for 10 status_has db-01 '^fleet: connected'; then
        ok "jitd runs on the three hosts, connected to the fleet"
else
        not_ok "the hosts connect" "$(st db-01 2>&1)"
fi

jc_on() {  # jc_on HOST USER ARGS...: jitctl as USER against HOST's jitd
        local h=$1 u=$2; shift 2
        runuser -u "$u" -- "$T/bin/jitctl" -s "$T/h/$h/jitd.sock" "$@"
}
fleet_id() { grep -oE 'fleet grant F[0-9]+' <<<"$LAST_OUT" | head -1 | grep -oE '[0-9]+'; }
db() { sqlite3 "$T/h/$1/db/jitd.db" "$2"; }
state_on() { db "$1" "SELECT g.state FROM grants g JOIN fleet_grants f ON f.grant_id = g.id WHERE f.fleet_id = $2"; }
state_is() { [ "$(state_on "$1" "$2")" = "$3" ]; }
states() {  # states FLEET_ID: each host's state of it
        local h out=
        for h in $HOSTS; do out+="$h:$(state_on "$h" "$1") "; done
        echo "${out% }"
}
refused_with() {  # refused_with HOST FLEET_ID TEXT: a fleet-refused event about it saying TEXT
        [ "$(db "$1" "SELECT count(*) FROM audit WHERE event = 'fleet-refused'
                      AND details LIKE '%\"fleet_grant\":$2,%' AND instr(details, '$3') > 0")" -ge 1 ]
}
pam_as() { "$T/bin/pamcheck" "$T/h/$1/pam" sudo "$2"; }
fleet_grants() { owner_sql "SELECT count(*) FROM jit.grants"; }

# ---- refused at the request ---------------------------------------------------------

expect 1 "a ticket role without a ticket is refused" "ticket required" -- jc_on web-01 jt_alice request -r change -m story
expect 1 "so is a role approved by ticket and peer together" "ticket required" -- \
        jc_on web-01 jt_alice request -r both -m story
[ "$(fleet_grants)" = 0 ] && ok "... neither reached the database" || not_ok "grants in the database: $(fleet_grants)"

# ---- request once: each host looks the ticket up itself ---------------------------------

tk web-01 101 '{"state":"approved"}'
tk web-02 101 '{"state":"approved"}'
tk db-01 101 '{"state":"pending"}'
expect 0 "jt_alice requests role change with ticket 101 on web-01, once" \
        "fleet grant F[0-9]+ for change on hosts \\* for 1h is pending: each host in its scope enforces it once its own lookup finds ticket 101 approved" -- \
        jc_on web-01 jt_alice request -r change -t 101 -d 1h -m 'deploy'
G1=$(fleet_id)
if wait_for 6 state_is web-01 "$G1" active && wait_for 6 state_is web-02 "$G1" active; then
        ok "fleet grant $G1: web-01 and web-02 enforce it, each on its own server's Approved"
else
        not_ok "fleet grant $G1 on the web hosts" "$(states "$G1"); $(tail -5 "$T/h/web-02/jitd.log")"
fi
if wait_for 6 refused_with db-01 "$G1" "ticket 101 is New"; then
        ok "db-01, whose server says New, does not enforce it ($(state_on db-01 "$G1")) and audits why (fleet-refused)"
else
        not_ok "db-01 refuses fleet grant $G1" "$(states "$G1"); $(tail -5 "$T/h/db-01/jitd.log")"
fi
has_dropin web-01 && has_dropin web-02 && no_dropin db-01 && ok "drop-ins on web-01 and web-02, none on db-01" ||
        not_ok "drop-ins" "web-01 $(dropins web-01), web-02 $(dropins web-02), db-01 $(dropins db-01)"
expect 0 "PAM allows jt_alice on web-01" "account: PAM_SUCCESS" -- pam_as web-01 jt_alice
expect 0 "PAM allows jt_alice on web-02" "account: PAM_SUCCESS" -- pam_as web-02 jt_alice
expect 1 "PAM denies jt_alice on db-01" "PAM_PERM_DENIED" -- pam_as db-01 jt_alice
sleep 0.5
n1=$(lookups web-01 101) n2=$(lookups web-02 101) n3=$(lookups db-01 101)
[ "$n1" = 1 ] && [ "$n2" = 1 ] && [ "$n3" = 1 ] &&
        ok "each host asked its own ticket server exactly once about ticket 101" ||
        not_ok "lookups of ticket 101" "web-01 $n1, web-02 $n2, db-01 $n3"
delays=""
for h in $HOSTS; do
        ms=$(grep -oE "fleet grant F$G1 .*lookup of ticket 101 \\(in [0-9]+ ms\\)" "$T/h/$h/jitd.log" | grep -oE '[0-9]+ ms' | tail -1)
        delays+="$h ${ms:-?}, "
        [ -n "$ms" ] && [ "${ms% ms}" -lt 2000 ] || bad_delay=1
done
[ -z "${bad_delay:-}" ] && ok "each host waited its own random delay below ticket_jitter (2s) first: ${delays%, }" ||
        not_ok "the first lookups' delays" "${delays%, }"
sleep 1.5
[ "$(db db-01 "SELECT count(*) FROM audit WHERE event = 'fleet-refused' AND details LIKE '%\"fleet_grant\":$G1,%'")" = 1 ] &&
        ok "... db-01 said it once (catch-ups do not ask again)" || not_ok "fleet-refused on db-01: more than once"

# ---- an error at one host's ticket server ------------------------------------------------

tk all 102 '{"state":"approved"}'
tk web-02 102 '{"mode":"500"}'
expect 0 "jt_alice requests role change with ticket 102" "fleet grant F[0-9]+" -- \
        jc_on web-01 jt_alice request -r change -t 102 -d 1h -m 'fix'
G2=$(fleet_id)
wait_for 6 state_is web-01 "$G2" active && wait_for 6 state_is db-01 "$G2" active &&
        ok "fleet grant $G2: enforced on web-01 and db-01" || not_ok "fleet grant $G2" "$(states "$G2")"
if wait_for 15 refused_with web-02 "$G2" "the ticket system failed (HTTP 500)"; then
        ok "web-02, whose server answers HTTP 500, does not enforce it ($(state_on web-02 "$G2")) and audits why"
else
        not_ok "web-02 refuses fleet grant $G2 on a 500" "$(states "$G2"); $(tail -5 "$T/h/web-02/jitd.log")"
fi

# ---- two grants with one ticket: one lookup per host --------------------------------------

tk all 103 '{"state":"approved"}'
expect 0 "jt_alice requests role change with ticket 103" "fleet grant F[0-9]+" -- \
        jc_on web-01 jt_alice request -r change -t 103 -d 1h -m 'first'
G3A=$(fleet_id)
expect 0 "... and again with the same ticket" "fleet grant F[0-9]+" -- \
        jc_on web-01 jt_alice request -r change -t 103 -d 30m -m 'second'
G3B=$(fleet_id)
all_active() {  # all_active FLEET_ID...
        local g h
        for g; do for h in $HOSTS; do state_is "$h" "$g" active || return 1; done; done
}
wait_for 8 all_active "$G3A" "$G3B" && ok "fleet grants $G3A and $G3B: enforced on all three hosts" ||
        not_ok "grants $G3A and $G3B" "$(states "$G3A"); $(states "$G3B")"
sleep 0.5
n1=$(lookups web-01 103) n2=$(lookups web-02 103) n3=$(lookups db-01 103)
[ "$n1" = 1 ] && [ "$n2" = 1 ] && [ "$n3" = 1 ] && ok "... after one lookup of ticket 103 per host" ||
        not_ok "lookups of ticket 103" "web-01 $n1, web-02 $n2, db-01 $n3"

# ---- a ticket server that hangs ---------------------------------------------------------------

tk all 104 '{"state":"approved"}'
tk db-01 104 '{"mode":"slow","slow":60}'
tk all 105 '{"state":"approved"}'
expect 0 "jt_alice requests role change with ticket 104 (db-01's server hangs on it)" "fleet grant F[0-9]+" -- \
        jc_on web-01 jt_alice request -r change -t 104 -d 1h -m 'hang'
G4=$(fleet_id)
t0=$(now_ms)
expect 0 "... and another with ticket 105" "fleet grant F[0-9]+" -- \
        jc_on web-01 jt_alice request -r change -t 105 -d 1h -m 'meanwhile'
G5=$(fleet_id)
worst=0
pam_quick() {  # one PAM check on db-01: its time in ms into worst
        local a b
        a=$(now_ms); pam_as db-01 jt_alice >/dev/null; b=$(now_ms)
        [ $((b - a)) -gt "$worst" ] && worst=$((b - a))
        return 0
}
enforced_meanwhile() { pam_quick; state_is db-01 "$G5" active; }
if wait_for 6 enforced_meanwhile; then
        ms=$(( $(now_ms) - t0 ))
        if refused_with db-01 "$G4" "ticket"; then
                not_ok "fleet grant $G5 on db-01: the hung lookup had already ended ($ms ms)"
        else
                ok "db-01 enforces fleet grant $G5 ($ms ms) while its lookup of ticket 104 hangs ($(state_on db-01 "$G4"))"
        fi
else
        not_ok "fleet grant $G5 on db-01 while ticket 104 hangs" "$(states "$G5"); $(tail -5 "$T/h/db-01/jitd.log")"
fi
for _ in 1 2 3 4 5; do pam_quick; sleep 0.2; done
[ "$worst" -lt 1000 ] && ok "PAM on db-01 answered within $worst ms at worst while the ticket server hung (not blocked: < 1000)" ||
        not_ok "PAM on db-01 took $worst ms while the ticket server hung"
wait_for 6 state_is web-01 "$G4" active && wait_for 6 state_is web-02 "$G4" active &&
        ok "fleet grant $G4: enforced on web-01 and web-02, whose servers answer" || not_ok "fleet grant $G4" "$(states "$G4")"
if wait_for 20 refused_with db-01 "$G4" "did not answer within 2s"; then
        ok "db-01 gives up on the hung lookup, does not enforce $G4 ($(state_on db-01 "$G4")), and audits why"
else
        not_ok "db-01's hung lookup ends in a refusal" "$(states "$G4"); $(grep -i ticket "$T/h/db-01/jitd.log" | tail -5)"
fi

# ---- auto-approved: each host's own policy ------------------------------------------------------

before=$(( $(total_lookups web-01) + $(total_lookups web-02) + $(total_lookups db-01) ))
expect 0 "jt_carol requests role logs (auto on the web hosts, peer on db-01) on web-01" \
        "fleet grant F[0-9]+ for logs on hosts \\* for 1h is requested: each host in its scope whose own policy approves role logs automatically enforces it at once" -- \
        jc_on web-01 jt_carol request -r logs -d 1h -m 'read logs'
GL=$(fleet_id)
wait_for 5 state_is web-01 "$GL" active && wait_for 5 state_is web-02 "$GL" active &&
        ok "fleet grant $GL: enforced at once on web-01 and web-02 (their role logs is auto)" || not_ok "grant $GL" "$(states "$GL")"
sleep 1.5
if [ -z "$(state_on db-01 "$GL")" ] && ! refused_with db-01 "$GL" "logs"; then
        ok "... and not on db-01, whose role logs is peer-approved: it waits for approvals, saying nothing yet"
else
        not_ok "db-01 and the auto grant" "$(states "$GL")"
fi
expect 0 "PAM allows jt_carol on web-01" "account: PAM_SUCCESS" -- pam_as web-01 jt_carol
expect 1 "PAM denies jt_carol on db-01" "PAM_PERM_DENIED" -- pam_as db-01 jt_carol
after=$(( $(total_lookups web-01) + $(total_lookups web-02) + $(total_lookups db-01) ))
[ "$before" = "$after" ] && ok "no ticket server was asked for it" || not_ok "lookups for an auto grant" "$before -> $after"
local_gl=$(db web-01 "SELECT grant_id FROM fleet_grants WHERE fleet_id = $GL")
expect 0 "jt_carol's extend of web-01's copy of it extends the fleet grant (auto: each host adds it at once)" \
        "extension 1 of fleet grant F$GL \\(10m more\\) is recorded" -- \
        jc_on web-01 jt_carol extend "$local_gl" -d 10m -m 'more'
as_host web-01 "SELECT jit.end_grant('web-01', $GL, 'revoked', 'root', 'next case')" >/dev/null
wait_for 4 state_is web-01 "$GL" revoked && wait_for 4 state_is web-02 "$GL" revoked &&
        ok "... revoked in the fleet: ended on both web hosts" || not_ok "grant $GL ends" "$(states "$GL")"

# ---- poll every second: retries, the fleet's time, closure -----------------------------------------

hosts_stop
for h in $HOSTS; do sed -i 's/^poll = .*/poll = 1s/' "$T/h/$h/jitd.conf"; done
tk db-01 104 '{"mode":"normal"}'
for h in $HOSTS; do
        host_start "$h" || { not_ok "jitd starts again on $h"; finish; exit; }
done
ok "the three jitds restarted with poll = 1s"

tk db-01 101 '{"state":"approved"}'
wait_for 6 state_is db-01 "$G1" active && has_dropin db-01 &&
        ok "db-01's server now says Approved: db-01 enforces fleet grant $G1 (asked again at its poll)" ||
        not_ok "db-01 retries ticket 101" "$(states "$G1"); $(tail -5 "$T/h/db-01/jitd.log")"
tk web-02 102 '{"mode":"normal"}'
wait_for 6 state_is web-02 "$G2" active && ok "web-02's server answers again: web-02 enforces fleet grant $G2" ||
        not_ok "web-02 retries ticket 102" "$(states "$G2")"

tk all 106 '{"state":"pending"}'
expect 0 "jt_alice requests role change with ticket 106 (pending everywhere) for 4s" "fleet grant F[0-9]+" -- \
        jc_on web-01 jt_alice request -r change -t 106 -d 4s -m 'short'
G6=$(fleet_id)
all_state() { local h; for h in $HOSTS; do state_is "$h" "$1" "$2" || return 1; done; }
if wait_for 10 all_state "$G6" expired; then
        why=$(db web-02 "SELECT g.end_reason FROM grants g JOIN fleet_grants f ON f.grant_id = g.id WHERE f.fleet_id = $G6")
        grep -q "its fleet time (4s from the request) was over before ticket 106 was approved here" <<<"$why" &&
                ok "not approved within its duration from the request: expired on every host ($why)" ||
                not_ok "the end reason" "$why"
else
        not_ok "fleet grant $G6 expires while pending" "$(states "$G6")"
fi

tk all 107 '{"state":"pending"}'
expect 0 "jt_alice requests role change with ticket 107 (pending everywhere) for 10s" "fleet grant F[0-9]+" -- \
        jc_on web-01 jt_alice request -r change -t 107 -d 10s -m 'late'
G7=$(fleet_id)
REQ7=$(owner_sql "SELECT floor(date_part('epoch', requested_at))::bigint FROM jit.grants WHERE id = $G7")
sleep 3
tk all 107 '{"state":"approved"}'
if wait_for 5 all_state "$G7" active; then
        bad=""
        for h in $HOSTS; do
                se=$(db "$h" "SELECT g.starts_at || ' ' || g.expires_at FROM grants g JOIN fleet_grants f ON f.grant_id = g.id WHERE f.fleet_id = $G7")
                { [ "${se% *}" -ge $((REQ7 + 3)) ] && [ "${se#* }" -le $((REQ7 + 10)) ]; } || bad+="$h: $se "
        done
        [ -z "$bad" ] && ok "approved 3 s late: active on every host from its approval until 10 s after the request" ||
                not_ok "fleet grant $G7's window (request at $REQ7)" "$bad"
else
        not_ok "fleet grant $G7 active once approved" "$(states "$G7")"
fi

for g in "$G2" "$G3A" "$G3B" "$G4" "$G5"; do
        as_host web-01 "SELECT jit.end_grant('web-01', $g, 'revoked', 'root', 'next case')" >/dev/null
done
only_g1() { local h; for h in $HOSTS; do dropins_are "$h" 1 || return 1; done; }
wait_for 15 only_g1 && ok "the other grants ended: only fleet grant $G1 is left on each host" ||
        not_ok "one drop-in per host" "web-01 $(dropins web-01), web-02 $(dropins web-02), db-01 $(dropins db-01)"
for h in $HOSTS; do expect 0 "PAM allows jt_alice on $h" "account: PAM_SUCCESS" -- pam_as "$h" jt_alice; done
tk all 101 '{"state":"closed"}'
t0=$(now_ms)
if wait_for 6 all_state "$G1" revoked; then
        ok "ticket 101 closed: fleet grant $G1 revoked on all three hosts within $(( $(now_ms) - t0 )) ms (poll 1s)"
else
        not_ok "closure revokes fleet grant $G1 everywhere" "$(states "$G1")"
fi
wait_for 3 dropins_are web-01 0 && dropins_are web-02 0 && dropins_are db-01 0 && ok "... and its drop-ins are gone" ||
        not_ok "drop-ins after the closure"
for h in $HOSTS; do expect 1 "PAM denies jt_alice on $h" "PAM_PERM_DENIED" -- pam_as "$h" jt_alice; done
why=$(db db-01 "SELECT g.end_reason FROM grants g JOIN fleet_grants f ON f.grant_id = g.id WHERE f.fleet_id = $G1")
grep -q "ticket 101 is Closed" <<<"$why" && ok "db-01 recorded why: $why" || not_ok "the end reason on db-01" "$why"
# ---- ticket and peer together: the signatures, then each host's own lookup ----------------------

# jt_carol asks (jt_alice has made her 8 fleet requests of these 10 minutes).
tk all 110 '{"state":"approved","requester":"jt_carol"}'
tk web-02 110 '{"state":"pending","requester":"jt_carol"}'
expect 0 "jt_carol requests role both (ticket and peer) for web-* with ticket 110" \
        "fleet grant F[0-9]+ for both on hosts web-\\* for 1h is pending: needs 1 approval \\(jitctl approve F[0-9]+ .*\\) and each host in its scope enforces it once its own lookup finds ticket 110 approved" -- \
        jc_on web-01 jt_carol request -r both -t 110 -H 'web-*' -d 1h -m 'both'
GB=$(fleet_id)
sleep 3         # past ticket_jitter (2s) and two syncs
n=$(( $(lookups web-01 110) + $(lookups web-02 110) + $(lookups db-01 110) ))
if [ "$(states "$GB")" = "web-01: web-02: db-01:" ] && [ "$n" = 0 ] && [ "$(refused web-01 "$GB")" = 0 ]; then
        ok "fleet grant $GB waits for its signed approval: no copy, no ticket lookup, nothing audited"
else
        not_ok "fleet grant $GB before its approval" "$(states "$GB"); lookups $n; refused $(refused web-01 "$GB")"
fi
expect 1 "PAM denies jt_carol on web-01 before the approval" "PAM_PERM_DENIED" -- pam_as web-01 jt_carol
expect 0 "jt_bob approves it on db-01 with his key" "fleet grant F$GB approved by jt_bob" -- \
        jc_on db-01 jt_bob approve "F$GB" --key "$T/bobkeys/key" -m 'ok'
if wait_for 8 state_is web-01 "$GB" active; then
        ok "web-01, whose server says Approved, enforces it once signed ($(states "$GB"))"
else
        not_ok "web-01 enforces fleet grant $GB" "$(states "$GB"); $(tail -5 "$T/h/web-01/jitd.log")"
fi
if wait_for 8 refused_with web-02 "$GB" "ticket 110 is New"; then
        ok "web-02, signed but its server says New: not enforced ($(state_on web-02 "$GB")), audited as fleet-refused"
else
        not_ok "web-02 refuses fleet grant $GB" "$(states "$GB"); $(tail -5 "$T/h/web-02/jitd.log")"
fi
local_gb=$(db web-02 "SELECT grant_id FROM fleet_grants WHERE fleet_id = $GB")
expect 1 "jt_bob cannot approve web-02's waiting copy by its local id: the fleet's signed approval counts" \
        "is this host's copy of fleet grant F$GB: approve F$GB, signed with your key" -- \
        jc_on web-02 jt_bob approve "${local_gb:-0}" -m 'local'
[ -z "$(state_on db-01 "$GB")" ] && [ "$(refused db-01 "$GB")" = 0 ] &&
        ok "db-01, out of its scope, has no copy and says nothing" || not_ok "db-01 and fleet grant $GB" "$(states "$GB")"
expect 0 "PAM allows jt_carol on web-01" "account: PAM_SUCCESS" -- pam_as web-01 jt_carol
expect 1 "PAM denies jt_carol on web-02" "PAM_PERM_DENIED" -- pam_as web-02 jt_carol
expect 1 "PAM denies jt_carol on db-01" "PAM_PERM_DENIED" -- pam_as db-01 jt_carol
expect 0 "jitctl check on web-01 says what PAM is told: allow" "allow" -- \
        "$T/bin/jitctl" -s "$T/h/web-01/jitd.sock" check jt_carol -S sudo
copy() { db "$1" "SELECT g.$2 FROM grants g JOIN fleet_grants f ON f.grant_id = g.id WHERE f.fleet_id = $GB"; }
[ "$(copy web-01 approvers)" = jt_bob ] && [ "$(copy web-02 approvers)" = jt_bob ] &&
        ok "both copies name the peer who signed as their approver (jt_bob)" ||
        not_ok "the copies' approvers" "web-01 '$(copy web-01 approvers)', web-02 '$(copy web-02 approvers)'"
APB=$(owner_sql "SELECT floor(date_part('epoch', approved_at))::bigint FROM jit.approvals WHERE grant_id = $GB")
[ "$(copy web-01 expires_at)" = $((APB + 3600)) ] &&
        ok "web-01's copy ends 1h after the approval ($(copy web-01 expires_at))" ||
        not_ok "web-01's end" "expires $(copy web-01 expires_at), approved $APB"
tk web-02 110 '{"state":"approved","requester":"jt_carol"}'
if wait_for 6 state_is web-02 "$GB" active; then
        [ "$(copy web-02 expires_at)" = "$(copy web-01 expires_at)" ] &&
                ok "web-02's server now says Approved: web-02 enforces it too, with the same end as web-01" ||
                not_ok "web-02's end" "web-02 $(copy web-02 expires_at), web-01 $(copy web-01 expires_at)"
else
        not_ok "web-02 enforces fleet grant $GB once approved" "$(states "$GB"); $(tail -5 "$T/h/web-02/jitd.log")"
fi
expect 0 "PAM allows jt_carol on web-02" "account: PAM_SUCCESS" -- pam_as web-02 jt_carol
tk all 110 '{"state":"closed","requester":"jt_carol"}'
if wait_for 6 state_is web-01 "$GB" revoked && wait_for 6 state_is web-02 "$GB" revoked; then
        ok "ticket 110 closed: fleet grant $GB revoked on web-01 and web-02"
else
        not_ok "closure revokes fleet grant $GB" "$(states "$GB")"
fi
wait_for 3 dropins_are web-01 0 && dropins_are web-02 0 && ok "... and its drop-ins are gone" ||
        not_ok "drop-ins after the closure" "web-01 $(dropins web-01), web-02 $(dropins web-02)"
for h in web-01 web-02; do expect 1 "PAM denies jt_carol on $h" "PAM_PERM_DENIED" -- pam_as "$h" jt_carol; done

grep -q s3cret "$T"/h/*/jitd.log && not_ok "the ticket token is in a log" || ok "no host logged the ticket token"
finish
