#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Parse `wrk --latency` output (stdin) into one JSON object (stdout).

Extra key=value arguments are copied into the object (design, style, run).
"""
import json
import re
import sys

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def main():
    out = {}
    for arg in sys.argv[1:]:
        k, _, v = arg.partition("=")
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    text = sys.stdin.read()
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", text)
    out["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        out["p%s_ms" % pct] = ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", text)
    out["sock_err"] = sum(int(x) for x in m.groups()) if m else 0
    out["sock_err_detail"] = m.group(0) if m else ""
    out["ok"] = bool(out["rps"]) and out["non2xx"] == 0 and out["sock_err"] == 0
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
