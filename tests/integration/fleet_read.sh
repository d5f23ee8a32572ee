#!/usr/bin/env bash
# Story: jitctl reads the fleet (issue 14, item 7). Three hosts (web-01, web-02,
# db-01) share one PostgreSQL 15 database; web-02 keys its audit chain (HMAC).
# Fleet grants are named F12 and a plain number is always the host's own grant:
# jt_carol's break-glass grant on web-01 has the same number as an open fleet
# grant, and an admin's revoke of that number ends the break-glass grant only.
# The local id of a fleet grant's copy revokes the fleet grant everywhere.
# show F12: fields, approvals, end, whether this host enforces it, and each
# host's record from the uploaded audit; only its user, approvers and admins
# see it. deny F12 (an approver of the role on that host, never the requester,
# only while not approved as that host counts) and cancel F12 (its user only)
# end it in the fleet; a host that already enforced it (its role asks for fewer
# approvals) drops it. The hosts' audit events are uploaded here as the
# uploader does (jit.audit_append with each host's role, from each store):
# jitctl audit shows every host's events (HOST column, --host, --grant F12,
# --json) to admins only; audit verify recomputes each host's chain from the
# fleet copy (web-02's keyed chain: links checked) and names the host and event
# of a row the database's superuser edited; report gives per-host standing
# privilege and fleet time to approve and to revoke; list --host and list
# --json. jt_carol's break-glass on web-01, uploaded, is in db-01's report
# (uses, awaiting review: text, --json, --prometheus) and in db-01's review
# listing (admins only), until an admin reviews it on web-01. With the
# database down: one clear line each, and the local part still shown.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fleet_lib.sh"
. "$(dirname "$0")/../pg_lib.sh"
pg_require
command -v ssh-keygen >/dev/null || { echo "# SKIP ssh-keygen is missing"; exit 0; }
command -v openssl >/dev/null || { echo "# SKIP openssl is missing"; exit 0; }
command -v python3 >/dev/null || { echo "# SKIP python3 is missing"; exit 0; }
jt_setup

HOSTS="web-01 web-02 db-01"
# shellcheck disable=SC2034 # used by tests/fleet_lib.sh
declare -A PID

PG_TCP=$((20000 + RANDOM % 30000))
export PGPORT=$PG_TCP
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
group_add jt_admins
user_add jt_alice jt_webops
user_add jt_bob
user_add jt_carol jt_webops
user_add jt_dave jt_admins
user_add jt_erin

mkdir -m 0700 "$T/bobkeys" "$T/erinkeys"
ssh-keygen -q -t ed25519 -N '' -C bob -f "$T/bobkeys/key" || exit 1
ssh-keygen -q -t ed25519 -N '' -C erin -f "$T/erinkeys/key" || exit 1
chown -R jt_bob "$T/bobkeys"; chown -R jt_erin "$T/erinkeys"
mkdir -m 0755 "$T/signers"
{ echo "jt_bob namespaces=\"pam-jit-approval\" $(cat "$T/bobkeys/key.pub")"
  echo "jt_erin namespaces=\"pam-jit-approval\" $(cat "$T/erinkeys/key.pub")"; } >"$T/signers/allowed_signers"
chmod 0644 "$T/signers/allowed_signers"
# web-02 chains its audit with a key (HMAC): the fleet copy can be checked
# link by link only.
mkdir -m 0700 "$T/keys"
openssl rand -hex 32 >"$T/keys/audit.key"; chmod 0600 "$T/keys/audit.key"

# shellcheck disable=SC2034 # PW is used by tests/fleet_lib.sh (as_host)
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
        key=; [ "$h" = web-02 ] && key="audit_key = $T/keys/audit.key"
        # db-01's web-admin asks for two approvals: one approval is not yet
        # an approval there, while the web hosts enforce it.
        approvals=1; [ "$h" = db-01 ] && approvals=2
        cat >"$d/jitd.conf" <<EOF2
[jitd]
socket = $d/jitd.sock
database = $d/db/jitd.db
sudoers_dir = $d/sudoers.d
host = $h
teardown = ${JIT_FLEET_TEARDOWN:-pidfd}
admin_group = jt_admins
$key

[role:web-admin]
members = %jt_webops
hosts = web-*
approval = peer
approvers = jt_bob, jt_erin
approvals = $approvals
ticket = optional
max_duration = 4h
break_glass = jt_carol

[fleet]
database = ${CONNINFO[$h]}
password_file = $d/password
sync = 1s
allowed_signers = $T/signers/allowed_signers
EOF2
        chmod 0644 "$d/jitd.conf"
done
# bulk-01 runs no jitd: its 150 events are made here, chained by the formula
# of jitd/audit.h (an independent check of the recomputation), uploaded with
# its own role.
out=$(admin fleet add-host bulk-01 -D "$ADMIN" --password-file "$T/bulk.password") ||
        { not_ok "fleet add-host bulk-01" "$out"; finish; exit; }
CONNINFO[bulk-01]=$(sed -n 's/^database = //p' <<<"$out")
# shellcheck disable=SC2034 # read by as_host (tests/fleet_lib.sh)
PW[bulk-01]=$(cat "$T/bulk.password")
ok "three hosts added, web-02 with an audit key, db-01 asking for two approvals; and bulk-01"

CLEANUP_HOOKS=(hosts_stop "${CLEANUP_HOOKS[@]}")
for h in $HOSTS; do
        host_start "$h" || { not_ok "jitd starts on $h"; finish; exit; }
done
ok "jitd runs on web-01, web-02 and db-01"
st() { "$T/bin/jitctl" -s "$T/h/$1/jitd.sock" status; }
status_has() { local out; out=$(st "$1" 2>&1); grep -q "$2" <<<"$out"; }
for h in $HOSTS; do
        wait_for 10 status_has "$h" '^fleet: connected' || not_ok "$h connects to the fleet"
