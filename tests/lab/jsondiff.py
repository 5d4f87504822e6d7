#!/usr/bin/env python3
"""Print every path where two JSON documents differ; exit 1 if any."""
import json
import sys


def walk(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            walk(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: docker={json.dumps(a)} shoal={json.dumps(b)}")


a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
diffs = []
walk(a, b, "", diffs)
for d in diffs:
    print(d)
sys.exit(1 if diffs else 0)
