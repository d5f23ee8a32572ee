#!/usr/bin/env bash
# Story: a host authenticates to the fleet's PostgreSQL with a client
# certificate instead of a password (issue 14: "password_file, or a client
# certificate in the connection string"). A throwaway PostgreSQL 15 with
# ssl=on and a test CA made here with the openssl CLI (a server certificate
# for 127.0.0.1, one client certificate per role, CN = the role's name);
# pg_hba.conf lets the owner and the members of jit_host in over TLS with
# `cert` only (no password line for them anywhere). The owner runs jitctl
# fleet init and add-host with its own certificate in -D; add-host
# --sslcert/--sslkey makes the host's role without a password and prints
# [fleet] lines without password_file, which web-01's jitd runs on as they
# are: it connects (status, and the server sees a TLS session with the
# host's certificate), a request and an approval go through it, PAM allows.
# Then each way a certificate setup can be wrong, each on a jitd of its own
# (as web-01, its own socket and store), fails closed with the reason in
# jitctl status and the log, and never connects: a certificate from another
# CA, a certificate naming another host's role, a key of mode 0644 and one of
# mode 0640 (libpq would take a root-owned 0640 key; jitd wants root's 0600,
# as for password_file), a missing key, a key that is a symbolic link, a
# relative key path, sslcert without sslkey, and a key with a passphrase
# (jitd.conf can hold none: refused, and a jitd started on a terminal does not
# ask for it there, which would stop its loop).
# shellcheck disable=SC2034 # PID is used by tests/fleet_lib.sh
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../fleet_lib.sh"
. "$(dirname "$0")/../pg_lib.sh"
pg_require
command -v openssl >/dev/null || { echo "# SKIP openssl is missing"; exit 0; }
command -v ssh-keygen >/dev/null || { echo "# SKIP ssh-keygen is missing"; exit 0; }
jt_setup
unset PGPASSWORD PGSSLCERT PGSSLKEY PGSSLROOTCERT

BAD="bad-ca other-cn key-0644 key-0640 key-missing key-link key-relative no-key key-secret"
HOSTS="web-01 $BAD"
declare -A PID

# ---- a CA, and a certificate for each party --------------------------------------------------

TLS=$T/tls
mkdir -m 0700 "$TLS"
# EC keys: made at once (RSA would take a while on a busy machine).
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null && chmod 0600 "$1"; }
ca_make() {  # ca_make NAME SUBJECT
        newkey "$TLS/$1.key" &&
        openssl req -x509 -new -key "$TLS/$1.key" -days 2 -subj "/CN=$2" -out "$TLS/$1.crt" 2>/dev/null
}
cert_make() {  # cert_make NAME CN CA [EXTFILE]: NAME.key and NAME.crt, signed by CA
        newkey "$TLS/$1.key" &&
        openssl req -new -key "$TLS/$1.key" -subj "/CN=$2" -out "$TLS/$1.csr" 2>/dev/null &&
        openssl x509 -req -in "$TLS/$1.csr" -CA "$TLS/$3.crt" -CAkey "$TLS/$3.key" -CAcreateserial -days 2 \
                ${4:+-extfile "$4"} -out "$TLS/$1.crt" 2>/dev/null
}
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$TLS/server.ext"
if ca_make ca "jit fleet test CA" && ca_make other "another CA" &&
   cert_make server 127.0.0.1 ca "$TLS/server.ext" && cert_make owner jit_owner ca &&
   cert_make web-01 jit_host_web_01 ca && cert_make web-02 jit_host_web_02 ca &&
   cert_make rogue jit_host_web_01 other; then
        ok "a test CA (and another) with the openssl CLI: a server certificate, one client certificate per role"
else
        not_ok "the test certificates"
        finish
        exit
fi

# The server's files, postgres's to read (it refuses a key others can read).
mkdir -m 0700 "$T/pgssl"
cp "$TLS/server.crt" "$TLS/server.key" "$TLS/ca.crt" "$T/pgssl/"
chown -R postgres: "$T/pgssl"