done

jc_on() {  # jc_on HOST USER ARGS...
        local h=$1 u=$2; shift 2
        runuser -u "$u" -- "$T/bin/jitctl" -s "$T/h/$h/jitd.sock" "$@"
}
# py EXPR: is EXPR true of the JSON on stdin (d; lines: the JSON lines)?
py() { python3 -c 'import json, sys
t = sys.stdin.read()
lines = [json.loads(x) for x in t.splitlines() if x.strip()]
d = lines[0] if len(lines) == 1 else None
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"; }
fid() { grep -oE 'fleet grant F[0-9]+' <<<"$LAST_OUT" | head -1 | grep -oE 'F[0-9]+'; }
fleet_state() { owner_sql "SELECT state FROM jit.grants WHERE id = ${1#F}"; }
local_state() { sqlite3 "$T/h/$1/db/jitd.db" "SELECT state FROM grants WHERE id = $2"; }
copy_of() { sqlite3 "$T/h/$1/db/jitd.db" "SELECT grant_id FROM fleet_grants WHERE fleet_id = ${2#F}"; }
# The uploader, as a test does it: each event of HOST's store not yet in the
# fleet, in order, with jit.audit_append as HOST's own role. grant_id is the
# fleet grant of the host's grant (or, for fleet-refused, the one it names).
upload() {
        local h=$1 from sql
        from=$(owner_sql "SELECT COALESCE(max(host_seq), 0) FROM jit.audit WHERE host = '$h'")
        sql=$(sqlite3 "$T/h/$h/db/jitd.db" "SELECT 'SELECT jit.audit_append(' || quote('$h') || ', ' || a.seq || ', '
                || a.at || ', ' || a.actor_uid || ', ' || quote(a.actor) || ', ' || COALESCE(a.grant_id, 0) || ', '
                || COALESCE(f.fleet_id, json_extract(a.details, '\$.fleet_grant'), 'NULL') || ', ' || quote(a.event)
                || ', ' || quote(a.details) || ', ' || quote(a.prev_hash) || ', ' || quote(a.hash) || ');'
                FROM audit a LEFT JOIN fleet_grants f ON f.grant_id = a.grant_id WHERE a.seq > $from ORDER BY a.seq")
        [ -z "$sql" ] || as_host "$h" "$sql" >/dev/null
}
upload_all() { local h; for h in $HOSTS; do upload "$h" || return 1; done; }
bulk_chain() {  # the SQL that uploads N chained events of bulk-01
        python3 - "$1" <<'PY'
import hashlib, sys
def f(x):
    b = str(x).encode()
    return str(len(b)).encode() + b":" + b + b","
prev = "0" * 64
out = []
for seq in range(1, int(sys.argv[1]) + 1):
    at, uid, actor, grant, event, details = 1795442700 + seq, 0, "jitd", seq % 5, "bulk-event", '{"n":%d}' % seq
    h = hashlib.sha256(prev.encode() + b"\n" + f(seq) + f(at) + f(uid) + f(actor) + f(grant) + f(event)
                       + f(details)).hexdigest()
    out.append("SELECT jit.audit_append('bulk-01', %d, %d, %d, '%s', %d, NULL, '%s', '%s', '%s', '%s');"
               % (seq, at, uid, actor, grant, event, details, prev, h))
    prev = h
print("\n".join(out))
PY
}

# ---- ids -------------------------------------------------------------------------------------

expect 0 "jt_alice's request prints the fleet grant as F<n>, and the approve command that takes it" \
        "fleet grant F[0-9]+ for web-admin on hosts web-\\*.*jitctl approve F[0-9]+" -- \
        jc_on web-01 jt_alice request -r web-admin -d 1h -m 'deploy'
A=$(fid)
expect 2 "approve of a plain number with --key is a usage error (a plain number is this host's grant)" \
        "--key and --agent are for fleet grants" -- jc_on web-02 jt_bob approve "${A#F}" --key "$T/bobkeys/key"
expect 0 "jt_bob approves $A on web-02" "fleet grant $A approved by jt_bob" -- \
        jc_on web-02 jt_bob approve "$A" --key "$T/bobkeys/key" -m 'go'
wait_for 5 has_dropin web-01 && wait_for 5 has_dropin web-02 && ok "$A is enforced on web-01 and web-02" ||
        not_ok "$A on the web hosts"
expect 0 "jt_alice asks for web-01 only: a second open fleet grant" "fleet grant F[0-9]+" -- \
        jc_on web-01 jt_alice request -r web-admin -H web-01 -d 1h -m 'second'
B=$(fid)
expect 0 "jt_carol uses break-glass on web-01" "break-glass grant [0-9]+ for web-admin is active" -- \
        jc_on web-01 jt_carol break-glass -r web-admin -m 'pager'
BG=$(grep -oE 'break-glass grant [0-9]+' <<<"$LAST_OUT" | grep -oE '[0-9]+')
# Make sure fleet grant F$BG exists and is open: ask until it does.
while [ "$(owner_sql "SELECT COALESCE(max(id), 0) FROM jit.grants")" -lt "$BG" ]; do
        jc_on web-01 jt_alice request -r web-admin -H web-02 -d 1h -m 'filler' >/dev/null 2>&1 || break
done
[ "$(fleet_state "F$BG")" = open ] && ok "break-glass grant $BG on web-01 and fleet grant F$BG (open) share a number" ||
        not_ok "fleet grant F$BG is not open: $(fleet_state "F$BG")"
expect 0 "show $BG on web-01 is the break-glass grant" "break-glass: yes" -- jc_on web-01 jt_dave show "$BG"
expect 0 "jt_dave revokes $BG on web-01: the break-glass grant (a host-only grant is reachable by id)" \
        "grant $BG for web-admin is revoked" -- jc_on web-01 jt_dave revoke "$BG" -m 'pager over'
[ "$(local_state web-01 "$BG")" = revoked ] && ok "... break-glass grant $BG is revoked on web-01" ||
        not_ok "break-glass grant $BG: $(local_state web-01 "$BG")"
[ "$(fleet_state "F$BG")" = open ] && ok "... fleet grant F$BG is not touched (still open)" ||
        not_ok "fleet grant F$BG: $(fleet_state "F$BG")"
[ "$(fleet_state "$A")" = open ] && has_dropin web-02 && ok "... and $A stays enforced" || not_ok "$A changed"
expect 1 "show F999 says there is no such fleet grant" "no fleet grant F999" -- jc_on web-01 jt_dave show F999
expect 2 "an id that is neither form is a usage error" "a grant of this host \\(12\\) or a fleet grant \\(F12\\)" -- \
        jc_on web-01 jt_dave show x12
expect 0 "extend of a fleet grant asks the fleet for an extension (fleet_extend.sh has the rest)" \
        "extension 1 of fleet grant $A \\(1h more\\) waits for 1 approval" -- \
        jc_on web-01 jt_alice extend "$A" -d 1h -m more
expect 0 "... and so does extend of its copy here" "extension 2 of fleet grant $A" -- \
        jc_on web-01 jt_alice extend "$(copy_of web-01 "$A")" -d 1h -m more
expect 2 "review of a fleet grant is a usage error" "reviews are of this host's break-glass grants" -- \
        jc_on web-01 jt_dave review "$A" --accept -m ok

# ---- show ------------------------------------------------------------------------------------

upload_all && ok "every host's audit events uploaded (as the uploader does)" || not_ok "upload"
expect 0 "show $A by jt_alice (its user) on web-01: fields, approval, enforced here" \
        "fleet grant: +$A" -- jc_on web-01 jt_alice show "$A"
grep -qE "^  jt_bob on web-02 at .*: \"go\"$" <<<"$LAST_OUT" && ok "... the approval: approver, host, time, note" ||
        not_ok "the approval line" "$LAST_OUT"
grep -qE "^here: +enforced on web-01 as grant [0-9]+ \\(active, until " <<<"$LAST_OUT" &&
        ok "... enforced here, as which local grant" || not_ok "the here line" "$LAST_OUT"
grep -qE "^web-01 +20[0-9-]+ [0-9:]+ +- +activated" <<<"$LAST_OUT" &&
        grep -qE "^web-02 +20[0-9-]+ [0-9:]+ +- +activated" <<<"$LAST_OUT" &&
        ok "... per host from the uploaded audit: web-01 and web-02 enforced it, when" || not_ok "per host" "$LAST_OUT"
expect 0 "show $A on db-01 says it is not enforced there, and db-01's role asks for 2" \
        "approvals: +1 \\(this host's role asks for 2\\)" -- jc_on db-01 jt_bob show "$A"
grep -q "not enforced on db-01" <<<"$LAST_OUT" && ok "... not enforced on db-01" || not_ok "db-01's here" "$LAST_OUT"
expect 0 "show $A --json is the document" "\"fleet_id\":${A#F},.*\"per_host\":\\[" -- jc_on web-02 jt_dave show "$A" --json
expect 1 "jt_carol (neither its user nor an approver) sees no such grant" "no fleet grant $A" -- \
        jc_on web-01 jt_carol show "$A"

# ---- list ------------------------------------------------------------------------------------

expect 0 "list --json on web-01 has the local copy with its fleet_id and the fleet grant as \"F<n>\"" \
        "\"id\":\"$A\",\"fleet_id\":${A#F}" -- jc_on web-01 jt_alice list --json
grep -q "\"fleet_id\":${A#F}}" <<<"$LAST_OUT" && ok "... the local copy carries \"fleet_id\"" ||
        not_ok "the local copy's fleet_id" "$LAST_OUT"
py 'isinstance(d, list)' <<<"$LAST_OUT" && ok "... one JSON array" || not_ok "list --json is one array" "$LAST_OUT"
expect 0 "list --host web-02 on db-01: the grants that may apply to web-02 (not $B, for web-01)" \
        "fleet grant $A of jt_alice" -- jc_on db-01 jt_alice list --host web-02
grep -q "fleet grant $B " <<<"$LAST_OUT" && not_ok "$B (web-01 only) is listed for web-02" "$LAST_OUT" ||
        ok "... $B (web-01 only) is not"
expect 0 "list --host 'db-*' on web-01: web-01's own grants are not listed, no fleet grant applies there" \
        "no open fleet grant for hosts db-\\*" -- jc_on web-01 jt_alice list --host 'db-*'
grep -q "active" <<<"$LAST_OUT" && not_ok "web-01's grants listed for db-*" "$LAST_OUT" || ok "... and no local grant"
expect 0 "list --host 'x*' says no host of the fleet matches" "no host of the fleet matches x\\*" -- \
        jc_on web-01 jt_alice list --host 'x*'

# ---- deny and cancel ---------------------------------------------------------------------------

expect 1 "jt_alice cannot deny her own request" "you cannot deny your own request" -- \
        jc_on web-01 jt_alice deny "$B" -m no
expect 1 "jt_carol (not an approver) cannot deny" "jt_carol is not an approver of role web-admin" -- \
        jc_on web-01 jt_carol deny "$B" -m no
expect 1 "an approved grant is not denied (an admin revokes it)" "is approved \\(1 approval\\): an admin revokes it" -- \
        jc_on web-02 jt_bob deny "$A" -m no
expect 0 "jt_bob denies $B on web-02" "fleet grant $B denied in the fleet" -- jc_on web-02 jt_bob deny "$B" -m 'not now'
[ "$(owner_sql "SELECT g.state || ' ' || r.kind || ' ' || r.by_user || ' ' || r.host || ' ' || r.reason FROM jit.grants g JOIN jit.revocations r ON r.grant_id = g.id WHERE g.id = ${B#F}")" = "denied denied jt_bob web-02 not now" ] &&
        ok "the fleet records the denial by jt_bob on web-02" || not_ok "the denial's record"

expect 0 "jt_alice asks for web-* again" "fleet grant F[0-9]+" -- jc_on web-01 jt_alice request -r web-admin -d 1h -m third
C=$(fid)
expect 0 "jt_bob approves $C" "approved by jt_bob" -- jc_on web-01 jt_bob approve "$C" --key "$T/bobkeys/key"
wait_for 5 dropins_are web-02 2 && ok "$C is enforced on web-02 (with $A)" || not_ok "$C on web-02: $(dropins web-02)"
expect 0 "jt_erin denies $C on db-01, where one approval of two is not yet an approval" \
        "fleet grant $C denied in the fleet" -- jc_on db-01 jt_erin deny "$C" -m 'second thoughts'
wait_for 5 dropins_are web-02 1 && wait_for 5 dropins_are web-01 1 &&
        ok "web-01 and web-02, which enforced $C, drop it (only $A is left)" ||
        not_ok "drop-ins after the denial: web-01 $(dropins web-01), web-02 $(dropins web-02)"
[ "$(local_state web-02 "$(copy_of web-02 "$C")")" = revoked ] && ok "... web-02's copy of $C ended" ||
        not_ok "web-02's copy of $C"

expect 0 "jt_alice asks once more" "fleet grant F[0-9]+" -- jc_on web-01 jt_alice request -r web-admin -d 1h -m fourth
D=$(fid)
expect 1 "jt_bob cannot cancel jt_alice's request" "fleet grant $D is not yours to cancel" -- jc_on web-02 jt_bob cancel "$D"
expect 1 "jt_alice cannot cancel an approved grant (she releases it)" "is approved .*release it" -- \
        jc_on web-01 jt_alice cancel "$A"
expect 0 "jt_alice cancels $D on db-01" "fleet grant $D cancelled in the fleet" -- jc_on db-01 jt_alice cancel "$D"
[ "$(fleet_state "$D")" = cancelled ] && ok "the fleet records $D as cancelled" || not_ok "$D: $(fleet_state "$D")"
expect 1 "denying it now says it has ended" "fleet grant $D has ended \\(cancelled\\)" -- jc_on web-02 jt_bob deny "$D" -m x

# ---- revoke by the copy's local id -----------------------------------------------------------

L=$(copy_of web-02 "$A")
expect 0 "jt_dave revokes $L on web-02, the copy of $A: the fleet grant, everywhere" \
        "fleet grant $A revoked in the fleet: every host in its scope ends it: ended on host web-02 \\(local grant $L\\)" -- \
        jc_on web-02 jt_dave revoke "$L" -m 'done'
wait_for 5 no_dropin web-01 && ok "web-01 drops $A" || not_ok "web-01 keeps $A"

# ---- audit -----------------------------------------------------------------------------------

upload_all && ok "uploaded again" || not_ok "upload"
as_host bulk-01 "$(bulk_chain 150)" >/dev/null && ok "bulk-01 uploads 150 events" || not_ok "bulk-01's upload"
total=$(owner_sql "SELECT count(*) FROM jit.audit")
[ "$total" -gt 64 ] && ok "the fleet holds $total events (more than one page of 64)" ||
        not_ok "only $total events: the paging is not exercised"
expect 1 "jt_alice (not an admin) cannot read the audit" "is for admins" -- jc_on web-01 jt_alice audit
expect 0 "jitctl audit on db-01 shows every host's events with a HOST column" "^HOST +SEQ +TIME" -- \
        jc_on db-01 jt_dave audit
[ "$(grep -cE '^(web-01|web-02|db-01|bulk-01) ' <<<"$LAST_OUT")" = "$total" ] && ok "... all $total of them" ||
        not_ok "events shown: $(grep -cE '^(web-01|web-02|db-01|bulk-01) ' <<<"$LAST_OUT") of $total"
web=$(owner_sql "SELECT count(*) FROM jit.audit WHERE host LIKE 'web-%'")
expect 0 "audit --host 'web-0[12]'" "" -- jc_on db-01 jt_dave audit --host 'web-0[12]'
[ "$(grep -cE '^web-0[12] ' <<<"$LAST_OUT")" = "$web" ] && ! grep -q '^db-01 ' <<<"$LAST_OUT" &&
        ok "... only the web hosts' $web events" || not_ok "--host web-0[12]" "$(head -5 <<<"$LAST_OUT")"
expect 0 "audit --grant $A --json: JSON lines, each with its host and fleet grant" "\"host\":\"web-0" -- \
        jc_on web-01 jt_dave audit --grant "$A" --json
n=$(owner_sql "SELECT count(*) FROM jit.audit WHERE grant_id = ${A#F}")
[ "$(grep -c "\"fleet_grant\":${A#F}," <<<"$LAST_OUT")" = "$n" ] && [ "$(wc -l <<<"$LAST_OUT")" = "$n" ] &&
        ok "... its $n events, no other" || not_ok "--grant $A: $(wc -l <<<"$LAST_OUT") lines, $n expected"
py 'all("host" in e and "seq" in e and "hash" in e for e in lines)' <<<"$LAST_OUT" &&
        ok "... each line is JSON with host, seq and hash" || not_ok "JSON lines" "$(head -2 <<<"$LAST_OUT")"

# ---- audit verify ------------------------------------------------------------------------------

expect 0 "audit verify on web-01: this host's chain, then each host's in the fleet copy" \
        "audit chain intact: [0-9]+ events verified" -- jc_on web-01 jt_dave audit verify
grep -qE '^  web-01: intact, [0-9]+ events from' <<<"$LAST_OUT" && grep -qE '^  db-01: (intact|no events)' <<<"$LAST_OUT" &&
        ok "... web-01 and db-01 intact (recomputed)" || not_ok "verify lines" "$LAST_OUT"
grep -qE '^  bulk-01: intact, 150 events from 2026-' <<<"$LAST_OUT" &&
        ok "... bulk-01's 150 events, chained by audit.h's formula outside jitd, recompute" ||
        not_ok "bulk-01's line" "$LAST_OUT"
grep -qE '^  web-02: intact, .*keyed: links checked, hashes not recomputable here' <<<"$LAST_OUT" &&
        ok "... web-02's keyed chain: links checked" || not_ok "web-02's line" "$LAST_OUT"
# The database's superuser edits one of bulk-01's uploaded events.
PG_DB=fleet pg_super "ALTER TABLE jit.audit DISABLE TRIGGER audit_append_only" \
        "UPDATE jit.audit SET details = '{\"n\":0}' WHERE host = 'bulk-01' AND host_seq = 3" \
        "ALTER TABLE jit.audit ENABLE TRIGGER audit_append_only" && ok "the superuser edits bulk-01's event 3" ||
        not_ok "the edit"
expect 1 "audit verify names bulk-01 and its event 3" \
        "bulk-01: BROKEN at event 3: event 3 was edited \\(its hash does not match its fields\\) \\(2 events before it intact\\)" -- \
        jc_on web-01 jt_dave audit verify
grep -qE '^  web-01: intact' <<<"$LAST_OUT" && ok "... the other hosts are still checked" || not_ok "others" "$LAST_OUT"
expect 0 "audit verify --host 'web-*' leaves db-01 out: exit 0" "fleet copy \\(jit.audit\\): 2 hosts matching web-\\*" -- \
        jc_on web-01 jt_dave audit verify --host 'web-*'

# ---- report ----------------------------------------------------------------------------------

expect 0 "jt_alice asks once more, for the report" "fleet grant F[0-9]+" -- \
        jc_on web-01 jt_alice request -r web-admin -d 1h -m fifth
E=$(fid)
expect 0 "jt_bob approves $E" "approved by jt_bob" -- jc_on web-02 jt_bob approve "$E" --key "$T/bobkeys/key"
wait_for 5 has_dropin web-01 && wait_for 5 has_dropin web-02 && ok "$E enforced on the web hosts" || not_ok "$E"
upload_all && ok "uploaded again" || not_ok "upload"
expect 0 "report on db-01 shows the fleet: standing privilege per host" "standing privilege: +2 on 4 hosts" -- \
        jc_on db-01 jt_dave report
grep -qE '^  web-01: +1 active \(1 fleet\)' <<<"$LAST_OUT" && grep -qE '^  db-01: +0 active' <<<"$LAST_OUT" &&
        ok "... web-01 1 active (fleet), db-01 none" || not_ok "per-host lines" "$LAST_OUT"
grep -qE '^fleet time to approve: +median [0-9a-z]+, p95 [0-9a-z]+ \([0-9]+ grants\)' <<<"$LAST_OUT" &&
        grep -qE '^fleet time to revoke: +median [0-9a-z]+, p95 [0-9a-z]+ \([1-9][0-9]* grants?\)' <<<"$LAST_OUT" &&
        ! grep -q 'not torn down everywhere' <<<"$LAST_OUT" &&
        ok "... fleet time to approve and to revoke (median, p95)" || not_ok "the times" "$LAST_OUT"
expect 0 "report --json --host web-01: the fleet part for web-01 only" "" -- \
        jc_on db-01 jt_dave report --json --host web-01
py 'len(d["fleet"]["hosts"]) == 1 and d["fleet"]["hosts"][0]["host"] == "web-01" and d["fleet"]["hosts"][0]["active_grants"] == 1' <<<"$LAST_OUT" &&
        py 'd["fleet"]["time_to_revoke_ms"]["count"] >= 1 and d["fleet"]["grants"]["total"] >= 1' <<<"$LAST_OUT" &&
        ok "... hosts, grants and times in the JSON" || not_ok "report --json" "$LAST_OUT"
expect 1 "jt_carol (neither admin nor approver) gets no report" "for admins and approvers" -- jc_on db-01 jt_carol report

# report --prometheus: the fleet's figures after this host's, valid exposition
# text (tests/helpers/promlint.py checks it as promtool would), each figure
# what --json says.
prom_on() {  # prom_on HOST ARGS...: report --prometheus, stdout in $T/prom, stderr in $T/prom.err
        local h=$1; shift
        jc_on "$h" jt_dave report --prometheus "$@" >"$T/prom" 2>"$T/prom.err"
}
promlint() { python3 "$ROOT/tests/helpers/promlint.py" "$@" <"$T/prom"; }
# prom_is_json REPORT-JSON: every jit_fleet_ sample in $T/prom is what the
# report's "fleet" key says, and there is no other.
prom_is_json() {
        local samples
        samples=$(promlint --samples) || return 1
        python3 - "$samples" "$1" <<'PY'
import json, sys
got = {(n, tuple(sorted(l.items()))): v for n, l, v in json.loads(sys.argv[1]) if n.startswith("jit_fleet_")}
f = json.loads(sys.argv[2])["fleet"]
want = {}
def w(name, v, **labels):
    want[(name, tuple(sorted(labels.items())))] = "NaN" if v is None else v
w("jit_fleet_report_up", 1)
w("jit_fleet_active_grants", f["active_grants"])
for h in f["hosts"]:
    w("jit_fleet_host_active_grants", h["active_grants"], host=h["host"])
    w("jit_fleet_host_active_fleet_grants", h["active_fleet_grants"], host=h["host"])
    w("jit_fleet_host_last_event_timestamp_seconds", h["last_event_at"], host=h["host"])
for state in ("open", "revoked", "released", "denied", "cancelled"):
    w("jit_fleet_grants", f["grants"][state], state=state)
for name, s, scale in (("jit_fleet_time_to_approve_seconds", f["time_to_approve_s"], 1),
                       ("jit_fleet_time_to_revoke_seconds", f["time_to_revoke_ms"], 1000)):
    w(name, None if s["median"] is None else s["median"] / scale, quantile="0.5")
    w(name, None if s["p95"] is None else s["p95"] / scale, quantile="0.95")
    w(name + "_sum", s["sum"] / scale)
    w(name + "_count", s["count"])
w("jit_fleet_revocations_incomplete", f["time_to_revoke_ms"]["incomplete"])
if "break_glass" in f:
    w("jit_fleet_break_glass_uses", f["break_glass"]["uses"])
    w("jit_fleet_break_glass_reviews_pending", f["break_glass"]["reviews_pending"])
    for h in f["break_glass"]["hosts"]:
        w("jit_fleet_host_break_glass_uses", h["uses"], host=h["host"])
        w("jit_fleet_host_break_glass_reviews_pending", h["reviews_pending"], host=h["host"])
bad = ["%s%s: %r, want %r" % (k[0], dict(k[1]), got.get(k), v) for k, v in want.items() if got.get(k) != v]
bad += ["%s%s: not in the report" % (k[0], dict(k[1])) for k in got if k not in want]
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
prom_on db-01 && ok "report --prometheus on db-01 exits 0" || not_ok "report --prometheus" "$(cat "$T/prom.err")"
promlint && ok "... valid exposition text: HELP and TYPE once per family, labels escaped, series unique" ||
        not_ok "report --prometheus is not valid exposition text" "$(promlint; cat "$T/prom")"
grep -qE '^jit_active_grants [0-9]+$' "$T/prom" && grep -qE '^jit_time_to_approve_seconds\{quantile="0.5"\} ' "$T/prom" &&
        ok "... this host's metrics as before" || not_ok "the local metrics" "$(cat "$T/prom")"
grep -qx 'jit_fleet_report_up 1' "$T/prom" && grep -qx 'jit_fleet_active_grants 2' "$T/prom" &&
        grep -qx 'jit_fleet_host_active_grants{host="web-01"} 1' "$T/prom" &&
        grep -qx 'jit_fleet_host_active_fleet_grants{host="web-01"} 1' "$T/prom" &&
        grep -qx 'jit_fleet_host_active_grants{host="db-01"} 0' "$T/prom" &&
        [ "$(grep -c '^jit_fleet_host_active_grants{' "$T/prom")" = 4 ] &&
        ok "... the fleet up, 2 standing grants, per host (web-01 1, db-01 0, 4 hosts)" ||
        not_ok "the fleet's standing privilege" "$(grep jit_fleet_ "$T/prom")"
grep -qE '^jit_fleet_time_to_approve_seconds\{quantile="0\.95"\} [0-9]+$' "$T/prom" &&
        grep -qE '^jit_fleet_time_to_revoke_seconds\{quantile="0\.5"\} [0-9]+\.[0-9]{3}$' "$T/prom" &&
        grep -qE '^jit_fleet_time_to_revoke_seconds_count [1-9][0-9]*$' "$T/prom" &&
        ok "... fleet time to approve and to revoke as summaries (median, p95)" ||
        not_ok "the fleet's times" "$(grep jit_fleet_ "$T/prom")"
json=$(jc_on db-01 jt_dave report --json)
prom_is_json "$json" && ok "... every fleet figure is the one report --json gives, and no other" ||
        not_ok "report --prometheus against --json" "$(prom_is_json "$json")"
prom_on db-01 --host web-01 && promlint && [ "$(grep -c '^jit_fleet_host_active_grants{' "$T/prom")" = 1 ] &&
        grep -qx 'jit_fleet_host_active_grants{host="web-01"} 1' "$T/prom" && grep -qx 'jit_fleet_active_grants 1' "$T/prom" &&
        ok "report --prometheus --host web-01: web-01's series only" || not_ok "--prometheus --host" "$(cat "$T/prom")"
# A host name the schema refuses, put there by the database's superuser: the
# label value is escaped, the text stays valid.
checks=$(PG_DB=fleet pg_super "SELECT string_agg('ALTER TABLE jit.hosts ADD CONSTRAINT ' || conname || ' '
        || pg_get_constraintdef(oid), '; ') FROM pg_constraint WHERE conrelid = 'jit.hosts'::regclass AND contype = 'c'")
PG_DB=fleet pg_super "ALTER TABLE jit.hosts DROP CONSTRAINT hosts_name_valid, DROP CONSTRAINT hosts_role_derived" \
        "INSERT INTO jit.hosts (name, role) VALUES (E'odd\"host\\\\x\\nnext', 'jit_host_odd')" >/dev/null &&
        ok "the superuser adds a host named odd\"host\\x<newline>next" || not_ok "the odd host"
prom_on db-01 && promlint && grep -qxF 'jit_fleet_host_active_grants{host="odd\"host\\x\nnext"} 0' "$T/prom" &&
        ok "... report --prometheus escapes its name (\\\\, \\\", \\n) and stays valid" ||
        not_ok "the odd host's label" "$(promlint; grep odd "$T/prom")"
PG_DB=fleet pg_super "DELETE FROM jit.hosts WHERE role = 'jit_host_odd'" "$checks" >/dev/null &&
        ok "... the host removed, the checks back" || not_ok "removing the odd host"

# ---- break-glass across the fleet: report and review ---------------------------------------

# jt_carol's break-glass grant $BG on web-01 (revoked, not reviewed) is in
# the fleet through web-01's uploaded events only.
reviewed_in_fleet() { [ "$(owner_sql "SELECT count(*) FROM jit.audit WHERE host = 'web-01' AND host_grant = $BG AND event = 'reviewed'")" = "$1" ]; }
upload_all && [ "$(owner_sql "SELECT count(*) FROM jit.audit WHERE host = 'web-01' AND host_grant = $BG AND event = 'break-glass'")" = 1 ] &&
        reviewed_in_fleet 0 && ok "web-01's break-glass $BG is in jit.audit, not reviewed" || not_ok "break-glass $BG uploaded"
expect 0 "report on db-01: the fleet's break-glass, 1 use awaiting review" \
        "fleet break-glass: +1 use, 1 awaiting review" -- jc_on db-01 jt_dave report
grep -qE '^  web-01: +1 use, 1 awaiting review$' <<<"$LAST_OUT" && ! grep -qE '^  (db-01|web-02|bulk-01): +[0-9]+ uses?,' <<<"$LAST_OUT" &&
        ok "... per host: web-01's line, none for the quiet hosts" || not_ok "break-glass per host" "$LAST_OUT"
expect 0 "report --json on db-01" "" -- jc_on db-01 jt_dave report --json
py '(d["fleet"]["break_glass"]["uses"] == 1 and d["fleet"]["break_glass"]["reviews_pending"] == 1 and
    {h["host"]: (h["uses"], h["reviews_pending"]) for h in d["fleet"]["break_glass"]["hosts"]} ==
    {"web-01": (1, 1), "web-02": (0, 0), "db-01": (0, 0), "bulk-01": (0, 0)})' <<<"$LAST_OUT" &&
        ok "... \"break_glass\": uses 1, reviews_pending 1, per host" || not_ok "report --json break_glass" "$LAST_OUT"
expect 0 "report --json --host 'db-*': web-01's break-glass left out" "" -- jc_on db-01 jt_dave report --json --host 'db-*'
py 'd["fleet"]["break_glass"] == {"uses": 0, "reviews_pending": 0, "hosts": [{"host": "db-01", "uses": 0, "reviews_pending": 0}]}' \
        <<<"$LAST_OUT" && ok "... uses 0, reviews_pending 0, db-01 only" || not_ok "--host and break_glass" "$LAST_OUT"
expect 0 "report --json --since tomorrow: no use in the window, still 1 awaiting review (a backlog has no window)" "" -- \
        jc_on db-01 jt_dave report --json --since "$(date -d tomorrow +%F)"
py 'd["fleet"]["break_glass"]["uses"] == 0 and d["fleet"]["break_glass"]["reviews_pending"] == 1' <<<"$LAST_OUT" &&
        ok "... uses 0, reviews_pending 1" || not_ok "--since and break_glass" "$LAST_OUT"
prom_on db-01 && promlint && grep -qx 'jit_fleet_break_glass_uses 1' "$T/prom" &&
        grep -qx 'jit_fleet_break_glass_reviews_pending 1' "$T/prom" &&
        grep -qx 'jit_fleet_host_break_glass_reviews_pending{host="web-01"} 1' "$T/prom" &&
        grep -qx 'jit_fleet_host_break_glass_uses{host="db-01"} 0' "$T/prom" &&
        ok "report --prometheus: jit_fleet_break_glass_* and per host, valid exposition text" ||
        not_ok "break-glass in --prometheus" "$(promlint; grep break_glass "$T/prom")"
json=$(jc_on db-01 jt_dave report --json)
prom_is_json "$json" && ok "... every fleet figure is the one report --json gives" ||
        not_ok "report --prometheus against --json (break-glass)" "$(prom_is_json "$json")"

expect 0 "review on db-01: none here, then web-01's $BG awaiting review" \
        "break-glass grant $BG on web-01 of jt_carol for web-admin at 20[0-9-]+T[0-9:]+Z, awaiting review: pager" -- \
        jc_on db-01 jt_dave review
grep -q '^no break-glass grant awaits review$' <<<"$LAST_OUT" &&
        grep -qF "(a review is made on the grant's own host: jitctl review ID --accept|--reject -m NOTE there)" <<<"$LAST_OUT" &&
        ok "... after this host's (empty) list, with where a review is made" || not_ok "review on db-01" "$LAST_OUT"
expect 0 "review on web-01: $BG in the local list, not again as another host's" \
        "no break-glass grant of another host awaits review" -- jc_on web-01 jt_dave review
grep -qE "^ *$BG +jt_carol" <<<"$LAST_OUT" && ! grep -q "on web-01 of jt_carol" <<<"$LAST_OUT" &&
        ok "... once, as this host's" || not_ok "review on web-01" "$LAST_OUT"
expect 0 "review --json on db-01 keeps its shape: this host's array" "" -- jc_on db-01 jt_dave review --json
[ "$LAST_OUT" = "[]" ] && ok "... [] (the fleet's are not mixed in)" || not_ok "review --json" "$LAST_OUT"
expect 0 "review --json --fleet on db-01: one object, local and fleet" "" -- jc_on db-01 jt_dave review --json --fleet
BG=$BG py '(d["local"] == [] and len(d["fleet"]) == 1 and d["fleet"][0]["host"] == "web-01" and
    d["fleet"][0]["grant"] == int(__import__("os").environ["BG"]) and d["fleet"][0]["user"] == "jt_carol" and
    d["fleet"][0]["role"] == "web-admin" and d["fleet"][0]["reason"] == "pager" and
    d["fleet"][0]["review"] == "pending" and "fleet_error" not in d)' <<<"$LAST_OUT" &&
        ok "... fleet: web-01's grant $BG of jt_carol, web-admin, pager" || not_ok "review --json --fleet" "$LAST_OUT"
expect 2 "review --fleet without --json is a usage error" "--fleet goes with --json" -- jc_on db-01 jt_dave review --fleet
expect 1 "jt_carol (not an admin) sees no review listing, the fleet's included" "'review' is for admins" -- \
        jc_on db-01 jt_carol review
expect 1 "... nor does jt_bob (an approver)" "'review' is for admins" -- jc_on db-01 jt_bob review --json --fleet
! grep -q "on web-01" <<<"$LAST_OUT" && ok "... and nothing of web-01's is shown to them" || not_ok "non-admin" "$LAST_OUT"

expect 0 "jt_dave reviews $BG on web-01, its own host" "review accepted" -- \
        jc_on web-01 jt_dave review "$BG" --accept -m 'pager was real'
wait_for 10 reviewed_in_fleet 1 && ok "... web-01 uploads the review" || { upload_all; reviewed_in_fleet 1 || not_ok "the review uploaded"; }
expect 0 "report on db-01: 1 use, 0 awaiting review" "fleet break-glass: +1 use, 0 awaiting review" -- \
        jc_on db-01 jt_dave report
expect 0 "review on db-01: no longer listed" "no break-glass grant of another host awaits review" -- \
        jc_on db-01 jt_dave review
! grep -q "break-glass grant $BG on web-01" <<<"$LAST_OUT" && ok "... $BG is gone from it" || not_ok "review after" "$LAST_OUT"
prom_on db-01 && promlint && grep -qx 'jit_fleet_break_glass_reviews_pending 0' "$T/prom" &&
        grep -qx 'jit_fleet_host_break_glass_uses{host="web-01"} 1' "$T/prom" &&
        ok "report --prometheus: 0 pending, web-01's use still counted" || not_ok "prometheus after the review" "$(grep break_glass "$T/prom")"

# ---- the database goes away ----------------------------------------------------------------

runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 9>&-
ok "PostgreSQL stopped"
wait_for 5 status_has web-01 '^fleet: unreachable for' || not_ok "web-01 sees the outage"
expect 1 "show $E: one line, the database is unreachable" "fleet grant $E: the fleet database is unreachable" -- \
        jc_on web-01 jt_dave show "$E"
expect 1 "deny: nothing was denied" "the fleet database is unreachable; nothing was denied" -- \
        jc_on web-02 jt_bob deny "$E" -m x
expect 1 "audit: this host's trail, after one line saying the fleet's is unavailable" \
        "the fleet's audit is unavailable \\(the fleet database is unreachable\\): this host's trail follows" -- \
        jc_on web-01 jt_dave audit
grep -qE '^SEQ +TIME' <<<"$LAST_OUT" && grep -q 'activated' <<<"$LAST_OUT" && ok "... and the local trail is shown" ||
        not_ok "the local trail" "$LAST_OUT"
expect 1 "audit verify: this host's chain verified, the fleet part said incomplete" \
        "the fleet part is incomplete: the fleet database is unreachable" -- jc_on web-01 jt_dave audit verify
grep -q "audit chain intact" <<<"$LAST_OUT" && ok "... with the local chain intact" || not_ok "local verify" "$LAST_OUT"
expect 1 "report: this host's figures, the fleet part said incomplete" \
        "the fleet part is incomplete: the fleet database is unreachable" -- jc_on web-01 jt_dave report
grep -q "sudo rules outside jitd" <<<"$LAST_OUT" && ok "... with this host's figures" || not_ok "local report" "$LAST_OUT"
prom_on web-01; rc=$?
[ "$rc" = 1 ] && grep -q "the fleet part is incomplete: the fleet database is unreachable" "$T/prom.err" &&
        ok "report --prometheus: exit 1 and one line on stderr, as the text report" ||
        not_ok "report --prometheus with the database down: exit $rc" "$(cat "$T/prom.err")"
promlint && grep -qE '^jit_active_grants [0-9]+$' "$T/prom" && grep -qx 'jit_fleet_report_up 0' "$T/prom" &&
        [ "$(grep -c '^jit_fleet_' "$T/prom")" = 1 ] &&
        ok "... this host's metrics, jit_fleet_report_up 0 and no fleet figure, valid text" ||
        not_ok "report --prometheus with the database down" "$(promlint; cat "$T/prom")"
expect 0 "list: the local list and one line" "the fleet part is unavailable: the fleet database is unreachable" -- \
        jc_on web-01 jt_alice list
expect 0 "jt_carol breaks glass on web-01 again, the database down" "break-glass grant [0-9]+ for web-admin is active" -- \
        jc_on web-01 jt_carol break-glass -r web-admin -m 'pager, no database'
BG2=$(grep -oE 'break-glass grant [0-9]+' <<<"$LAST_OUT" | grep -oE '[0-9]+')
expect 0 "review: the local list and one line (exit 0, as list)" \
        "the fleet part is unavailable: the fleet database is unreachable" -- jc_on web-01 jt_dave review
grep -qE "^ *$BG2 +jt_carol" <<<"$LAST_OUT" && [ "$(grep -c 'fleet' <<<"$LAST_OUT")" = 2 ] &&
        ok "... grant $BG2 listed, then fleet: and the one line" || not_ok "review with the database down" "$LAST_OUT"
out=$(jc_on web-01 jt_dave review --json --fleet 2>"$T/review.err"); rc=$?
[ "$rc" = 0 ] && grep -q "the fleet part is unavailable: the fleet database is unreachable" "$T/review.err" &&
        ok "review --json --fleet: exit 0, the one line on stderr" || not_ok "review --json --fleet: exit $rc" "$(cat "$T/review.err")"
BG2=$BG2 py '(d["fleet"] is None and d["fleet_error"] == "the fleet database is unreachable" and
    [g["id"] for g in d["local"]] == [int(__import__("os").environ["BG2"])])' <<<"$out" &&
        ok "... local [$BG2], fleet null, fleet_error" || not_ok "review --json --fleet, database down" "$out"

finish
