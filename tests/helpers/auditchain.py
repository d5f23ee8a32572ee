#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A host's audit chain in its jitd store and in the fleet's jit.audit, for
tests/integration/fleet_upload.sh. The chain is jitd/audit.h's plain SHA-256
one:

  hash = hex(SHA-256(prev_hash "\\n" F(seq) F(at) F(actor_uid) F(actor)
                     F(grant_id) F(event) F(details)))   F(x) = "<len>:<x>,"

  auditchain.py append DB N [EVENT]
      append N events to the store DB (jitd stopped), chained after its tail
  auditchain.py check-fleet < ROWS
      recompute the chain of one host's fleet rows from the first; ROWS is a
      JSON array of [host_seq, at, actor_uid, actor, host_grant, grant,
      event, details, prev_hash, hash] in host_seq order (what psql prints
      for json_agg). Prints "rows=N last=SEQ", or "broken at SEQ: why" and
      exits 1.
  auditchain.py compare DB < ROWS
      the same rows against the store's, field by field: "equal N", or the
      first difference and exit 1.
"""
import hashlib
import json
import sqlite3
import sys

ZERO = "0" * 64


def netstring(v):
    b = v if isinstance(v, bytes) else str(v).encode()
    return str(len(b)).encode() + b":" + b + b","


def chain_hash(prev, seq, at, actor_uid, actor, grant, event, details):
    data = prev.encode() + b"\n" + b"".join(netstring(x) for x in (
        seq, at, actor_uid, actor.encode(), grant or 0, event.encode(), details.encode()))
    return hashlib.sha256(data).hexdigest()


def cmd_append(db, n, event="story-filler"):
    c = sqlite3.connect(db, timeout=10, isolation_level=None)
    c.execute("BEGIN IMMEDIATE")
    row = c.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = row if row else (0, ZERO)
    at = int(c.execute("SELECT strftime('%s', 'now')").fetchone()[0])
    for i in range(int(n)):
        seq += 1
        details = json.dumps({"n": i}, separators=(",", ":"))
        h = chain_hash(prev, seq, at, 0, "jitd", 0, event, details)
        c.execute("INSERT INTO audit (seq, at, actor_uid, actor, grant_id, event, details, prev_hash, hash) "
                  "VALUES (?, ?, 0, 'jitd', NULL, ?, ?, ?, ?)", (seq, at, event, details, prev, h))
        prev = h
    c.execute("COMMIT")
    print(f"appended={n} last={seq}")


def rows_in():
    rows = json.load(sys.stdin)
    return rows or []


def cmd_check_fleet():
    rows = rows_in()
    prev, expect = ZERO, 1
    for r in rows:
        seq, at, uid, actor, hgrant, _grant, event, details, prev_hash, h = r
        if seq != expect:
            print(f"broken at {seq}: expected host_seq {expect}")
            return 1
        if prev_hash != prev:
            print(f"broken at {seq}: prev_hash is not the hash of event {seq - 1}")
            return 1
        if chain_hash(prev, seq, at, uid, actor, hgrant, event, details) != h:
            print(f"broken at {seq}: the hash does not match the fields")
            return 1
        prev, expect = h, seq + 1
    print(f"rows={len(rows)} last={expect - 1}")
    return 0


def cmd_compare(db):
    rows = rows_in()
    c = sqlite3.connect(db, timeout=10)
    local = c.execute("SELECT seq, at, actor_uid, actor, coalesce(grant_id, 0), event, details, prev_hash, hash "
                      "FROM audit ORDER BY seq").fetchall()
    if len(local) != len(rows):
        print(f"the store holds {len(local)} events, the fleet {len(rows)}")
        return 1
    for mine, theirs in zip(local, rows):
        t = (theirs[0], theirs[1], theirs[2], theirs[3], theirs[4], theirs[6], theirs[7], theirs[8], theirs[9])
        if tuple(mine) != t:
            print(f"event {mine[0]} differs: store {mine!r} fleet {t!r}")
            return 1
    print(f"equal {len(rows)}")
    return 0


def main(a):
    if len(a) >= 3 and a[0] == "append":
        cmd_append(*a[1:4])
        return 0
    if a == ["check-fleet"]:
        return cmd_check_fleet()
    if len(a) == 2 and a[0] == "compare":
        return cmd_compare(a[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