PG_TCP=$((20000 + RANDOM % 30000))
export PGPORT=$PG_TCP
if ! pg_start "ssl=on" "ssl_cert_file='$T/pgssl/server.crt'" "ssl_key_file='$T/pgssl/server.key'" \
              "ssl_ca_file='$T/pgssl/ca.crt'"; then
        not_ok "PostgreSQL 15 starts with ssl=on in $T/pg"
        finish
        exit
fi
# Over TCP only TLS with a certificate, for the owner and the fleet's hosts;
# the superuser (for this story's own checks) on the socket with its password.
cat >"$PG_DIR/data/pg_hba.conf" <<EOF
local   all     postgres                  scram-sha-256
hostssl fleet   jit_owner   127.0.0.1/32  cert
hostssl fleet   +jit_host   127.0.0.1/32  cert
EOF
pg_super "SELECT pg_reload_conf()" >/dev/null
[ "$(pg_super "SHOW ssl")" = on ] && ok "PostgreSQL 15 runs with ssl=on; pg_hba.conf: hostssl ... cert for the owner and jit_host" ||
        not_ok "ssl is on"

# The owner logs in with its certificate alone: it has no password.
pg_super "CREATE ROLE jit_owner LOGIN CREATEROLE" "CREATE DATABASE fleet OWNER jit_owner" \
         "REVOKE CONNECT ON DATABASE fleet FROM PUBLIC"
DB="host=127.0.0.1 port=$PG_TCP dbname=fleet sslmode=verify-full sslrootcert=$TLS/ca.crt"
ADMIN="$DB user=jit_owner sslcert=$TLS/owner.crt sslkey=$TLS/owner.key"
owner_sql() { pg_psql -d "$ADMIN" -c "$1"; }
expect 0 "jitctl fleet init -D with the owner's client certificate (no password anywhere)" 'created' -- \
        "$T/bin/jitctl" fleet init -D "$ADMIN"

# ---- add-host in certificate mode ------------------------------------------------------------

mkdir -p "$T/h" && chmod 0755 "$T/h"
for h in $HOSTS; do
        mkdir -p "$T/h/$h/db" "$T/h/$h/pam" "$T/h/$h/sudoers.d" "$T/h/$h/tls"
        chmod 0755 "$T/h/$h"; chmod 0750 "$T/h/$h/sudoers.d"; chmod 0700 "$T/h/$h/tls"
done
K=$T/h/web-01/tls
cp "$TLS/web-01.crt" "$K/client.crt"; cp "$TLS/web-01.key" "$K/client.key"
chmod 0644 "$K/client.crt"; chmod 0600 "$K/client.key"

expect 2 "add-host: --sslcert without --sslkey is a usage error" "needs both --sslcert and --sslkey" -- \
        "$T/bin/jitctl" fleet add-host web-01 -D "$ADMIN" --sslcert "$K/client.crt"
expect 2 "add-host: a password file and a certificate together is a usage error" "either --password-file or --sslcert" -- \
        "$T/bin/jitctl" fleet add-host web-01 -D "$ADMIN" --password-file "$T/pw" --sslcert "$K/client.crt" --sslkey "$K/client.key"
expect 1 "add-host: a relative --sslkey is refused" "is not an absolute path" -- \
        "$T/bin/jitctl" fleet add-host web-01 -D "$ADMIN" --sslcert "$K/client.crt" --sslkey client.key
expect 2 "fleet init takes no --sslcert" "does not take" -- \
        "$T/bin/jitctl" fleet init -D "$ADMIN" --sslcert "$K/client.crt" --sslkey "$K/client.key"
[ "$(pg_super "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'jit_host_%'")" = 0 ] &&
        ok "... none of them made a role" || not_ok "a role was made"

expect 0 "add-host web-01 --sslcert --sslkey with the owner's certificate" "^database = .*user=jit_host_web_01" -- \
        "$T/bin/jitctl" fleet add-host web-01 -D "$ADMIN" --sslcert "$K/client.crt" --sslkey "$K/client.key"
