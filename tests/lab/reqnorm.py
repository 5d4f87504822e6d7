#!/usr/bin/env python3
"""reqnorm.py LOG STACK: the create requests record-proxy.py logged for
STACK, keyed "PATH NAME", normalised for a comparison: the stack's name
as STACK, shoal's rotated secret and config names as their logical names
(io.shoal.object STACK_key without io.shoal.content), object IDs as
<id>, shoal's io.shoal.* labels and its CheckDuplicate left out, and
fields sent empty (false, null, "") dropped: docker sends its zero
values, shoal leaves them out, the engine reads both the same.
"""
import json
import re
import sys

log, stack = sys.argv[1], sys.argv[2]
reqs = [json.loads(line) for line in open(log)]
reqs = [r for r in reqs if (r["body"].get("Name") or "").startswith(stack + "_") or
        (r["body"].get("Labels") or {}).get("com.docker.stack.namespace") == stack]
rot = {}
for r in reqs:
    labels = r["body"].get("Labels") or {}
    logical = labels.get("io.shoal.object", "")
    if logical.startswith(stack + "_") and "io.shoal.content" not in labels:
        rot[r["body"]["Name"]] = logical


def clean(v, key=""):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "Labels" and isinstance(x, dict):
                x = {a: b for a, b in x.items() if not a.startswith("io.shoal.")}
            if k in ("CheckDuplicate",) or x is None or x is False or x == "":
                continue
            out[k] = clean(x, k)
        return out
    if isinstance(v, list):
        return [clean(x, key) for x in v]
    if isinstance(v, str):
        if key in ("ConfigID", "SecretID") or (key == "Config" and re.fullmatch(r"[0-9a-z]{25}", v)):
            return "<id>"
        return rot.get(v, v)
    return v


out = {}
for r in reqs:
    b = clean(r["body"])
    out["%s %s" % (r["path"].split("?")[0], rot.get(r["body"]["Name"], r["body"]["Name"]))] = b
text = json.dumps(out, indent=1, sort_keys=True)
text = re.sub(r'"%s_' % re.escape(stack), '"STACK_', text).replace('"%s"' % stack, '"STACK"')
text = text.replace(" %s_" % stack, " STACK_")
sys.stdout.write(text)
