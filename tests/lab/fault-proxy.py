#!/usr/bin/env python3
"""A fault-injecting proxy in front of the real lab engine.

Listens on a unix socket and forwards every request to the engine, except
that every EVERY-th write (POST, DELETE) gets a fault, in turn:

  500-before   answer 500 without forwarding (nothing happened)
  500-after    forward, then answer 500 (it happened; the answer lies)
  drop-after   forward, then close the connection without an answer
  stall-after  forward, then hold the answer for STALL seconds and close
               (longer than the client's timeout: it gives up)
  409-before   answer 409 without forwarding (a conflict that is not one)

Reads are never faulted.  EVERY 0: no faults.  DELAY (optional): seconds
each write waits before it is forwarded, to make an apply last.  One line
per request in LOG ("fault KIND METHOD PATH" or "METHOD PATH STATUS"), for
the test to count.
Usage: fault-proxy.py LISTEN_SOCK ENGINE_SOCK LOG EVERY STALL [DELAY]
"""
import socket
import sys
import threading
import time

from engineproxy import Handler, serve

LISTEN, ENGINE, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
EVERY, STALL = int(sys.argv[4]), float(sys.argv[5])
DELAY = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
KINDS = ["500-before", "500-after", "drop-after", "stall-after", "409-before"]
state = {"writes": 0, "faults": 0}
lock = threading.Lock()


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


class Faults(Handler):
    ENGINE = ENGINE

    def handle_one(self):
        body = self.body()
        path = self.path.split("?")[0]
        kind = None
        if self.command in ("POST", "DELETE"):
            with lock:
                state["writes"] += 1
                if EVERY and state["writes"] % EVERY == 0:
                    kind = KINDS[state["faults"] % len(KINDS)]
                    state["faults"] += 1
        if kind:
            log(f"fault {kind} {self.command} {path}")
        if DELAY and self.command in ("POST", "DELETE"):
            time.sleep(DELAY)
        if kind in ("500-before", "409-before"):
            code = 500 if kind == "500-before" else 409
            msg = b'{"message":"injected fault"}\n'
            self.answer(code, [("Content-Type", "application/json")], msg)
            return
        try:
            status, headers, data = self.forward(body)
        except OSError:
            # the engine is away: so is its answer
            self.close_connection = True
            return
        if kind == "500-after":
            self.answer(500, [("Content-Type", "application/json")], b'{"message":"injected fault"}\n')
            return
        if kind == "drop-after":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "stall-after":
            time.sleep(STALL)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        log(f"{self.command} {path} {status}")
        self.answer(status, headers, data)


serve(LISTEN, Faults)
