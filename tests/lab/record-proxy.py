#!/usr/bin/env python3
"""record-proxy.py LISTEN ENGINE LOG [API]: forward every request to the
lab engine's socket and append the body of each create request (POST
.../create: networks, secrets, configs, services) to LOG, one JSON line
{"path", "body"}.  With API (say 1.48), the proxy answers as an engine of
that API version (the Api-Version header, /version's ApiVersion) and
sends the requests on under the engine's own version: clients then build
the requests they would send to a newer engine, which the lab's 20.10
engine (API 1.41) cannot be - what they send is what is compared.
"""
import json
import re
import sys

from engineproxy import Handler, serve

LOG = sys.argv[3]
API = sys.argv[4] if len(sys.argv) > 4 else None
ENGINE_API = "1.41"


class Recorder(Handler):
    def handle_one(self):
        body = self.body()
        if API:
            self.path = re.sub(r"^/v[0-9.]+/", "/v%s/" % ENGINE_API, self.path)
        if self.command == "POST" and body and self.path.split("?")[0].endswith("/create"):
            with open(LOG, "a") as f:
                f.write(json.dumps({"path": re.sub(r"^/v[0-9.]+", "", self.path), "body": json.loads(body)}) + "\n")
        status, headers, data = self.forward(body)
        if API:
            headers = [(k, API if k.lower() == "api-version" else v) for k, v in headers]
            if self.path.split("?")[0].endswith("/version") and status == 200:
                v = json.loads(data)
                v["ApiVersion"] = API
                data = json.dumps(v).encode()
        self.answer(status, headers, data)


Recorder.ENGINE = sys.argv[2]
serve(sys.argv[1], Recorder)
