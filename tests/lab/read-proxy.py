#!/usr/bin/env python3
"""A proxy in front of the real lab engine that records what a client reads.

Listens on a unix socket, forwards every request unchanged to the engine
and logs one line per request to LOG: method, path without the API
version, the filters of a list request decoded, the status, and for an
answer that is a JSON array the names of its objects (services, secrets,
configs: Spec.Name; networks: Name).  Tests count from it which objects a
command read.
Usage: read-proxy.py LISTEN_SOCK ENGINE_SOCK LOG
"""
import json
import re
import sys
from urllib.parse import parse_qs, urlsplit

from engineproxy import Handler, serve

LISTEN, ENGINE, LOG = sys.argv[1], sys.argv[2], sys.argv[3]


def names(data):
    try:
        v = json.loads(data)
    except ValueError:
        return None
    if not isinstance(v, list):
        return None
    out = []
    for x in v:
        if isinstance(x, dict):
            out.append((x.get("Spec") or {}).get("Name") or x.get("Name") or "?")
    return out


class Record(Handler):
    ENGINE = ENGINE

    def handle_one(self):
        body = self.body()
        status, headers, data = self.forward(body)
        u = urlsplit(self.path)
        path = re.sub(r"^/v[0-9.]+", "", u.path)
        f = parse_qs(u.query).get("filters", [""])[0]
        got = names(data) if self.command == "GET" else None
        line = {"method": self.command, "path": path, "filters": json.loads(f) if f else None,
                "status": status, "names": got}
        with open(LOG, "a") as fh:
            fh.write(json.dumps(line, sort_keys=True) + "\n")
        self.answer(status, headers, data)


serve(LISTEN, Record)
