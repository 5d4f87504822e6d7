#!/usr/bin/env python3
"""A proxy in front of the real lab engine that provokes real version conflicts.

Listens on a unix socket and forwards every request to the engine. The first
N service updates are preceded by a concurrent update of the same service
(made here, through the engine), so the forwarded request carries a stale
version and the engine itself answers "update out of sequence". Logs one
line per request to the file given, for the test to count.
Usage: race-proxy.py LISTEN_SOCK ENGINE_SOCK LOG N
"""
import http.client
import json
import os
import re
import socket
import socketserver
import sys
from http.server import BaseHTTPRequestHandler

LISTEN, ENGINE, LOG, RACES = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
state = {"races": RACES}


class UnixConn(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("localhost", timeout=60)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(ENGINE)


def upstream(method, path, body=None, headers=None):
    c = UnixConn()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheaders(), data


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        m = re.match(r"^(/v[0-9.]+)?/services/([^/]+)/update", self.path)
        if self.command == "POST" and m and state["races"] > 0:
            state["races"] -= 1
            prefix = m.group(1) or ""
            _, _, cur = upstream("GET", f"{prefix}/services/{m.group(2)}")
            svc = json.loads(cur)
            spec = svc["Spec"]
            spec.setdefault("Labels", {})["race"] = str(state["races"])
            upstream("POST", f"{prefix}/services/{m.group(2)}/update?version={svc['Version']['Index']}",
                     json.dumps(spec).encode(), {"Content-Type": "application/json"})
            with open(LOG, "a") as f:
                f.write("RACE service update\n")
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        status, headers, data = upstream(self.command, self.path, body, hdrs)
        with open(LOG, "a") as f:
            f.write(f"{self.command} {self.path.split('?')[0]} {status}\n")
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_HEAD = handle_one


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        req, _ = super().get_request()
        return req, ("local", 0)


if os.path.exists(LISTEN):
    os.unlink(LISTEN)
Server(LISTEN, Handler).serve_forever()
