#!/usr/bin/env bash
# Free text that reaches other people's screens, parsers and logs (issue 12,
# finding 11): a reason with a C1 control, a bidi override or bytes that are
# not UTF-8 is refused, by jitctl and by jitd's decoder; a bad byte planted in
# the database with sqlite3 is escaped by `jitctl show` and leaves `--json`
# valid; a reason cannot forge event= or actor= in jitd's key=value log line.
. "$(dirname "$0")/../lib.sh"
jt_setup

group_add jt_admins
user_add jt_alice
user_add jt_dave jt_admins

config_write <<EOF2
[jitd]
socket = $SOCK
database = $DB
sudoers_dir = $T/sudoers.d
host = testhost
admin_group = jt_admins

[role:ops]
members   = jt_alice
services  = sudo
approval  = auto
default_duration = 1h
EOF2
jitd_start || exit 1

grants=$(db_count grants); events=$(db_count audit)
unchanged() {
        if [ "$(db_count grants)" = "$grants" ] && [ "$(db_count audit)" = "$events" ]; then
                ok "$1: nothing was written"
        else
                not_ok "$1: nothing was written" "grants $(db_count grants) (was $grants), audit $(db_count audit) (was $events)"
        fi
}

# ---- refused on input -------------------------------------------------------

declare -A bad=(
        [c1_raw]=$'restore \x9b2J the table'             # CSI as a raw C1 byte
        [c1_utf8]=$'restore \xc2\x9b2J the table'        # CSI as U+009B, UTF-8 encoded
        [nel]=$'first\xc2\x85second'                      # NEL, a new line to some terminals
        [rlo]=$'fix invoice \xe2\x80\xaetxt.exe'          # RIGHT-TO-LEFT OVERRIDE
        [isolate]=$'deploy \xe2\x81\xa6admin\xe2\x81\xa9'  # FIRST STRONG ISOLATE .. POP
        [latin1]=$'caf\xe9 order'                         # Latin-1, not UTF-8
        [overlong]=$'x \xc0\xa2 event=forged'             # an overlong '"'
        [surrogate]=$'x \xed\xa0\x80'                     # a UTF-16 surrogate
)
for name in c1_raw c1_utf8 nel rlo isolate latin1 overlong surrogate; do
        expect 1 "a reason with $name is refused (exit 1)" "invalid reason" -- \
                jc jt_alice request -r ops -m "${bad[$name]}"
done
unchanged "refused reasons"

# The same on the wire, past jitctl: jitd's decoder refuses them.
raw() { as "$1" "$T/bin/rawsend" "$SOCK" "${@:2}"; }
hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
fstr_bytes() {  # fstr_bytes TAG BYTES: like lib.sh fstr, for any bytes
        local hex; hex=$(hexof "$2")
        printf '%02x%s%s' "$1" "$(le16 $((${#hex} / 2)))" "$hex"
}
for name in c1_raw c1_utf8 rlo latin1 surrogate; do
        expect 0 "jitd refuses a request frame whose reason has $name" \
                "error EBADMSG: field 'reason' contains" -- \
                raw jt_alice "$(frame 3 "$(fstr 6 ops)$(fstr_bytes 8 "${bad[$name]}")")"
done
expect 0 "jitd refuses a bidi override in a role name too" "error EBADMSG: field 'role' contains" -- \
        raw jt_alice "$(frame 3 "$(fstr_bytes 6 "${bad[rlo]}")")"
unchanged "refused frames"
expect 0 "text in other scripts is still welcome" "is active" -- \
        jc jt_alice request -r ops -m "Störung – 緊急 ✓ שלום"
id_ok=$(sqlite3 "$DB" "SELECT max(id) FROM grants")
jc jt_alice release "$id_ok" >/dev/null

# ---- planted in the database ---------------------------------------------------

expect 0 "a grant with a plain reason" "is active" -- jc jt_alice request -r ops -m "plain reason"
id=$(sqlite3 "$DB" "SELECT max(id) FROM grants")
# A raw C1 CSI, U+009B, RLO, a Latin-1 byte, a lone 0xff, a quote: as an
# older jitd or someone with the sqlite3 shell could have left them. (A byte
# below 0x20 never leaves jitd: the protocol refuses it in any message.)
sqlite3 "$DB" "UPDATE grants SET reason = CAST(X'61209b3220c29b3220e280ae747874206361666520ff2022e9' AS TEXT) WHERE id = $id"
sqlite3 "$DB" "UPDATE audit SET details = CAST(X'7b22726561736f6e223a2261ff62c29b63e280ae227d' AS TEXT)
               WHERE seq = (SELECT max(seq) FROM audit)"

