#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The tree's layering rules, checked on the source and the built objects.

1. Nothing outside user/control/pinned_state.c calls bpf_map_*: that
   module owns the maps (typed calls for everything else).
2. Dependencies point one way: no two files of user/ include each other,
   directly or through others (a header and its .c are one module).
3. No two objects of user/ call each other, directly or through others
   (read from `nm`: who defines what, who needs it).

Prints each violation and exits 1 if there is any.
Usage: check-tree.py OUT OBJECT... (the objects of user/, built in OUT).
"""
import collections
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAP_OWNER = "user/control/pinned_state.c"


def sources():
    for dirpath, _, files in os.walk(os.path.join(ROOT, "user")):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(dirpath, f), ROOT)


def module(path):
    return os.path.splitext(path)[0]


def cycles(graph):
    """Each strongly connected component of more than one node."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    out, objs = sys.argv[1], sys.argv[2:]
    bad = []
    includes = collections.defaultdict(set)
    for path in sources():
        text = open(os.path.join(ROOT, path)).read()
        if path != MAP_OWNER:
            for n, line in enumerate(text.splitlines(), 1):
                if re.search(r"\bbpf_map_[a-z_]+\s*\(", line):
                    bad.append(f"{path}:{n}: calls bpf_map_* outside "
                               f"{MAP_OWNER}: use its typed calls")
        for inc in re.findall(r'^#include "([^"]+)"', text, re.M):
            if os.path.exists(os.path.join(ROOT, "user", inc)):
                if module("user/" + inc) != module(path):
                    includes[module(path)].add(module("user/" + inc))
    for comp in cycles(includes):
        bad.append("include cycle among: " + ", ".join(comp))

    defined, needed = {}, collections.defaultdict(set)
    if not objs:
        bad.append("no objects given")
    for obj in objs:
        mod = os.path.relpath(obj[:-2], out)
        nm = subprocess.run(["nm", obj], capture_output=True, text=True,
                            check=True).stdout
        for line in nm.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBR":
                defined[parts[2]] = mod
            elif len(parts) == 2 and parts[0] == "U":
                needed[mod].add(parts[1])
    calls = {m: {defined[s] for s in syms if s in defined and defined[s] != m}
             for m, syms in needed.items()}
    for comp in cycles(calls):
        bad.append("objects that call each other: " + ", ".join(comp))

    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
