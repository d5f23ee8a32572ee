#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""What a hostile local user (or someone who can write the database) runs in
the attack_*.sh stories. Subcommands:

  fake SOCKET COUNTFILE       a fake jitd: answers every request with a
                              well-formed reply (check: decision ALLOW) and
                              counts the datagrams it received in COUNTFILE
  conns SOCKET N HOLD PID STOP_KB
                              open N connections, each sends `list` of
                              everything (flags=1) and never reads; stops
                              opening once jitd (PID) grew by STOP_KB; holds
                              HOLD seconds; prints what stayed open and RSS
  rate SOCKET SECONDS MIN HEX one connection, requests (HEX) as fast as
                              strictly in turn allows, for at least SECONDS
                              and MIN requests; prints how they were answered
  probe SOCKET SECONDS HEX    a fresh connection every 100 ms sending HEX;
                              prints the slowest answer in ms
  rechain DB [SEQ DETAILS]    recompute the audit chain with plain SHA-256
                              (jitd/store.c's format), after replacing the
                              details of event SEQ when given; without SEQ,
                              only count the rows whose stored hash differs
  forge-wal CLEAN WORKDIR UID USER
                              a -wal file that, replayed next to a copy of
                              CLEAN, adds an active 30-day grant for USER that
                              nobody approved

Frames follow doc/PROTOCOL.md; output lines are key=value for the shell.
"""
import hashlib
import os
import select
import shutil
import socket
import sqlite3
import sys
import time

MAGIC = 0x4A495444
T_PING, T_CHECK, T_LIST, T_SESSION_OPEN, T_SESSION_CLOSE = 1, 2, 9, 11, 12
R_OK, R_ERROR, R_DECISION, R_END = 64, 65, 66, 70
F_ID, F_USER, F_UID, F_HOST, F_ROLE, F_DECISION, F_MESSAGE, F_ERRNO = 1, 2, 3, 4, 6, 13, 14, 15
F_EXPIRES_AT, F_NOW, F_VERSION, F_COUNT = 19, 27, 28, 32
EAGAIN = 11


def field(tag, value):
    if isinstance(value, int):
        value = value.to_bytes(8, "little")
    elif isinstance(value, str):
        value = value.encode()
    return bytes([tag]) + len(value).to_bytes(2, "little") + value


def frame(mtype, *fields):
    payload = b"".join(fields)
    return MAGIC.to_bytes(4, "little") + bytes([1, mtype, 0, 0]) + len(payload).to_bytes(4, "little") + payload


def decode(data):
    """(type, {tag: bytes}) or None for anything that is not a frame."""
    if len(data) < 12 or int.from_bytes(data[0:4], "little") != MAGIC:
        return None
    mtype, fields, i = data[5], {}, 12
    while i + 3 <= len(data):
        tag, n = data[i], int.from_bytes(data[i + 1:i + 3], "little")
        fields[tag] = data[i + 3:i + 3 + n]
        i += 3 + n
    return mtype, fields


def u64(fields, tag):
    v = fields.get(tag)
    return int.from_bytes(v, "little") if v is not None and len(v) == 8 else None


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def connect(path, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    s.connect(path)
    return s


# --- fake ----------------------------------------------------------------------
def fake_reply(req):
    now = int(time.time())
    d = decode(req)
    mtype = d[0] if d else 0
    if mtype == T_PING:
        return frame(R_OK, field(F_UID, 0), field(F_USER, "root"), field(F_HOST, "fakehost"),
                     field(F_NOW, now), field(F_VERSION, "0.1.0"))
    if mtype == T_LIST:
        return frame(R_END, field(F_COUNT, 0))
    if mtype in (T_SESSION_OPEN, T_SESSION_CLOSE):
        return frame(R_OK, field(F_ID, 1))
    return frame(R_DECISION, field(F_ID, 1), field(F_DECISION, 1), field(F_ROLE, "ops"),
                 field(F_EXPIRES_AT, now + 3600), field(F_MESSAGE, "grant 1 (ops) active"))


def cmd_fake(path, countfile):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ls.bind(path)
    os.chmod(path, 0o666)
    ls.listen(64)
    received = 0
    with open(countfile + ".tmp", "w") as f:
        f.write("0\n")
    os.rename(countfile + ".tmp", countfile)
    poller = select.poll()
    poller.register(ls, select.POLLIN)
    conns = {}
    while True:
        for fd, ev in poller.poll():
            if fd == ls.fileno():
                c, _ = ls.accept()
                conns[c.fileno()] = c
                poller.register(c, select.POLLIN)
                continue
            c = conns[fd]
            try:
                data = c.recv(9000)
            except OSError:
                data = b""
            if not data:
                poller.unregister(fd)
                del conns[fd]
                c.close()
                continue
            received += 1
            with open(countfile + ".tmp", "w") as f:
                f.write(f"{received}\n")
            os.rename(countfile + ".tmp", countfile)
            try:
                c.send(fake_reply(data))
            except OSError:
                pass


# --- conns -----------------------------------------------------------------------
def closed_by_peer(s):
    p = select.poll()
    p.register(s, select.POLLRDHUP)
    for _, ev in p.poll(0):
        if ev & (select.POLLHUP | select.POLLERR | select.POLLRDHUP):
            return True
    return False


def cmd_conns(path, n, hold, pid, stop_kb):
    req = frame(T_LIST, field(12, 1))
    rss0 = peak = rss_kb(pid)
    socks, refused, stopped = [], 0, 0
    for i in range(n):
        try:
            s = connect(path)
            s.send(req)
            socks.append(s)
        except OSError:
            refused += 1
        # In batches of 10, each given a moment to be served: the memory it
        # costs shows, and the flood stops before it eats the machine.
        if i % 10 == 9:
            last, settle = rss_kb(pid), time.monotonic() + 0.5
            while time.monotonic() < settle:
                time.sleep(0.03)
                now = rss_kb(pid)
                if now == last:
                    break
                last = now
        peak = max(peak, rss_kb(pid))
        if peak - rss0 > stop_kb:
            stopped = 1
            break
    end = time.monotonic() + hold
    while time.monotonic() < end:
        peak = max(peak, rss_kb(pid))
        time.sleep(0.05)
    still = sum(1 for s in socks if not closed_by_peer(s))
    print(f"opened={len(socks)} refused={refused} open={still} rss0={rss0} peak={peak} stopped={stopped}")
    sys.stdout.flush()
    for s in socks:
        s.close()


# --- rate ------------------------------------------------------------------------
def classify(reply):
    d = decode(reply)
    if not d:
        return "garbled"
    mtype, fields = d
    if mtype != R_ERROR:
        return "ok"
    msg = fields.get(F_MESSAGE, b"").decode(errors="replace").lower()
    if u64(fields, F_ERRNO) == EAGAIN or "too many" in msg or "slow down" in msg:
        return "limited"
    return "error"


def cmd_rate(path, seconds, minimum, hexreq):
    req = bytes.fromhex(hexreq)
    counts = {"ok": 0, "limited": 0, "error": 0, "garbled": 0}
    closed, sent, first_limit, example = 0, 0, 0, ""
    s = connect(path)
    start = time.monotonic()
    while time.monotonic() - start < seconds or sent < minimum:
        try:
            s.send(req)
            sent += 1
            reply = s.recv(9000)
        except OSError:
            closed = 1
            break
        if not reply:
            closed = 1
            break
        k = classify(reply)
        counts[k] += 1
        if k == "limited" and not first_limit:
            first_limit = sent
            d = decode(reply)
            example = d[1].get(F_MESSAGE, b"").decode(errors="replace").replace(" ", "_") if d else ""
    print(f"sent={sent} ok={counts['ok']} limited={counts['limited']} error={counts['error']} "
          f"garbled={counts['garbled']} closed={closed} first_limit={first_limit} "
          f"secs={time.monotonic() - start:.2f} example={example or '-'}")


# --- probe -----------------------------------------------------------------------
def cmd_probe(path, seconds, hexreq):
    req = bytes.fromhex(hexreq)
    worst, n, slow, failed = 0.0, 0, 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            s = connect(path, 1.0)
            s.send(req)
            reply = s.recv(9000)
            s.close()
            ok = classify(reply) == "ok"
        except OSError:
            ok = False
        ms = (time.monotonic() - t0) * 1000
        n += 1
        worst = max(worst, ms)
        slow += ms >= 250  # a blocked loop takes seconds; the margin is for a loaded CI machine
        failed += not ok
        time.sleep(0.1)
    print(f"n={n} worst_ms={worst:.1f} slow={slow} failed={failed}")


# --- rechain ---------------------------------------------------------------------
def netstring(v):
    b = v if isinstance(v, bytes) else str(v).encode()
    return str(len(b)).encode() + b":" + b + b","


def chain_hash(prev, row):
    seq, at, actor_uid, actor, grant_id, event, details = row
    data = prev.encode() + b"\n" + b"".join(netstring(x) for x in (
        seq, at, actor_uid, actor.encode(), grant_id or 0, event.encode(), details.encode()))
    return hashlib.sha256(data).hexdigest()


def cmd_rechain(db, seq=None, details=None):
    c = sqlite3.connect(db, timeout=10, isolation_level=None)
    c.execute("BEGIN IMMEDIATE")
    if seq is not None:
        c.execute("UPDATE audit SET details = ? WHERE seq = ?", (details, seq))
    rows = c.execute("SELECT seq, at, actor_uid, actor, grant_id, event, details, prev_hash, hash "
                     "FROM audit ORDER BY seq").fetchall()
    prev, differ = "0" * 64, 0
    for r in rows:
        h = chain_hash(prev, r[:7])
        if h != r[8] or prev != r[7]:
            differ += 1
            if seq is not None:
                c.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, r[0]))
        prev = h
    c.execute("COMMIT" if seq is not None else "ROLLBACK")
    print(f"rows={len(rows)} differ={differ}")


# --- forge-wal -------------------------------------------------------------------
def cmd_forge_wal(clean, work, uid, user):
    db = os.path.join(work, "f.db")
    shutil.copyfile(clean, db)
    c = sqlite3.connect(db, isolation_level=None)
    mode = c.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        sys.exit(f"forge-wal: {clean} is not in WAL mode ({mode})")
    c.execute("PRAGMA wal_autocheckpoint = 0")
    now = int(time.time())
    c.execute("BEGIN")
    cur = c.execute(
        "INSERT INTO grants (user, uid, host, role, ticket, reason, duration, state, requested_at, approved_at, "
        "starts_at, expires_at, ended_at, end_reason, approvers, approvals_needed, approval, break_glass, review) "
        "VALUES (?, ?, 'testhost', 'ops', '', 'forged', 2592000, 'active', ?, ?, ?, ?, NULL, '', 'jt_bob', 1, "
        "'peer', 0, '')", (user, uid, now, now, now, now + 2592000))
    c.execute("COMMIT")
    # The -wal now holds the transaction, the main file does not: copy it
    # before close() checkpoints it into f.db.
    shutil.copyfile(db + "-wal", os.path.join(work, "forged-wal"))
    print(f"grant={cur.lastrowid}")
    c.close()


def main(a):
    if len(a) >= 3 and a[0] == "fake":
        cmd_fake(a[1], a[2])
    elif len(a) == 6 and a[0] == "conns":
        cmd_conns(a[1], int(a[2]), float(a[3]), int(a[4]), int(a[5]))
    elif len(a) == 5 and a[0] == "rate":
        cmd_rate(a[1], float(a[2]), int(a[3]), a[4])
    elif len(a) == 4 and a[0] == "probe":
        cmd_probe(a[1], float(a[2]), a[3])
    elif len(a) == 2 and a[0] == "rechain":
        cmd_rechain(a[1])
    elif len(a) == 4 and a[0] == "rechain":
        cmd_rechain(a[1], int(a[2]), a[3])
    elif len(a) == 5 and a[0] == "forge-wal":
        cmd_forge_wal(a[1], a[2], int(a[3]), a[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
