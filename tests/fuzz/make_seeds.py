#!/usr/bin/env python3
"""Write the seed corpora under tests/fuzz/<target>/corpus/ (run from anywhere;
existing seeds of the same name are replaced, others are left). The ticket
bodies come from tests/ticketd.py's renderers, so they have the shapes the
real systems send; the rest is written out here or taken from files in the
tree (jitd.conf.example, the test suites' configs)."""
import hashlib
import importlib.util
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SPLIT = b"\n--8<--\n"


def put(target, name, data):
    d = os.path.join(HERE, target, "corpus")
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- proto ------------------------------------------------------------------
PF = {n: i + 1 for i, n in enumerate(
    "id user uid host service role ticket reason note duration state flags decision message errno requested_at "
    "approved_at starts_at expires_at ended_at end_reason approvers approvals_needed approval break_glass review "
    "now version tty rhost since count details event actor hash timeout".split())}
U64 = {"id", "uid", "duration", "flags", "decision", "errno", "requested_at", "approved_at", "starts_at",
       "expires_at", "ended_at", "approvals_needed", "break_glass", "now", "since", "count", "timeout"}
T = {n: i + 1 for i, n in enumerate(
    "ping check request approve deny cancel release revoke list show session-open session-close extend "
    "break-glass review audit audit-verify report reload status roles request-for".split())}
T.update({"ok": 64, "error": 65, "decision": 66, "grant": 67, "event": 68, "role": 69, "end": 70})


def frame(type_, **fields):
    payload = b""
    for k, v in fields.items():
        k = k.rstrip("_")
        if k in U64:
            payload += struct.pack("<BHQ", PF[k], 8, v)
        else:
            b = v.encode() if isinstance(v, str) else v
            payload += struct.pack("<BH", PF[k], len(b)) + b
    return struct.pack("<IBBHI", 0x4a495444, 1, T[type_], 0, len(payload)) + payload


def proto():
    put("proto", "ping", frame("ping"))
    put("proto", "check", frame("check", user="alice", service="sudo", rhost="bastion.example.com", tty="/dev/pts/3"))
    put("proto", "request", frame("request", role="dba", ticket="OPS-1234", duration=3600,
                                  reason="restore the orders table – Bestellungen"))
    put("proto", "approve", frame("approve", id=7, note="ok, go ahead"))
    put("proto", "list", frame("list", flags=1, state="active", since=1700000000))
    put("proto", "request-for", frame("request-for", user="alice", service="sudo", role="dba", ticket="CHG1",
                                      timeout=30000, rhost="10.0.0.1", tty="ssh"))
    put("proto", "review", frame("review", id=3, flags=4, note="reviewed"))
    put("proto", "grant", frame("grant", id=7, user="alice", uid=1000, host="db1", role="dba", ticket="OPS-1",
                                reason="a \xe2\x80\xae planted reason \x9b", duration=3600, state="active",
                                requested_at=1700000000, approved_at=1700000060, starts_at=1700000060,
                                expires_at=1700003660, approvers="bob,carol", approvals_needed=2,
                                approval="ticket,peer", break_glass=0, now=1700000100, message="grant 7 is active"))
    put("proto", "grant-ended", frame("grant", id=8, user="bob", uid=1001, host="db1", role="ops", state="revoked",
                                      ended_at=1700000200, end_reason="revoked by root: done", review="pending",
                                      break_glass=1))
    put("proto", "error", frame("error", errno=1, message="alice is not an approver of role dba"))
    put("proto", "decision", frame("decision", decision=2, message="run: jitctl request dba", role="dba",
                                   id=3, expires_at=1700003600, host="db1"))
    put("proto", "event", frame("event", id=7, now=1700000000, uid=0, actor="root", event="approved",
                                details='{"note":"ok"}', hash="ab" * 32, count=12))
    put("proto", "role", frame("role", role="dba", approval="peer", duration=3600, ticket="required", flags=0,
                               message="database admins"))
    put("proto", "ok", frame("ok", id=1, message="done", version="0.1.0", now=1700000000, host="h", count=3,
                             details="{}", user="alice", uid=1000, hash="00"))
    put("proto", "end", frame("end", count=2))


