"""What the lab's engine proxies share: a unix-socket HTTP/1.1 server that
forwards requests to the real engine's socket (race-proxy.py, fault-proxy.py).

A proxy subclasses Handler, sets ENGINE, and implements handle_one() with
self.body() (the request body), self.forward() (the engine's status,
headers and body) and self.answer(...); serve(LISTEN, cls) runs it.
"""
import http.client
import os
import socket
import socketserver
from http.server import BaseHTTPRequestHandler


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def upstream(engine, method, path, body=None, headers=None):
    c = UnixConn(engine)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheaders(), data


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ENGINE = None

    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def forward(self, body):
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        return upstream(self.ENGINE, self.command, self.path, body, hdrs)

    def answer(self, status, headers, data):
        try:
            self.send_response(status)
            for k, v in headers:
                if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # the client gave up on this request (its timeout)
            self.close_connection = True

    def do_GET(self):
        self.handle_one()

    do_POST = do_DELETE = do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        req, _ = super().get_request()
        return req, ("local", 0)


def serve(listen, handler):
    if os.path.exists(listen):
        os.unlink(listen)
    Server(listen, handler).serve_forever()
