#!/usr/bin/env python3
"""Print every path where two JSON documents differ; exit 1 if any.

jsondiff.py A B [--count]: with --count, the last line is
"fields N equal M": N leaf values (scalars, empty lists and maps) found
in either document, M of them equal in both; a value only one side has,
or a list of another length, counts every leaf of it as not equal.
"""
import json
import sys


def leaves(v):
    if isinstance(v, dict) and v:
        return sum(leaves(x) for x in v.values())
    if isinstance(v, list) and v:
        return sum(leaves(x) for x in v)
    return 1


def walk(a, b, path, out, tally):
    if isinstance(a, dict) and isinstance(b, dict) and (a or b):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: docker={json.dumps(a.get(k, '<absent>'))} shoal={json.dumps(b.get(k, '<absent>'))}")
                tally[0] += leaves(a.get(k, b.get(k)))
                continue
            walk(a[k], b[k], f"{path}.{k}", out, tally)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and a:
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", out, tally)
    else:
        n = max(leaves(a), leaves(b))
        tally[0] += n
        if a != b:
            out.append(f"{path}: docker={json.dumps(a)} shoal={json.dumps(b)}")
        else:
            tally[1] += n


args = [x for x in sys.argv[1:] if x != "--count"]
a = json.load(open(args[0]))
b = json.load(open(args[1]))
diffs, tally = [], [0, 0]
walk(a, b, "", diffs, tally)
for d in diffs:
    print(d)
if "--count" in sys.argv:
    print(f"fields {tally[0]} equal {tally[1]}")
sys.exit(1 if diffs else 0)