ADDED=$LAST_OUT
CONNINFO=$(sed -n 's/^database = //p' <<<"$ADDED")
grep -q "sslcert=$K/client.crt sslkey=$K/client.key" <<<"$CONNINFO" && ! grep -q "owner" <<<"$CONNINFO" &&
        grep -q "sslrootcert=$TLS/ca.crt" <<<"$CONNINFO" && grep -q 'sslmode=verify-full' <<<"$CONNINFO" &&
        ok "... its database line has the host's certificate and key, not the owner's, and keeps verify-full" ||
        not_ok "the printed connection string" "$ADDED"
! grep -q 'password' <<<"$(grep -v '^#' <<<"$ADDED")" && grep -q 'CN=jit_host_web_01' <<<"$ADDED" &&
        ok "... no password_file line, and the comment names the certificate's CN" || not_ok "the printed lines" "$ADDED"
[ "$(pg_super "SELECT rolcanlogin AND rolpassword IS NULL FROM pg_authid WHERE rolname = 'jit_host_web_01'")" = t ] &&
        ok "... the role can log in and has no password (the certificate is its only way in)" ||
        not_ok "jit_host_web_01 has a password"
cp "$TLS/web-02.key" "$T/h/other-cn/tls/web-02.key"
expect 0 "add-host web-02 the same way" "user=jit_host_web_02" -- \
        "$T/bin/jitctl" fleet add-host web-02 -D "$ADMIN" --sslcert "$TLS/web-02.crt" --sslkey "$TLS/web-02.key"
[ "$(owner_sql "SELECT string_agg(name || '=' || role, ' ' ORDER BY name) FROM jit.hosts")" = \
  "web-01=jit_host_web_01 web-02=jit_host_web_02" ] && ok "both hosts are in jit.hosts" || not_ok "jit.hosts"

# ---- web-01 runs on the printed lines --------------------------------------------------------

group_add jt_webops
user_add jt_alice jt_webops
user_add jt_bob
mkdir -m 0700 "$T/bobkeys"
ssh-keygen -q -t ed25519 -N '' -C bob -f "$T/bobkeys/key" || exit 1
chown -R jt_bob "$T/bobkeys"
mkdir -m 0755 "$T/signers"
echo "jt_bob namespaces=\"pam-jit-approval\" $(cat "$T/bobkeys/key.pub")" >"$T/signers/allowed_signers"
chmod 0644 "$T/signers/allowed_signers"

conf() {  # conf HOST FLEET-LINES: jitd.conf of a jitd that is host web-01
        local d=$T/h/$1
        cat >"$d/jitd.conf" <<EOF
[jitd]
socket = $d/jitd.sock
database = $d/db/jitd.db
sudoers_dir = $d/sudoers.d
host = web-01
teardown = ${JIT_FLEET_TEARDOWN:-pidfd}

[role:web-admin]
members = %jt_webops
hosts = web-*
approval = peer
approvers = jt_bob
ticket = optional
max_duration = 4h

$2
allowed_signers = $T/signers/allowed_signers
EOF
        chmod 0644 "$d/jitd.conf"
        cat >"$d/pam/sudo" <<EOF
account  required $T/bin/pam_jit.so socket=$d/jitd.sock
account  required pam_permit.so
EOF
}
conf web-01 "$(sed -n '/^\[fleet\]/,$p' <<<"$ADDED")"
expect 0 "jitd --check takes the printed [fleet] lines as they are" -- "$T/bin/jitd" --check -c "$T/h/web-01/jitd.conf"
CLEANUP_HOOKS=(hosts_stop "${CLEANUP_HOOKS[@]}")
host_start web-01 || { not_ok "jitd starts on web-01 with a certificate and no password_file"; finish; exit; }
st() { "$T/bin/jitctl" -s "$T/h/$1/jitd.sock" status 2>&1; }
status_has() { grep -qE -- "$2" <<<"$(st "$1")"; }
if wait_for 10 status_has web-01 '^fleet: connected'; then
        ok "web-01's jitd connects with its client certificate: jitctl status shows the fleet link up"
else
        not_ok "web-01 connects" "$(st web-01; tail -5 "$T/h/web-01/jitd.log")"
