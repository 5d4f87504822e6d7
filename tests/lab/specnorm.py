#!/usr/bin/env python3
"""Normalise what a stack deploy stored, for a field-by-field comparison.

Reads {"services": [...], "networks": [...], "secrets": [...],
"configs": [...]} (docker inspect output; secrets and configs optional)
on stdin and writes a canonical JSON document

    {"services": {NAME: ServiceSpec}, "networks": {NAME: network},
     "secrets": {NAME: SecretSpec}, "configs": {NAME: ConfigSpec}}

holding the objects of stack argv[1] (the networks, secrets and configs
that carry its namespace label; every network is used to name the
services' network targets).  What the engine assigns (IDs, times, the
subnets of its default pool, VXLAN IDs) and shoal's own io.shoal.*
labels are left out.  A secret or config shoal rotated (named after its
content: an io.shoal.object label STACK_key, no io.shoal.content label)
is named by its logical name, STACK_key (a name: of the file is no
logical name of that form: it must be docker's exactly, as every other
name).
The stack's name is written as STACK (compare-docker deploys the two
tools' stacks under different names).
"""
import json
import re
import sys

NS = "com.docker.stack.namespace"
POOL = re.compile(r"^10\.201\.")  # the lab engine's default address pool


def normalise(doc, stack):
    """The canonical text (sorted JSON) of doc's objects of stack."""

    def unstack(name):
        """The stack's own prefix as STACK_ (before sorting by name)."""
        return "STACK_" + name[len(stack) + 1:] if stack and name.startswith(stack + "_") else name

    def ours(labels):
        return {k: v for k, v in (labels or {}).items() if not k.startswith("io.shoal.")}

    def of_stack(labels):
        return stack is None or (labels or {}).get(NS) == stack

    # the name each secret/config is compared under
    canon = {}
    files = {}
    for kind in ("secrets", "configs"):
        files[kind] = {}
        for o in doc.get(kind, []):
            spec = o["Spec"]
            labels = spec.get("Labels") or {}
            name = spec["Name"]
            logical = labels.get("io.shoal.object", "")
            if stack and logical.startswith(stack + "_") and "io.shoal.content" not in labels:
                canon[(kind, name)] = unstack(logical)
            else:
                canon[(kind, name)] = unstack(name)
            if not of_stack(labels):
                continue
            spec = dict(spec)
            spec["Labels"] = ours(labels)
            spec["Name"] = canon[(kind, name)]
            files[kind][spec["Name"]] = spec

    nets = {n["Id"]: n["Name"] for n in doc["networks"]}
    networks = {}
    for n in doc["networks"]:
        if stack is None or not of_stack(n.get("Labels")):
            continue
        ipam = dict(n.get("IPAM") or {})
        ipam["Config"] = [
            {k: ("<pool>" if POOL.match(v or "") else v) for k, v in c.items()} for c in (ipam.get("Config") or [])
        ]
        opts = {k: v for k, v in (n.get("Options") or {}).items()
                if k != "com.docker.network.driver.overlay.vxlanid_list"}
        networks[unstack(n["Name"])] = {
            "Name": unstack(n["Name"]), "Driver": n.get("Driver"), "Scope": n.get("Scope"),
            "Internal": n.get("Internal"), "Attachable": n.get("Attachable"), "Ingress": n.get("Ingress"),
            "EnableIPv6": n.get("EnableIPv6"), "IPAM": ipam, "Options": opts, "Labels": ours(n.get("Labels")),
        }

    services = {}
    for s in doc["services"]:
        spec = s["Spec"]
        spec["Labels"] = ours(spec.get("Labels"))
        tt = spec.get("TaskTemplate", {})
        for n in tt.get("Networks", []):
            n["Target"] = nets.get(n["Target"], n["Target"])
        cs = tt.get("ContainerSpec", {})
        # a credential spec held in a config names it by ID: by name here
        cred = (cs.get("Privileges") or {}).get("CredentialSpec") or {}
        for r in cs.get("Configs", []):
            if cred.get("Config") and r.get("ConfigID") == cred["Config"]:
                cred["Config"] = canon.get(("configs", r["ConfigName"]), unstack(r["ConfigName"]))
        for kind, idk, namek in (("Secrets", "SecretID", "SecretName"), ("Configs", "ConfigID", "ConfigName")):
            for r in cs.get(kind, []):
                r.pop(idk, None)
                r[namek] = canon.get((kind.lower(), r[namek]), unstack(r[namek]))
            # docker orders references to the same object through a Go map
            # (random): compare them as a set ordered by name, then target
            if kind in cs:
                cs[kind].sort(key=lambda r: (r[namek], r.get("File", {}).get("Name", "")))
        services[spec["Name"]] = spec

    out = {"services": services, "networks": networks, "secrets": files["secrets"], "configs": files["configs"]}
    text = json.dumps(out, indent=1, sort_keys=True)
    if stack:
        text = re.sub(r'"%s_' % re.escape(stack), '"STACK_', text)
        text = text.replace('"%s"' % stack, '"STACK"')
    return text


if __name__ == "__main__":
    sys.stdout.write(normalise(json.load(sys.stdin), sys.argv[1] if len(sys.argv) > 1 else None))
