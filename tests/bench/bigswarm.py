#!/usr/bin/env python3
"""Fill a lab engine with other teams' stacks, fast: N services (replicas 0)
in stacks of 10 (com.docker.stack.namespace team0000, team0001, ...), every
tenth publishing a port from 20000 up, as docker stack deploy labels them;
created through the Engine API directly, 16 requests in flight.
Usage: bigswarm.py ENGINE_SOCK IMAGE N
"""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, __file__.rsplit("/", 3)[0] + "/tests/lab")
from engineproxy import upstream  # noqa: E402

ENGINE, IMAGE, N = sys.argv[1], sys.argv[2], int(sys.argv[3])


def create(i):
    stack = "team%04d" % (i // 10)
    name = "%s_svc%d" % (stack, i % 10)
    spec = {
        "Name": name,
        "Labels": {"com.docker.stack.namespace": stack, "com.docker.stack.image": IMAGE},
        "TaskTemplate": {
            "ContainerSpec": {"Image": IMAGE, "Labels": {"com.docker.stack.namespace": stack},
                              "Env": ["INDEX=%d" % i]},
        },
        "Mode": {"Replicated": {"Replicas": 0}},
    }
    if i % 10 == 0:
        spec["EndpointSpec"] = {"Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 45000 + i // 10}]}
    for _ in range(5):
        status, _, data = upstream(ENGINE, "POST", "/v1.41/services/create", json.dumps(spec).encode(),
                                   {"Content-Type": "application/json"})
        if status == 201 or status == 409:
            return
    raise SystemExit("create %s: %s %s" % (name, status, data[:200]))


with ThreadPoolExecutor(16) as ex:
    list(ex.map(create, range(N)))
