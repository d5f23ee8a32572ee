#!/usr/bin/env python3
"""Local HTTP responders for tests/bench.sh, on 127.0.0.1 only.

usage: httpd.py PORTFILE [SLOW_SECONDS]

  GET /check?user=U&service=S  -> 200 "allow" at once: the endpoint a
                                  do-it-yourself pam_exec script asks
  GET /ticket/<id>             -> 200 {"status": "pending"} after SLOW_SECONDS:
                                  a ticket system whose lookups hang
  GET /stats                   -> {"inflight": N, "max_inflight": N, "total": N}

The chosen port is written to PORTFILE once the socket listens.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATS = {"inflight": 0, "max_inflight": 0, "total": 0}
SLOW = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path.startswith("/check"):
            self.reply("allow")
        elif self.path.startswith("/ticket/"):
            with LOCK:
                STATS["inflight"] += 1
                STATS["total"] += 1
                STATS["max_inflight"] = max(STATS["max_inflight"], STATS["inflight"])
            try:
                time.sleep(SLOW)
                self.reply(json.dumps({"status": "pending"}), "application/json")
            except (BrokenPipeError, ConnectionResetError):
                pass  # jitd gave up first: that is its timeout working
            finally:
                with LOCK:
                    STATS["inflight"] -= 1
        elif self.path.startswith("/stats"):
            with LOCK:
                self.reply(json.dumps(STATS), "application/json")
        else:
            self.send_error(404)

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    # Renamed into place: a reader never sees a half-written port.
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
