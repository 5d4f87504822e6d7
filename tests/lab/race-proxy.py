#!/usr/bin/env python3
"""A proxy in front of the real lab engine that provokes real version conflicts.

Listens on a unix socket and forwards every request to the engine. The first
N service updates are preceded by a concurrent update of the same service
(made here, through the engine), so the forwarded request carries a stale
version and the engine itself answers "update out of sequence". Logs one
line per request to the file given, for the test to count.
Usage: race-proxy.py LISTEN_SOCK ENGINE_SOCK LOG N
"""
import json
import re
import sys

from engineproxy import Handler, serve, upstream

LISTEN, ENGINE, LOG, RACES = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
state = {"races": RACES}


class Race(Handler):
    ENGINE = ENGINE

    def handle_one(self):
        body = self.body()
        m = re.match(r"^(/v[0-9.]+)?/services/([^/]+)/update", self.path)
        if self.command == "POST" and m and state["races"] > 0:
            state["races"] -= 1
            prefix = m.group(1) or ""
            _, _, cur = upstream(ENGINE, "GET", f"{prefix}/services/{m.group(2)}")
            svc = json.loads(cur)
            spec = svc["Spec"]
            spec.setdefault("Labels", {})["race"] = str(state["races"])
            upstream(ENGINE, "POST", f"{prefix}/services/{m.group(2)}/update?version={svc['Version']['Index']}",
                     json.dumps(spec).encode(), {"Content-Type": "application/json"})
            with open(LOG, "a") as f:
                f.write("RACE service update\n")
        status, headers, data = self.forward(body)
        with open(LOG, "a") as f:
            f.write(f"{self.command} {self.path.split('?')[0]} {status}\n")
        self.answer(status, headers, data)


serve(LISTEN, Race)
