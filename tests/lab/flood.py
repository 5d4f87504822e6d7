#!/usr/bin/env python3
"""Webhook flood: N signed (or badly signed) POSTs to an agent, C at a time,
while a prober checks /healthz every 50 ms.  Bounded: stops after N
requests or LIMIT seconds.  Prints: sent, status counts, seconds, the
slowest /healthz answer.
Usage: flood.py PORT SECRET N CONCURRENCY LIMIT_SECONDS [bad]
"""
import hashlib
import hmac
import http.client
import sys
import threading
import time

port, secret, total, conc, limit = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
bad = len(sys.argv) > 6
body = b'{"ref":"refs/heads/main"}'
sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
if bad:
    sig = "sha256=" + "0" * 64
lock = threading.Lock()
state = {"next": 0, "codes": {}, "errors": 0}
start = time.monotonic()
stop = threading.Event()


def worker():
    conn = None
    while True:
        with lock:
            if state["next"] >= total or time.monotonic() - start > limit:
                return
            state["next"] += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/webhook", body, {"X-Hub-Signature-256": sig, "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            with lock:
                state["codes"][r.status] = state["codes"].get(r.status, 0) + 1
        except Exception:
            with lock:
                state["errors"] += 1
            conn = None


def prober(out):
    worst = 0.0
    fails = 0
    while not stop.is_set():
        t = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status != 200:
                fails += 1
            c.close()
        except Exception:
            fails += 1
        worst = max(worst, time.monotonic() - t)
        time.sleep(0.05)
    out.append((worst, fails))


probe = []
pt = threading.Thread(target=prober, args=(probe,))
pt.start()
ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts:
    t.start()
for t in ts:
    t.join()
secs = time.monotonic() - start
stop.set()
pt.join()
codes = " ".join("%s=%d" % kv for kv in sorted(state["codes"].items()))
print("sent %d in %.1f s: %s errors=%d healthz_worst=%.3f healthz_fails=%d" %
      (state["next"], secs, codes, state["errors"], probe[0][0], probe[0][1]))