# ---- config -------------------------------------------------------------------
def config():
    with open(os.path.join(ROOT, "jitd.conf.example"), "rb") as f:
        put("config", "example", f.read())
    put("config", "small", """[jitd]
socket = /run/jitd/jitd.sock
database = /var/lib/jitd/jitd.db
sudoers_dir = /etc/sudoers.d
host = web01
admin_group = admins
warn_before = 5m

[role:web-admin]
members   = alice, %webops
hosts     = web*, db[0-9]
services  = sudo, sshd
runas     = root, www-data
commands  = /usr/bin/systemctl, /usr/sbin/nginx
nopasswd  = yes
approval  = ticket,peer
approvers = %sec
approvals = 2
ticket    = required
ticket_pattern = ^(CHG|INC)[0-9]+$   # change or incident
default_duration = 1h
max_duration = 4h
break_glass = oncall
break_glass_duration = 30m
uses = 1
max_extensions = 2

[role:ops]
members = bob
approval = auto
ticket = none
""")
    put("config", "ticket", """[jitd]
host = web01
[role:ops]
members = alice
approval = ticket
ticket = required
[ticket]
provider = jira
url = https://jira.example.org
token_file = /etc/jit/jira.token
auth = bearer
approved = Approved, Ready
closed = Closed, Rejected
hosts = /fields/customfield_10200
window_start = /fields/customfield_10300
window_end = /fields/customfield_10301
user_map = {user}@example.org
comment = yes
timeout = 10s
poll = 1m
pending_timeout = 1d
""")
    put("config", "http", """[role:x]
members = a
approval = auto
[ticket]
provider = http
url = http://127.0.0.1:8080
allow_http = yes
lookup = {url}/t/{ticket}
status = /ticket/state
requester = /ticket/owner
approved = approved
""")

    put("config", "fleet", """[role:x]
members = a
approval = auto
[fleet]
database = host=/run/postgresql dbname='jit fleet' user=jit_host_web01 sslmode=disable
password_file = /etc/jit/fleet.password
sync = 2s
""")
    put("config", "fleet-uri", """[fleet]
database = postgresql://jit_host_web01@[::1]:5432,db2/jit?sslmode=verify-full&application_name=jitd
sync = 1h
""")


# ---- duration -------------------------------------------------------------------
def duration():
    for s in ["90s", "15m", "1h", "1h30m", "2d", "1d2h3m4s", "366d", "367d", "0s", "10", "1h1h", "m", "1H"]:
        put("duration", "d-" + hashlib.sha1(s.encode()).hexdigest()[:8], s)


