#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""What pam_jit does in one process, by hand, for tests that need the raw
protocol: a check (account phase), then a session-open with the token the
allow carried, then optionally a session-close. Prints one line per answer:
"ok ID" / "decision N" / "error ERRNO-NAME: message".

  pamlike.py SOCKET USER SERVICE [--target U] [--no-token] [--hold SECONDS]
             [--close-as USER] [--close]
"""
import argparse
import errno
import socket
import struct
import sys
import time

MAGIC, VERSION = 0x4A495444, 1
CHECK, SESSION_OPEN, SESSION_CLOSE = 2, 11, 12
OK, ERROR, DECISION = 64, 65, 66
F_ID, F_USER, F_SERVICE, F_DECISION, F_MESSAGE, F_ERRNO, F_TOKEN, F_TARGET = 1, 2, 5, 13, 14, 15, 38, 39
# Every u64 field of doc/PROTOCOL.md (the rest are strings).
U64 = {1, 3, 10, 12, 13, 15, 16, 17, 18, 19, 20, 23, 25, 27, 31, 32, 37}


def frame(kind, fields):
    payload = b""
    for tag, value in fields:
        data = struct.pack("<Q", value) if tag in U64 else value.encode()
        payload += struct.pack("<BH", tag, len(data)) + data
    return struct.pack("<IBBHI", MAGIC, VERSION, kind, 0, len(payload)) + payload


def parse(data):
    magic, version, kind, _, length = struct.unpack_from("<IBBHI", data)
    assert magic == MAGIC and version == VERSION and length == len(data) - 12
    fields, off = {}, 12
    while off < len(data):
        tag, n = struct.unpack_from("<BH", data, off)
        off += 3
        value = data[off:off + n]
        off += n
        fields[tag] = struct.unpack("<Q", value)[0] if tag in U64 else value.decode()
    return kind, fields


def ask(sock, kind, fields):
    sock.send(frame(kind, fields))
    return parse(sock.recv(8192))


def say(kind, fields):
    if kind == OK:
        print("ok %d" % fields.get(F_ID, 0), flush=True)
    elif kind == DECISION:
        print("decision %d" % fields.get(F_DECISION, 0), flush=True)
    else:
        e = fields.get(F_ERRNO, 0)
        print("error %s: %s" % (errno.errorcode.get(e, str(e)), fields.get(F_MESSAGE, "")), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("socket")
    p.add_argument("user")
    p.add_argument("service")
    p.add_argument("--target")
    p.add_argument("--no-token", action="store_true")
    p.add_argument("--hold", type=float, default=0)
    p.add_argument("--close", action="store_true")
    p.add_argument("--close-as")
    a = p.parse_args()

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(a.socket)
    kind, fields = ask(sock, CHECK, [(F_USER, a.user), (F_SERVICE, a.service)])
    token = fields.get(F_TOKEN) if kind == DECISION else None
    opening = [(F_USER, a.user), (F_SERVICE, a.service)]
    if token and not a.no_token:
        opening.append((F_TOKEN, token))
    if a.target:
        opening.append((F_TARGET, a.target))
    kind, fields = ask(sock, SESSION_OPEN, opening)
    say(kind, fields)
    sid = fields.get(F_ID, 0) if kind == OK else 0
    if a.hold:
        time.sleep(a.hold)
    if a.close or a.close_as:
        kind, fields = ask(sock, SESSION_CLOSE, [(F_ID, sid), (F_USER, a.close_as or a.user), (F_SERVICE, a.service)])
        say(kind, fields)
    return 0


if __name__ == "__main__":
    sys.exit(main())
