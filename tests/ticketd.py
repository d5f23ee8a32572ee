#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Test ticket server: Jira, ServiceNow, Redmine, Request Tracker, GitLab and a
plain "http" system on 127.0.0.1, with each system's real response shapes at the
paths jitd's presets call. Python standard library only.

    ticketd.py [--port N] [--tls CERT KEY [--tls-port N]] [--token T]
               [--requester NAME] [--port-file FILE] [-v]

Prints "http PORT" (and "https PORT" with --tls) on stdout, one line each, once
listening; --port-file gets the same lines. Both listeners share one state.
Exits when its parent goes away.

Tickets live in one table shared by every system (ticket "1" is Redmine issue
1, RT ticket 1 and GitLab issue 1 at once). A ticket nobody configured does not
exist (404, or ServiceNow's empty result).

Control API (no auth):
  POST /_control/ticket/<id>   JSON, merged into the ticket:
        state      pending | approved | closed | rejected
        requester  user name (default --requester)
        hosts      ["web1", ...]
        window     [start, end]: each null (unset), a number (epoch seconds,
                   shown in the system's own format) or a string (sent verbatim)
        mode       normal | slow | 500 | 503 | 429 | malformed | trailing |
                   huge | hugelen | wrongtype | redirect | 404
        slow       seconds "slow" sleeps (default 5)
        retry_after  Retry-After for 429/503: "7", or "date:+30" for an HTTP date
  GET  /_control/ticket/<id>   the ticket as stored
  POST /_control/reset         forget tickets, notes and counts
  GET  /_control/notes         every note received: [{system, method, path,
                               ticket, content_type, body}]
  GET  /_control/count         {"total": N, "tickets": {id: N}, "notes": {id: N}}:
                               lookups, and note attempts (failed ones too), per ticket

Credentials (401 with the system's error shape when wrong; T = --token):
  jira        Authorization: Bearer T, or Basic with password T
  servicenow  Basic with password T
  redmine     X-Redmine-API-Key: T
  rt          Authorization: token T, or Basic with password T
  gitlab      PRIVATE-TOKEN: T
  http        Authorization: Bearer T
"""
import argparse
import base64
import hashlib
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
TICKETS = {}
NOTES = []
COUNTS = {}
ARGS = None

STATES = ("pending", "approved", "closed", "rejected")
MODES = ("normal", "slow", "500", "503", "429", "malformed", "trailing", "huge", "hugelen", "wrongtype",
         "redirect", "404")


def new_ticket():
    return {"state": "pending", "requester": ARGS.requester, "hosts": [], "window": [None, None],
            "mode": "normal", "slow": 5, "retry_after": "7"}


def sys_id(tid):
    return hashlib.md5(tid.encode()).hexdigest()


def iso(t, fmt):
    return time.strftime(fmt, time.gmtime(t))


def when(v, system):
    """A window value in the system's format; its own "unset" for None."""
    if isinstance(v, str):
        return v
    if v is None:
        return {"jira": None, "servicenow": "", "redmine": "", "rt": "1970-01-01T00:00:00Z", "http": None}[system]
    if system == "jira":
        return iso(v, "%Y-%m-%dT%H:%M:%S.000+0000")
    if system == "servicenow":
        return iso(v, "%Y-%m-%d %H:%M:%S")
    return iso(v, "%Y-%m-%dT%H:%M:%SZ")


def user_obj_jira(name):
    return {"self": "https://jira.example.org/rest/api/2/user?username=" + name, "name": name, "key": name,
            "emailAddress": name + "@example.org", "displayName": name.capitalize(), "active": True,
            "timeZone": "UTC"}


def render_jira(tid, t):
    names = {"pending": ("Waiting for approval", "indeterminate"), "approved": ("Approved", "indeterminate"),
             "closed": ("Closed", "done"), "rejected": ("Rejected", "done")}
    name, cat = names[t["state"]]
    return 200, {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": str(10000 + len(tid)), "self": "https://jira.example.org/rest/api/2/issue/" + tid, "key": tid,
        "fields": {
            "summary": "Change " + tid,
            "issuetype": {"name": "Change", "subtask": False},
            "status": {"self": "https://jira.example.org/rest/api/2/status/10001", "description": "",
                       "name": name, "id": "10001",
                       "statusCategory": {"id": 4, "key": cat, "colorName": "yellow", "name": cat}},
            "reporter": user_obj_jira(t["requester"]) if t["requester"] else None,
            "assignee": None,
            "labels": [],
            "customfield_10200": [{"self": "https://jira.example.org/rest/api/2/customFieldOption/1",
                                   "value": h, "id": str(11000 + i)} for i, h in enumerate(t["hosts"])],
            "customfield_10300": when(t["window"][0], "jira"),
            "customfield_10301": when(t["window"][1], "jira"),
            "created": "2024-01-01T10:00:00.000+0000",
            "updated": "2024-01-01T10:00:00.000+0000",
        },
    }


def render_servicenow(tid, t):
    approval, state = {"pending": ("requested", "-3"), "approved": ("approved", "-1"),
                       "closed": ("approved", "3"), "rejected": ("rejected", "4")}[t["state"]]
    return 200, {"result": [{
        "sys_id": sys_id(tid), "number": tid, "approval": approval, "state": state,
        "start_date": when(t["window"][0], "servicenow"), "end_date": when(t["window"][1], "servicenow"),
        "requested_by.user_name": t["requester"] or "",
        "cmdb_ci.name": t["hosts"][0] if t["hosts"] else "",
    }]}


def render_redmine(tid, t):
    status = {"pending": (1, "New"), "approved": (7, "Approved"), "closed": (5, "Closed"),
              "rejected": (6, "Rejected")}[t["state"]]
    return 200, {"issue": {
        "id": int(tid) if tid.isdigit() else 0, "project": {"id": 1, "name": "Operations"},
        "tracker": {"id": 4, "name": "Change"}, "status": {"id": status[0], "name": status[1]},
        "priority": {"id": 2, "name": "Normal"},
        "author": {"id": 5, "name": t["requester"]} if t["requester"] else None,
        "subject": "Change " + tid, "description": "", "start_date": "2024-01-01", "due_date": None,
        "done_ratio": 0, "is_private": False, "estimated_hours": None,
        "custom_fields": [
            {"id": 1, "name": "Hosts", "multiple": True, "value": t["hosts"]},
            {"id": 2, "name": "Change start", "value": when(t["window"][0], "redmine")},
            {"id": 3, "name": "Change end", "value": when(t["window"][1], "redmine")},
        ],
        "created_on": "2024-01-01T10:00:00Z", "updated_on": "2024-01-01T10:00:00Z", "closed_on": None,
    }}


def render_rt(tid, t):
    status = {"pending": "new", "approved": "open", "closed": "resolved", "rejected": "rejected"}[t["state"]]
    base = "https://rt.example.org/REST/2.0"
    return 200, {
        "id": int(tid) if tid.isdigit() else 0, "Subject": "Change " + tid, "Status": status, "Type": "ticket",
        "Queue": {"id": "1", "type": "queue", "_url": base + "/queue/1"},
        "Owner": {"id": "Nobody", "type": "user", "_url": base + "/user/Nobody"},
        "Creator": {"id": "root", "type": "user", "_url": base + "/user/root"},
        "Requestor": [{"id": t["requester"], "type": "user", "_url": base + "/user/" + t["requester"]}]
        if t["requester"] else [],
        "Cc": [], "AdminCc": [],
        "Starts": when(t["window"][0], "rt"), "Due": when(t["window"][1], "rt"),
        "Started": "1970-01-01T00:00:00Z", "Resolved": "1970-01-01T00:00:00Z",
        "Created": "2024-01-01T10:00:00Z", "LastUpdated": "2024-01-01T10:00:00Z",
        "CustomFields": [{"id": "1", "name": "Hosts", "type": "customfield", "_url": base + "/customfield/1",
                          "values": t["hosts"]}],
        "_hyperlinks": [{"ref": "self", "type": "ticket", "id": tid, "_url": base + "/ticket/" + tid}],
    }


def render_gitlab(tid, t):
    state, labels = {"pending": ("opened", ["change"]), "approved": ("opened", ["change", "approved"]),
                     "closed": ("closed", ["change", "approved"]),
                     "rejected": ("closed", ["change", "rejected"])}[t["state"]]
    return 200, {
        "id": 1000 + (int(tid) if tid.isdigit() else 0), "iid": int(tid) if tid.isdigit() else 0,
        "project_id": 3, "title": "Change " + tid, "description": "", "state": state,
        "labels": labels + t["hosts"],
        "author": {"id": 5, "username": t["requester"], "name": (t["requester"] or "").capitalize(),
                   "state": "active", "web_url": "https://gitlab.example.org/" + (t["requester"] or "")}
        if t["requester"] else None,
        "assignees": [], "due_date": None, "created_at": "2024-01-01T10:00:00.000Z",
        "closed_at": None, "web_url": "https://gitlab.example.org/ops/changes/-/issues/" + tid,
    }


def render_http(tid, t):
    return 200, {"ticket": {"id": tid, "state": t["state"],
                            "owner": {"login": t["requester"]} if t["requester"] else None,
                            "hosts": t["hosts"],
                            "window": {"start": when(t["window"][0], "http"), "end": when(t["window"][1], "http")}}}


RENDER = {"jira": render_jira, "servicenow": render_servicenow, "redmine": render_redmine, "rt": render_rt,
          "gitlab": render_gitlab, "http": render_http}

NOT_FOUND = {
    "jira": {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}},
    "redmine": {"errors": ["Not found"]},
    "rt": {"message": "Resource does not exist"},
    "gitlab": {"message": "404 Not found"},
    "http": {"error": "not found"},
    "servicenow": {"error": {"message": "No Record found", "detail": "Record doesn't exist"}, "status": "failure"},
}

UNAUTHORIZED = {
    "jira": {"errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
             "errors": {}},
    "servicenow": {"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
                   "status": "failure"},
    "redmine": {"errors": ["Unauthorized"]},
    "rt": {"message": "Unauthorized"},
    "gitlab": {"message": "401 Unauthorized"},
    "http": {"error": "unauthorized"},
}


def basic_password(header):
    if not header or not header.startswith("Basic "):
        return None
    try:
        user_pass = base64.b64decode(header[6:], validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return user_pass.split(":", 1)[1] if ":" in user_pass else None


def authorized(system, h):
    tok = ARGS.token
    auth = h.get("Authorization")
    if system == "jira":
        return auth == "Bearer " + tok or basic_password(auth) == tok
    if system == "servicenow":
        return basic_password(auth) == tok
    if system == "redmine":
        return h.get("X-Redmine-API-Key") == tok
    if system == "rt":
        return auth == "token " + tok or basic_password(auth) == tok
    if system == "gitlab":
        return h.get("PRIVATE-TOKEN") == tok
    return auth == "Bearer " + tok


def route(method, path, query):
    """(system, ticket id, kind) for a ticket route, kind lookup or note; None otherwise."""
    seg = path.split("/")[1:]
    unq = urllib.parse.unquote
    if seg[:4] == ["rest", "api", "2", "issue"]:
        if len(seg) == 5 and method == "GET":
            return "jira", unq(seg[4]), "lookup"
        if len(seg) == 6 and seg[5] == "comment" and method == "POST":
            return "jira", unq(seg[4]), "note"
    if seg == ["api", "now", "table", "change_request"] and method == "GET":
        q = urllib.parse.parse_qs(query).get("sysparm_query", [""])[0]
        return "servicenow", q[len("number="):] if q.startswith("number=") else "", "lookup"
    if seg[:4] == ["api", "now", "table", "change_request"] and len(seg) == 5 and method == "PATCH":
        with LOCK:
            tid = next((k for k in TICKETS if sys_id(k) == seg[4]), "sys_id:" + seg[4])
        return "servicenow", tid, "note"
    if len(seg) == 2 and seg[0] == "issues" and seg[1].endswith(".json"):
        if method == "GET":
            return "redmine", unq(seg[1][:-5]), "lookup"
        if method == "PUT":
            return "redmine", unq(seg[1][:-5]), "note"
    if seg[:3] == ["REST", "2.0", "ticket"]:
        if len(seg) == 4 and method == "GET":
            return "rt", unq(seg[3]), "lookup"
        if len(seg) == 5 and seg[4] == "comment" and method == "POST":
            return "rt", unq(seg[3]), "note"
    if seg[:3] == ["api", "v4", "projects"] and len(seg) >= 6 and seg[4] == "issues":
        if len(seg) == 6 and method == "GET":
            return "gitlab", unq(seg[5]), "lookup"
        if len(seg) == 7 and seg[6] == "notes" and method == "POST":
            return "gitlab", unq(seg[5]), "note"
    if seg[:2] == ["http", "ticket"] and len(seg) == 3 and method == "GET":
        return "http", unq(seg[2]), "lookup"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ticketd/1"

    def log_message(self, fmt, *args):
        if ARGS.verbose:
            sys.stderr.write("ticketd: " + (fmt % args) + "\n")

    def send(self, code, obj=None, ctype="application/json; charset=utf-8", raw=None, headers=()):
        body = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
        self.send_response(code)
        if body or code not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def handle_any(self, method):
        data = self.body()
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/_control/"):
            return self.control(method, url.path, data)
        r = route(method, url.path, url.query)
        if not r:
            return self.send(404, {"error": "no such route: %s %s" % (method, url.path)})
        system, tid, kind = r
        if not authorized(system, self.headers):
            return self.send(401, UNAUTHORIZED[system])
        with LOCK:
            t = TICKETS.get(tid)
            t = dict(t) if t else None
            counts = COUNTS.setdefault(kind, {})
            counts[tid] = counts.get(tid, 0) + 1
        if t and self.fault(t):
            return
        if kind == "note":
            return self.note(system, method, url.path, tid, t, data)
        if not t or t["mode"] == "404":
            if system == "servicenow" and not t:
                return self.send(200, {"result": []})
            return self.send(404, NOT_FOUND[system])
        code, obj = RENDER[system](tid, t)
        self.send(code, obj)

    def fault(self, t):
        """Misbehave as the ticket's mode says; True when the answer is sent."""
        mode = t["mode"]
        if mode == "slow":
            time.sleep(float(t["slow"]))
            return False
        if mode in ("429", "503"):
            ra = str(t["retry_after"])
            if ra.startswith("date:"):
                ra = formatdate(time.time() + int(ra[5:]), usegmt=True)
            self.send(int(mode), {"error": "slow down"}, headers=[("Retry-After", ra)] if ra else ())
            return True
        if mode == "500":
            self.send(500, {"error": "internal error"})
            return True
        if mode == "malformed":
            self.send(200, raw=b'{"fields": {"status": {"name": "Approved"}')
            return True
        if mode == "trailing":
            self.send(200, raw=b'{"fields": {"status": {"name": "Approved"}}} {"x": 1}')
            return True
        if mode == "wrongtype":
            self.send(200, ctype="text/html; charset=utf-8", raw=b"<html><body>Log in</body></html>")
            return True
        if mode == "redirect":
            port = self.server.server_address[1]
            self.send(302, {"moved": True}, headers=[("Location", "http://127.0.0.2:%d/elsewhere" % port)])
            return True
        if mode in ("huge", "hugelen"):
            self.huge(mode == "hugelen")
            return True
        return False

    def huge(self, with_length):
        total, chunk = 10 * 1024 * 1024, b'{"pad": "' + b"x" * 65536
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if with_length:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        sent = 0
        try:
            while sent < total:
                n = min(len(chunk), total - sent)
                self.wfile.write(chunk[:n])
                sent += n
        except OSError:
            pass
        self.close_connection = True

    def note(self, system, method, path, tid, t, data):
        with LOCK:
            NOTES.append({"system": system, "method": method, "path": path, "ticket": tid,
                          "content_type": self.headers.get("Content-Type", ""),
                          "body": data.decode("utf-8", "replace")})
        if not t:
            return self.send(404, NOT_FOUND[system])
        if system == "jira":
            return self.send(201, {"id": "10100", "body": json.loads(data or b"{}").get("body", ""),
                                   "author": user_obj_jira("jit")})
        if system == "servicenow":
            return self.send(200, {"result": {"sys_id": sys_id(tid), "number": tid}})
        if system == "redmine":
            return self.send(204)
        if system == "rt":
            return self.send(201, ["Comments added"])
        return self.send(201, {"id": 77, "body": json.loads(data or b"{}").get("body", ""), "system": False})

    def control(self, method, path, data):
        seg = path.split("/")[2:]
        if method == "POST" and seg == ["reset"]:
            with LOCK:
                TICKETS.clear()
                NOTES.clear()
                COUNTS.clear()
            return self.send(200, {"ok": True})
        if method == "GET" and seg == ["notes"]:
            with LOCK:
                return self.send(200, list(NOTES))
        if method == "GET" and seg == ["count"]:
            with LOCK:
                lookups = dict(COUNTS.get("lookup", {}))
                return self.send(200, {"total": sum(lookups.values()), "tickets": lookups,
                                       "notes": dict(COUNTS.get("note", {}))})
        if len(seg) == 2 and seg[0] == "ticket":
            tid = urllib.parse.unquote(seg[1])
            if method == "GET":
                with LOCK:
                    t = TICKETS.get(tid)
                return self.send(200 if t else 404, t or {"error": "no such ticket"})
            if method == "POST":
                try:
                    upd = json.loads(data or b"{}")
                    if not isinstance(upd, dict):
                        raise ValueError("not an object")
                    if "state" in upd and upd["state"] not in STATES:
                        raise ValueError("state must be one of " + ", ".join(STATES))
                    if "mode" in upd and upd["mode"] not in MODES:
                        raise ValueError("mode must be one of " + ", ".join(MODES))
                except ValueError as e:
                    return self.send(400, {"error": str(e)})
                with LOCK:
                    t = TICKETS.setdefault(tid, new_ticket())
                    t.update(upd)
                    return self.send(200, t)
        return self.send(404, {"error": "no such control route"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls = None

    def process_request_thread(self, request, client_address):
        # The TLS handshake happens here, in the request's own thread, so a
        # client that never completes it does not stall the accept loop.
        if self.tls:
            try:
                request.settimeout(30)
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                self.shutdown_request(request)
                return
        super().process_request_thread(request, client_address)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def watch_parent(ppid):
    while True:
        if os.getppid() != ppid:
            os._exit(0)
        time.sleep(0.5)


def main():
    global ARGS
    p = argparse.ArgumentParser(description="test ticket server")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--tls-port", type=int, default=0)
    p.add_argument("--token", default="jit-test-token")
    p.add_argument("--requester", default="alice")
    p.add_argument("--port-file")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("port_pos", nargs="?", type=int, help=argparse.SUPPRESS)
    ARGS = p.parse_args()
    if ARGS.port_pos is not None:
        ARGS.port = ARGS.port_pos

    servers = [("http", Server(("127.0.0.1", ARGS.port), Handler))]
    if ARGS.tls:
        s = Server(("127.0.0.1", ARGS.tls_port), Handler)
        s.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        s.tls.load_cert_chain(ARGS.tls[0], ARGS.tls[1])
        servers.append(("https", s))
    lines = "".join("%s %d\n" % (name, s.server_address[1]) for name, s in servers)
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write(lines)
        os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    sys.stdout.write(lines)
    sys.stdout.flush()
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    for _, s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    try:
        servers[0][1].serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