# ---- tickets ----------------------------------------------------------------------
def load_ticketd():
    spec = importlib.util.spec_from_file_location("ticketd", os.path.join(ROOT, "tests", "ticketd.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


PRESETS = ["jira", "servicenow", "redmine", "rt", "gitlab", "http"]
TICKETS = {"jira": "OPS-1", "servicenow": "CHG0030001", "redmine": "101", "rt": "201", "gitlab": "301",
           "http": "H-1"}


def tickets():
    td = load_ticketd()
    for i, p in enumerate(PRESETS):
        for state in ("pending", "approved", "closed", "rejected"):
            t = {"state": state, "requester": "alice", "hosts": ["web1", "db2"],
                 "window": [1700000000, 1700003600] if state == "approved" else [None, None]}
            _, obj = td.RENDER[p](TICKETS[p], t)
            body = json.dumps(obj).encode()
            for variant in (0, 1):
                sel = bytes([i + variant * len(PRESETS)])
                put("ticket_verdict", "%s-%s-%d" % (p, state, variant), sel + body)
            # preset, failure HTTP_OK, status 200, no Retry-After, content type, body
            head = bytes([i, 0]) + struct.pack("<H", 200) + b"\0"
            put("ticket_http", "%s-%s" % (p, state), head + b"application/json; charset=utf-8\n" + body)
        _, nf = 404, td.NOT_FOUND[p]
        put("ticket_http", "%s-404" % p, bytes([i, 0]) + struct.pack("<H", 404) + b"\0application/json\n"
            + json.dumps(nf).encode())
    put("ticket_http", "busy", bytes([0, 0]) + struct.pack("<H", 429) + b"\x07application/json\n{}")
    put("ticket_http", "unavailable", bytes([1, 0]) + struct.pack("<H", 503) + b"\0-\n")
    put("ticket_http", "tls", bytes([2, 3]) + struct.pack("<H", 0) + b"\0\n")
    put("ticket_http", "wrong-type", bytes([3, 0]) + struct.pack("<H", 200) + b"\0text/html\n<html>")
    put("ticket_http", "vendor-json", bytes([4, 0]) + struct.pack("<H", 200) + b"\0application/vnd.api+json\n[]")
    put("ticket_http", "trailing-nul", bytes([5, 0]) + struct.pack("<H", 200) + b"\0application/json\n{}\0\0")
    put("ticket_verdict", "time", b"\x052024-05-01T10:00:00.123+02:00")


# ---- sudoers render ------------------------------------------------------------------
def sudoers_render():
    def grant(id_, starts, expires, flags, *pieces):
        return struct.pack("<qqqB", id_, starts, expires, flags) + b"\0".join(p.encode() for p in pieces)
    put("sudoers_render", "all", grant(12, 1700000000, 1700003600, 0, "alice", "web-admin", "CHG123", "root",
                                       "ALL", "web-admin"))
    put("sudoers_render", "commands", grant(3, 1700000000, 1700086400, 1, "svc-backup", "backup", "",
                                            "root,www-data", "/usr/bin/rsync,/usr/sbin/nginx", "backup"))
    put("sudoers_render", "machine", grant(99, 1, 253402300799, 0, "web01$", "r.1", "JIRA/CHG-1#2", "postgres",
                                           "/usr/lib/postgresql/15/bin/pg_ctl", "r.1"))


# ---- standing, doctor ------------------------------------------------------------------
def sudoers_trees():
    put("standing", "debian", SPLIT.join([
        b"Defaults env_reset\nDefaults secure_path=\"/usr/sbin:/usr/bin\"\nroot ALL=(ALL:ALL) ALL\n"
        b"%sudo ALL=(ALL:ALL) ALL\n@include a\n@includedir inc\n",
        b"User_Alias OPS = alice, bob\nOPS web* = (root) /usr/bin/systemctl \\\n  restart nginx\n#1000 ALL=ALL\n",
        b"#include b\n", b"@include c\nbob ALL=NOPASSWD: ALL\n",
        b"carol ALL=(ALL) ALL\n", b"alice ALL=(root) NOTBEFORE=20240101000000Z ALL\n"]))
    put("standing", "loops", SPLIT.join([b"@include sudoers\n@include a\n", b"@include sudoers\n#include a\n"]))
    put("doctor_sudoers", "debian", SPLIT.join([
        b"Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n@include a\n#includedir /etc/sudoers.d\n",
        b"@includedir sudoers.d/\n", b"@include \"b\"\n", b"#include c\\ x\n"]))
    put("doctor_sudoers", "loop", b"@include sudoers\n@include sudoers\n@includedir sudoers.d\n")
    put("doctor_sudoers", "url", b"https://user@[::1]:8443/path\n")
    put("doctor_sudoers", "mountinfo",
        b"30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
        b"rw,nsdelegate,memory_recursiveprot,favordynmods\n")
    put("doctor_sudoers", "host", b"@include /etc/sudoers.d/%h.conf\n")
    put("doctor_pam", "debian", SPLIT.join([
        b"#%PAM-1.0\nsession required pam_limits.so\n@include common\naccount required pam_jit.so socket=/run/jitd/jitd.sock\n"
        b"session optional pam_jit.so\nauth requisite pam_jit.so prompt\n",
        b"account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\naccount requisite pam_deny.so\n"
        b"account required pam_permit.so\n@include nested\n",
        b"session required pam_unix.so\n"]))
    put("doctor_pam", "bypass", b"account sufficient pam_permit.so\naccount include common\n"
        b"account [default=die success=ok] /lib/security/pam_jit.so \\\n  socket=/x\n-session substack nested\n"
        + SPLIT + b"account required pam_jit.so\n")


# ---- text --------------------------------------------------------------------------------
def text():
    for name, s in [("ascii", b"restore the orders table"), ("utf8", "Störung – 緊急 ✓ 🚑 שלום".encode()),
                    ("c1", b"a \xc2\x9b2J \x9b2J"), ("bidi", "fix \u202etxt.exe \u2066x\u2069".encode()),
                    ("bad", b"caf\xe9 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf"),
                    ("quotes", b"x\" event=forged actor=\"root \\ done")]:
        put("text", name, s)


def main():
    proto()
    config()
    duration()
    tickets()
    sudoers_render()
    sudoers_trees()
    text()
    return 0


if __name__ == "__main__":
    sys.exit(main())
