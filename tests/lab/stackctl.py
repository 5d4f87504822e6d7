#!/usr/bin/env python3
"""stackctl.py SOCKET capture STACK | rm STACK... : the lab engine's API
straight through its unix socket (one process instead of a dozen docker
commands, which the corpus scenario runs hundreds of times).

capture: the stack's services, networks, secrets and configs as
specnorm.py normalises them (from what docker inspect would print).
rm: what `docker stack rm` removes (services, then networks, secrets and
configs carrying the stack's namespace label), waiting (bounded) until
the engine has let go of every one; exit 1 if something stayed.
"""
import http.client
import json
import socket
import sys
import time
import urllib.parse

from specnorm import normalise


class Conn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.sock_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.sock_path)


SOCK = sys.argv[1]


def call(method, path):
    c = Conn(SOCK)
    c.request(method, "/v1.41" + path)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data and r.getheader("Content-Type", "").startswith("application/json") else data)


def labelled(kind, stack):
    f = urllib.parse.quote(json.dumps({"label": ["com.docker.stack.namespace=" + stack]}))
    st, body = call("GET", "/%s?filters=%s" % (kind, f))
    return body if st == 200 else []


def capture(stack):
    out = {}
    for kind in ("services", "networks", "secrets", "configs"):
        st, body = call("GET", "/" + kind if kind != "services" else "/services?filters=" + urllib.parse.quote(
            json.dumps({"label": ["com.docker.stack.namespace=" + stack]})))
        out[kind] = body if st == 200 else []
    sys.stdout.write(normalise(out, stack))


def rm(stacks):
    deadline = time.time() + 60
    left = []
    while True:
        left = []
        for stack in stacks:
            for kind, idk in (("services", "ID"), ("networks", "Id"), ("secrets", "ID"), ("configs", "ID")):
                for o in labelled(kind, stack):
                    st, _ = call("DELETE", "/%s/%s" % (kind, o[idk]))
                    if st not in (200, 204, 404):
                        left.append("%s %s" % (kind[:-1], o.get("Name") or o["Spec"]["Name"]))
        if not left or time.time() > deadline:
            break
        time.sleep(0.1)
    if left:
        print("not removed: " + ", ".join(left))
        sys.exit(1)


if sys.argv[2] == "capture":
    capture(sys.argv[3])
else:
    rm(sys.argv[3:])
