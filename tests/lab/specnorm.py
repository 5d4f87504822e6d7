#!/usr/bin/env python3
"""Normalise `docker service inspect` output for a field-by-field comparison.

Reads {"services": [...], "networks": [...]} on stdin, writes a canonical
JSON document: service specs keyed by name, with IDs and the names shoal
derives from content (rotated secrets/configs) reduced to what both tools
must agree on, and shoal's own io.shoal.* labels removed.
"""
import json
import re
import sys

doc = json.load(sys.stdin)
stack = sys.argv[1] if len(sys.argv) > 1 else None


def unstack(name):
    """The stack's own prefix as STACK_ (before sorting by name)."""
    return "STACK_" + name[len(stack) + 1:] if stack and name.startswith(stack + "_") else name


nets = {n["Id"]: n["Name"] for n in doc["networks"]}
rot = re.compile(r"_[0-9a-f]{10}$")
out = {}
for s in doc["services"]:
    spec = s["Spec"]
    spec["Labels"] = {k: v for k, v in spec.get("Labels", {}).items() if not k.startswith("io.shoal.")}
    tt = spec.get("TaskTemplate", {})
    for n in tt.get("Networks", []):
        n["Target"] = nets.get(n["Target"], n["Target"])
    cs = tt.get("ContainerSpec", {})
    # a credential spec held in a config names it by ID: by name here
    cred = (cs.get("Privileges") or {}).get("CredentialSpec") or {}
    for r in cs.get("Configs", []):
        if cred.get("Config") and r.get("ConfigID") == cred["Config"]:
            cred["Config"] = unstack(rot.sub("", r["ConfigName"]))
    for kind, idk, namek in (("Secrets", "SecretID", "SecretName"), ("Configs", "ConfigID", "ConfigName")):
        for r in cs.get(kind, []):
            r.pop(idk, None)
            r[namek] = unstack(rot.sub("", r[namek]))
        # docker orders references to the same object through a Go map
        # (random): compare them as a set ordered by name, then target
        if kind in cs:
            cs[kind].sort(key=lambda r: (r[namek], r.get("File", {}).get("Name", "")))
    out[spec["Name"]] = spec
# the two tools deploy under different stack names (a removed swarm network
# lingers for a while): write the stack name as STACK
text = json.dumps(out, indent=1, sort_keys=True)
if len(sys.argv) > 1:
    text = re.sub(r'"%s_' % re.escape(sys.argv[1]), '"STACK_', text)
    text = text.replace('"%s"' % sys.argv[1], '"STACK"')
sys.stdout.write(text)