fi
ssl_row=$(pg_super "SELECT DISTINCT s.ssl || ' ' || s.client_dn FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                    WHERE a.usename = 'jit_host_web_01' AND a.application_name = 'jitd'")
[ "$ssl_row" = "true /CN=jit_host_web_01" ] && ok "... the server sees its session over TLS with the certificate of jit_host_web_01" ||
        not_ok "the server's view of web-01's session" "$ssl_row"

jc_on() { local u=$1; shift; runuser -u "$u" -- "$T/bin/jitctl" -s "$T/h/web-01/jitd.sock" "$@"; }
expect 0 "jt_alice requests web-admin through web-01 (written with the certificate's session)" \
        "fleet grant F[0-9]+ for web-admin" -- jc_on jt_alice request -r web-admin -H web-01 -d 1h -m 'cert story'
G=$(grep -oE 'fleet grant F[0-9]+' <<<"$LAST_OUT" | head -1 | grep -oE 'F[0-9]+')
expect 0 "jt_bob approves $G through web-01" "fleet grant $G approved by jt_bob" -- \
        jc_on jt_bob approve "$G" --key "$T/bobkeys/key"
wait_for 5 has_dropin web-01 && ok "web-01 enforces $G" || not_ok "web-01 enforces $G" "$(st web-01)"
expect 0 "PAM allows jt_alice on web-01" "PAM_SUCCESS" -- pam web-01
[ "$(owner_sql "SELECT origin_host || ' ' || (SELECT count(*) FROM jit.approvals WHERE grant_id = ${G#F}) FROM jit.grants WHERE id = ${G#F}")" = "web-01 1" ] &&
        ok "the fleet has the request from web-01 and its approval" || not_ok "the fleet's rows"
uploaded() { [ "$(owner_sql "SELECT count(*) FROM jit.audit WHERE host = 'web-01'")" -gt 0 ]; }
wait_for 10 uploaded &&
        ok "... and web-01's uploaded audit events" || not_ok "web-01 uploads its audit events" "$(st web-01)"

# ---- each way it can be wrong fails closed, saying why ---------------------------------------

fleet_lines() {  # fleet_lines CERT KEY [USER]
        printf '[fleet]\ndatabase = %s user=%s sslcert=%s sslkey=%s\nsync = 1s\n' "$DB" "${3:-jit_host_web_01}" "$1" "$2"
}
d=$T/h
cp "$TLS/rogue.crt" "$TLS/rogue.key" "$d/bad-ca/tls/" && chmod 0600 "$d/bad-ca/tls/rogue.key"
conf bad-ca "$(fleet_lines "$d/bad-ca/tls/rogue.crt" "$d/bad-ca/tls/rogue.key")"
chmod 0600 "$d/other-cn/tls/web-02.key"
conf other-cn "$(fleet_lines "$TLS/web-02.crt" "$d/other-cn/tls/web-02.key")"
for m in 0644 0640; do
        cp "$TLS/web-01.key" "$d/key-$m/tls/client.key" && chmod "$m" "$d/key-$m/tls/client.key"
        conf "key-$m" "$(fleet_lines "$K/client.crt" "$d/key-$m/tls/client.key")"
done
conf key-missing "$(fleet_lines "$K/client.crt" "$d/key-missing/tls/client.key")"
ln -s "$K/client.key" "$d/key-link/tls/client.key"
conf key-link "$(fleet_lines "$K/client.crt" "$d/key-link/tls/client.key")"
conf key-relative "$(fleet_lines "$K/client.crt" "tls/client.key")"
conf no-key "$(printf '[fleet]\ndatabase = %s user=jit_host_web_01 sslcert=%s\nsync = 1s\n' "$DB" "$K/client.crt")"
openssl pkey -in "$TLS/web-01.key" -aes256 -passout pass:secret -out "$d/key-secret/tls/client.key" 2>/dev/null &&
        chmod 0600 "$d/key-secret/tls/client.key"
conf key-secret "$(fleet_lines "$K/client.crt" "$d/key-secret/tls/client.key")"

# key-secret's jitd has a terminal (script(1) gives it one, as an admin
# running jitd by hand would): OpenSSL's default is to ask for the passphrase
# there, and the loop would wait for an answer. Its log is the terminal's.
tty_start() {  # tty_start NAME
        local d=$T/h/$1 p=
        script -qfec "exec '$T/bin/jitd' -c '$d/jitd.conf'" "$d/jitd.log" </dev/null >/dev/null 2>&1 9>&- &
        for _ in $(seq 1 100); do
                p=$(ps -o pid= --ppid $! | tr -d ' ')
                [ -n "$p" ] && "$T/bin/jitctl" -s "$d/jitd.sock" status >/dev/null 2>&1 && break
                sleep 0.05
        done
        PID[$1]=$p
        [ -n "$p" ]
}
for h in $BAD; do
        if [ "$h" = key-secret ] && command -v script >/dev/null; then
                tty_start "$h" || not_ok "jitd starts as $h on a terminal"
        else
                host_start "$h" || not_ok "jitd starts as $h (the fleet link fails, jitd runs)"
        fi
done
declare -A WHY=(
        [bad-ca]='SSL error: tlsv1 alert unknown ca|certificate verify failed|unknown ca'
        [other-cn]='certificate authentication failed for user "jit_host_web_01"'
        [key-0644]="sslkey $d/key-0644/tls/client.key: must be a regular file owned by root, mode 0600 \\(it is mode 0644"
        [key-0640]="sslkey $d/key-0640/tls/client.key: must be a regular file owned by root, mode 0600 \\(it is mode 0640"
        [key-missing]="sslkey $d/key-missing/tls/client.key: No such file or directory"
        [key-link]="sslkey $d/key-link/tls/client.key: is a symlink"
        [key-relative]="sslkey tls/client.key: not an absolute path"
        [no-key]="sslcert without sslkey"
        [key-secret]='could not load private key file|bad decrypt|problems getting password|passphrase'
)
declare -A SAYS=(
        [bad-ca]="a certificate signed by another CA"
        [other-cn]="a certificate whose CN names another host's role (web-02's, to log in as web-01's)"
        [key-0644]="a key of mode 0644"
        [key-0640]="a key of mode 0640 (libpq takes a root-owned 0640 key; jitd does not)"
        [key-missing]="a missing key file"
        [key-link]="a key that is a symbolic link"
        [key-relative]="a relative key path"
        [no-key]="sslcert without sslkey (libpq would look in root's ~/.postgresql)"
        [key-secret]="a key with a passphrase, jitd on a terminal (refused, without asking)"
)
for h in $BAD; do
        if wait_for 10 status_has "$h" "^fleet: unreachable for [0-9]+ s \\(.*(${WHY[$h]})"; then
                ok "${SAYS[$h]}: not connected, and jitctl status says why"
        else
                not_ok "${SAYS[$h]}: status says why" "$(st "$h"; tail -3 "$T/h/$h/jitd.log")"
        fi
        [ "$(grep -c 'fleet: the database is unreachable' "$T/h/$h/jitd.log")" = 1 ] &&
                grep -qE -- "fleet: the database is unreachable \\(.*(${WHY[$h]})" "$T/h/$h/jitd.log" &&
                ok "... and the log, once" || not_ok "${SAYS[$h]}: the log line" "$(grep fleet "$T/h/$h/jitd.log")"
done
! grep -q 'pass phrase' "$T/h/key-secret/jitd.log" && ok "... jitd on a terminal never asked for the passphrase there" ||
        not_ok "jitd asked for a passphrase" "$(cat -v "$T/h/key-secret/jitd.log")"
n=$(pg_super "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'jit_host_%'")
[ "$n" = 1 ] && ok "none of them has a session in the database (web-01's own is the only one)" ||
        not_ok "sessions of host roles: $n" "$(pg_super "SELECT usename, client_addr FROM pg_stat_activity")"
st web-01 | grep -q '^fleet: connected' && ok "web-01 is still connected meanwhile" || not_ok "web-01 lost its link"
finish
