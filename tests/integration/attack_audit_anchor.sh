#!/usr/bin/env bash
# Issue 12, finding 9: the audit chain is anchored outside the database.
# (a) Every extension request and every partial approval (of a grant and of
# an extension) is an audit event in the table, not only a log line.
# (b) Someone who can write the database deletes the newest events: `jitctl
# audit verify --log FILE` (FILE: jitd's own log, whose audit lines carry
# seq=N hash=H) exits 1 saying the newest events are missing from the
# database; with the untouched database it exits 0.
# (c) He rewrites one event and recomputes the whole chain with plain SHA-256
# (jitd/store.c's format; tests/attack/attack.py rechain): the log no longer
# matches, `verify --log` exits 1. With `[jitd] audit_key = PATH` (root-owned
# 0600, not in the database's directory) the chain is an HMAC chain: the
# stored hashes are not plain SHA-256, and after such a rewrite plain
# `jitctl audit verify` exits 1. jitd refuses to start when the key file is
# group or world readable, not root's, or in the database's directory.
# (--journal is not tested: there is no journald here.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fault_lib.sh"
. "$(dirname "$0")/../attack_lib.sh"
jt_setup
attack_setup

group_add jt_sec
user_add jt_alice
user_add jt_bob jt_sec
user_add jt_carol jt_sec

conf() {  # conf DATABASE [EXTRA [jitd] LINE]
        config_write <<EOF2
[jitd]
socket = $SOCK
database = $1
sudoers_dir = $T/sudoers.d
host = testhost
teardown = cgroup
${2:-}

[role:pair]
members   = jt_alice
services  = sudo
approval  = peer
approvers = %jt_sec
approvals = 2
ticket    = none
default_duration = 1h
max_duration = 4h

[role:ops]
members   = jt_alice
services  = sudo
approval  = auto
ticket    = none
default_duration = 1h
max_duration = 4h
EOF2
}
events() {  # events GRANT EVENT: how many such rows the audit table holds
        sqlite3 "$DB" "SELECT count(*) FROM audit WHERE grant_id = $1 AND event = '$2'"
}
some_events() {  # a few grants requested and released
        local i
        for i in 1 2 3; do
                jc jt_alice request -r ops -d 1h -m "task $i" >/dev/null || not_ok "alice requests ops ($i)"
                jc jt_alice release "$(grant_of jt_alice ops)" >/dev/null || not_ok "alice releases ops ($i)"
        done
}
verify_log() { jc root audit verify --log "$T/jitd.log"; }

# (a) and (b): no key.
mkdir -p "$T/dba"; chmod 0755 "$T/dba"
DB=$T/dba/jitd.db
conf "$DB"
jitd_start || exit 1
expect 0 "alice requests pair (two approvals)" "pending" -- jc jt_alice request -r pair -d 1h -m "two approvals"
p=$(grant_of jt_alice pair)
expect 0 "bob approves: 1 of 2" "pending" -- jc jt_bob approve "$p"
expect 0 "the partial approval is an audit event in the table" "^1$" -- events "$p" approved
expect 0 "carol approves: active" "active" -- jc jt_carol approve "$p"
expect 0 "alice asks to extend it by 30m: it waits for approvals" "wait" -- jc jt_alice extend "$p" -d 30m -m "not done"
expect 0 "the extension request is an audit event in the table" "^1$" -- events "$p" extension-requested
expect 0 "bob approves the extension: 1 of 2" "" -- jc jt_bob approve "$p"
expect 0 "the partial approval of the extension is an audit event in the table" "^1$" -- events "$p" extension-approved
expect 0 "carol approves the extension" "" -- jc jt_carol approve "$p"
expect 0 "the grant was extended once" "^1$" -- events "$p" extended
some_events
expect 0 "control: plain SHA-256 over jitd/store.c's format reproduces every stored hash" "differ=0$" -- \
        "$PYTHON" "$ATTACK" rechain "$DB"
expect 0 "untouched: audit verify says intact" "intact" -- jc root audit verify
expect 0 "untouched: audit verify --log (jitd's own log) exits 0" "" -- verify_log
total=$(db_count audit)
sqlite3 "$DB" "PRAGMA busy_timeout = 5000; DELETE FROM audit WHERE seq > $((total - 3))" >/dev/null \
        || not_ok "deleting the newest 3 events"
echo "# the newest 3 of $total events deleted; plain audit verify: $(jc root audit verify 2>&1)"
expect 1 "newest 3 events deleted: audit verify --log exits 1, saying they are missing" "missing" -- verify_log
jitd_stop
mv "$T/jitd.log" "$T/jitd-a.log"

# (c) no key: the recomputed chain is caught by the log only.
mkdir -p "$T/dbb"; chmod 0755 "$T/dbb"
DB=$T/dbb/jitd.db
conf "$DB"
jitd_start || exit 1
some_events
expect 0 "a second database: untouched, audit verify --log exits 0" "" -- verify_log
expect 0 "event 2 rewritten, the whole chain recomputed with plain SHA-256" "rows=[0-9]+ differ=[1-9]" -- \
        "$PYTHON" "$ATTACK" rechain "$DB" 2 '{"reason":"nothing to see here"}'
echo "# without a key, plain audit verify after the recompute: $(jc root audit verify 2>&1)"
expect 1 "after the recompute audit verify --log exits 1 (the log's hashes differ)" "" -- verify_log
jitd_stop
mv "$T/jitd.log" "$T/jitd-b.log"

# (c) with audit_key: an HMAC chain.
mkdir -p "$T/dbc" "$T/keys"; chmod 0755 "$T/dbc"; chmod 0700 "$T/keys"
DB=$T/dbc/jitd.db
KEY=$T/keys/audit.key
openssl rand -hex 32 >"$KEY"; chmod 0600 "$KEY"
conf "$DB" "audit_key = $KEY"
if jitd_start; then
        ok "jitd starts with audit_key = a root-owned 0600 file outside the database's directory"
        some_events
        expect 0 "with the key: audit verify says intact" "intact" -- jc root audit verify
        expect 0 "with the key the stored hashes are not plain SHA-256 (an HMAC chain)" "rows=([0-9]+) differ=\\1$" -- \
                "$PYTHON" "$ATTACK" rechain "$DB"
        "$PYTHON" "$ATTACK" rechain "$DB" 2 '{"reason":"nothing to see here"}' >/dev/null
        expect 1 "with the key: event 2 rewritten and the chain recomputed with plain SHA-256, audit verify exits 1" "" -- \
                jc root audit verify
        jitd_stop
else
        not_ok "jitd starts with audit_key = a root-owned 0600 file outside the database's directory" \
                "$(tail -n 3 "$T/jitd.log")"
        not_ok "with the key: a chain recomputed without it is found (not tested: jitd did not start)"
fi
rm -f "$T/dbc/jitd.db"*

chmod 0640 "$KEY"
jitd_refuses "a group-readable (0640) audit_key: jitd refuses to start, naming it" "$KEY"
chmod 0604 "$KEY"
jitd_refuses "a world-readable (0604) audit_key: jitd refuses to start, naming it" "$KEY"
chmod 0600 "$KEY"; chown jt_alice "$KEY"
jitd_refuses "an audit_key owned by alice: jitd refuses to start, naming it" "$KEY"
chown root "$KEY"
cp -p "$KEY" "$T/dbc/audit.key"
conf "$DB" "audit_key = $T/dbc/audit.key"
jitd_refuses "an audit_key in the database's directory: jitd refuses to start, naming it" "$T/dbc/audit.key"
finish