# Valid JSON: strict UTF-8 and a strict parser (python's json), one document per line.
json_ok() {  # json_ok FILE
        python3 - "$1" <<'EOF2'
import json, sys
data = open(sys.argv[1], 'rb').read()
text = data.decode('utf-8')            # raises on anything that is not UTF-8
for line in text.splitlines():
    json.loads(line)
bad = [c for c in text if c != '\n' and (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or
       ord(c) in (0x61c, 0x200e, 0x200f) or 0x2028 <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069)]
if bad:
    sys.exit('raw control or bidi characters: %r' % bad)
EOF2
}
check_json() {  # check_json DESC JITCTL-ARGS...
        local desc=$1 err; shift
        if ! jc "$@" >"$T/out.json" 2>"$T/out.err"; then
                not_ok "$desc" "jitctl failed: $(cat "$T/out.err")"
        elif err=$(json_ok "$T/out.json" 2>&1); then
                ok "$desc"
        else
                not_ok "$desc" "$err"$'\n'"$(od -c "$T/out.json" | head -n 20)"
        fi
}
check_json "jitctl list --json stays valid JSON with a planted bad reason" jt_alice list --all --json
check_json "jitctl show --json stays valid JSON" jt_alice show "$id" --json
check_json "jitctl audit --json stays valid JSON with planted bad details" root audit --json
if jc jt_alice show "$id" --json | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())["reason"]
sys.exit(0 if "\u202e" in r and "\ufffd" in r and "\u009b" in r else 1)'; then
        ok "the reason's characters survive as escapes, bad bytes as U+FFFD"
else
        not_ok "the reason's characters survive as escapes, bad bytes as U+FFFD" "$(jc jt_alice show "$id" --json)"
fi

# Human output: the same escapes, and no byte a terminal would act on.
screen_ok() {  # screen_ok FILE
        python3 - "$1" <<'EOF2'
import sys
text = open(sys.argv[1], 'rb').read().decode('utf-8')
bad = [c for c in text if c != '\n' and (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or
       ord(c) in (0x61c, 0x200e, 0x200f) or 0x2028 <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069)]
sys.exit('raw control or bidi characters: %r' % bad if bad else 0)
EOF2
}
jc jt_alice show "$id" >"$T/show.out" 2>&1
if err=$(screen_ok "$T/show.out" 2>&1); then
        ok "jitctl show prints no raw control, C1 or bidi byte"
else
        not_ok "jitctl show prints no raw control, C1 or bidi byte" "$err"$'\n'"$(od -c "$T/show.out" | head -n 20)"
fi
expect 0 "jitctl show escapes them as \\xNN and \\uNNNN" \
        'reason: +a \\x9b2 \\u009b2 \\u202etxt cafe \\xff "\\xe9$' -- cat "$T/show.out"
jc root audit >"$T/audit.out" 2>&1
if err=$(screen_ok "$T/audit.out" 2>&1); then
        ok "jitctl audit prints no raw control, C1 or bidi byte"
else
        not_ok "jitctl audit prints no raw control, C1 or bidi byte" "$err"
fi
jc jt_alice release "$id" >/dev/null

# ---- the log line ---------------------------------------------------------------

forge=' event=granted actor=root actor_uid=0 x="y'
expect 0 "a reason that looks like log fields is fine text" "is active" -- \
        jc jt_alice request -r ops -m "deploy$forge"
id=$(sqlite3 "$DB" "SELECT max(id) FROM grants")
# A logfmt reader: key=word or key="..." with \" and \\ escapes, blank-separated.
# Each line of this grant's events must parse, with every key once.
if out=$(python3 - "$T/jitd.log" "$id" <<'EOF2'
import re, sys
tok = re.compile(r' ([A-Za-z_]+)=("(?:[^"\\]|\\.)*"|[^ "]*)(?= |$)')
lines = [l.rstrip('\n') for l in open(sys.argv[1], encoding='utf-8', errors='replace')
         if re.search(r' grant=%s( |$)' % sys.argv[2], l) and ' event=' in l]
if not lines:
    sys.exit('no event line for grant %s' % sys.argv[2])
carried = 0
for l in lines:
    head = re.match(r'jitd: [a-z]+:', l)
    rest = l[head.end():] if head else l
    keys, pos = [], 0
    for m in tok.finditer(rest):
        if m.start() != pos:
            sys.exit('not key=value at %r in %s' % (rest[pos:], l))
        keys.append(m.group(1)); pos = m.end()
    if pos != len(rest):
        sys.exit('not key=value at %r in %s' % (rest[pos:], l))
    if len(keys) != len(set(keys)):
        sys.exit('a key appears twice in: %s' % l)
    fields = dict((m.group(1), m.group(2)) for m in tok.finditer(rest))
    if fields.get('actor') == 'root' or fields.get('event') == 'granted':
        sys.exit('a forged field won in: %s' % l)
    if 'event=granted' in fields.get('details', ''):
        carried += 1
if not carried:
    sys.exit('no line carries the reason in its details')
print(len(lines))
EOF2
); then
        ok "the reason forged no event= or actor= field in jitd's log ($out lines)"
else
        not_ok "the reason forged no event= or actor= field in jitd's log" "$out"$'\n'"$(grep " grant=$id" "$T/jitd.log")"
fi
jc jt_alice release "$id" >/dev/null

expect 0 "jitd still serves" "host +testhost" -- jc jt_alice status
finish
