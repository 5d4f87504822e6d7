#!/usr/bin/env python3
"""Slow clients against an agent, bounded in time and count.

HEADERS connections from 127.0.0.1 each send a request line, then one
header line every INTERVAL seconds and never finish; BODIES connections
send a whole /webhook header announcing a large body, then one byte of it
every INTERVAL seconds.  Meanwhile, every 0.5 s, a prober times:
  - `shoal health --socket SOCK` (the image's HEALTHCHECK),
  - GET /healthz over the health socket itself,
  - GET /healthz over TCP from another address (127.0.0.2).
Runs DURATION seconds, then prints one line of key=value results:
  kept, refused      slow connections the agent took / closed at once
  closed_max         latest close of a kept slow connection, seconds after it opened
  open_at_end        slow connections the agent never closed
  health_fails, health_worst, sock_fails, sock_worst, other_fails, other_worst
Usage: slowloris.py SHOAL SOCK PORT HEADERS BODIES INTERVAL DURATION
"""
import selectors
import socket
import subprocess
import sys
import threading
import time

shoal, sock_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
n_headers, n_bodies = int(sys.argv[4]), int(sys.argv[5])
interval, duration = float(sys.argv[6]), float(sys.argv[7])
start = time.monotonic()
stop = threading.Event()
probes = {"health": [], "sock": [], "other": []}  # (ok, seconds)


def timed(kind, fn):
    t0 = time.monotonic()
    try:
        ok = fn()
    except Exception:
        ok = False
    probes[kind].append((ok, time.monotonic() - t0))


def health_cmd():
    r = subprocess.run([shoal, "health", "--socket", sock_path], capture_output=True, timeout=5)
    return r.returncode == 0


def http_get(s):
    s.settimeout(3)
    s.sendall(b"GET /healthz HTTP/1.0\r\nHost: agent\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n", 1)[0] + b" "


def sock_get():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(sock_path)
    return http_get(s)


def other_get():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    return http_get(s)


def prober():
    while not stop.is_set():
        timed("health", health_cmd)
        timed("sock", sock_get)
        timed("other", other_get)
        stop.wait(0.5)


class Slow:
    def __init__(self, body):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(3)
        self.opened = time.monotonic()
        self.closed = None
        self.refused = False
        self.sent = 0
        self.body = body
        try:
            self.s.connect(("127.0.0.1", port))
            if body:
                self.s.sendall(b"POST /webhook HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
                               b"X-Hub-Signature-256: sha256=00\r\nContent-Length: 900000\r\n\r\n")
            else:
                self.s.sendall(b"GET /status HTTP/1.1\r\nHost: agent\r\n")
            self.s.setblocking(False)
        except OSError:
            self.refused = True
            self.closed = time.monotonic()
        self.next = time.monotonic() + interval

    def trickle(self):
        try:
            self.s.send(b"{" if self.body else b"X-Slow-%d: x\r\n" % self.sent)
            self.sent += 1
        except OSError:
            self.gone()
        self.next = time.monotonic() + interval

    def gone(self):
        if self.closed is None:
            self.closed = time.monotonic()
            # closed at once: the agent never took it (a per-address limit)
            self.refused = self.closed - self.opened < 1.0 and self.sent == 0
        try:
            self.s.close()
        except OSError:
            pass


threading.Thread(target=prober, daemon=True).start()
sel = selectors.DefaultSelector()
slow = [Slow(False) for _ in range(n_headers)] + [Slow(True) for _ in range(n_bodies)]
for c in slow:
    if c.closed is None:
        sel.register(c.s, selectors.EVENT_READ, c)
while time.monotonic() - start < duration:
    for key, _ in sel.select(timeout=0.1):
        c = key.data
        try:
            data = c.s.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:  # the agent closed it (an answer to a cut request counts too)
            sel.unregister(c.s)
            c.gone()
    now = time.monotonic()
    for c in slow:
        if c.closed is None and now >= c.next:
            c.trickle()
            if c.closed is not None:
                sel.unregister(c.s)
stop.set()
time.sleep(0.2)
refused = sum(1 for c in slow if c.refused)
kept = [c for c in slow if not c.refused]
closed_max = max((c.closed - c.opened for c in kept if c.closed is not None), default=0.0)
open_at_end = sum(1 for c in kept if c.closed is None)


def summary(kind):
    p = probes[kind]
    return "%s_n=%d %s_fails=%d %s_worst=%.3f" % (kind, len(p), kind, sum(1 for ok, _ in p if not ok), kind,
                                                 max((t for _, t in p), default=0.0))


print("kept=%d refused=%d closed_max=%.1f open_at_end=%d %s %s %s" % (
    len(kept), refused, closed_max, open_at_end, summary("health"), summary("sock"), summary("other")))
