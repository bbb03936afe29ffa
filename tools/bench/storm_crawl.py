#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The guests of the boot-storm scenario of tools/bench.sh, in one process.

usage: storm_crawl.py GUESTS_FILE NETWORK_ID OUT.json [PASSES]

GUESTS_FILE has one guest a line: "<netns> <ip>". Every guest crawls the
PATHS below the way cloud-init does, one request after the other with a
new TCP connection each (`Connection: close`), PASSES (2) times over.

One process stands for all guests, so 200 Python interpreters are not
started: before the start, it enters each guest's network namespace
(setns) and creates there all the sockets that guest will use (a socket
stays in the namespace it was made in), then comes back. All guests then
start together (the barrier is the moment the event loop starts them) and
each guest's crawl time runs from the barrier to its last response.

Every response must be a 200 whose JSON body (tools/bench/storm_backend.py)
names the path asked for, the guest's own address as X-Forwarded-For and
the network id: anything else is an error, listed in the output, so an
answer cached for another guest cannot go unnoticed. A second-pass answer
byte for byte equal to the first pass's (the backend numbers its answers)
was served from a cache.
"""

import asyncio
import ctypes
import json
import os
import resource
import socket
import sys
import time

PATHS = [
    "/openstack",
    "/openstack/latest/meta_data.json",
    "/openstack/latest/vendor_data.json",
    "/openstack/latest/vendor_data2.json",
    "/openstack/latest/network_data.json",
    "/openstack/latest/user_data",
    "/openstack/2018-08-27/meta_data.json",
    "/openstack/2018-08-27/network_data.json",
    "/latest/meta-data/",
    "/latest/meta-data/instance-id",
    "/latest/meta-data/hostname",
    "/latest/meta-data/local-ipv4",
    "/latest/meta-data/public-keys/",
    "/latest/meta-data/public-keys/0/openssh-key",
    "/latest/meta-data/placement/availability-zone",
    "/latest/user-data",
    "/latest/dynamic/instance-identity/document",
    "/2009-04-04/meta-data/",
]
METADATA = ("169.254.169.254", 80)
TIMEOUT = 40.0  # above the proxies' 32 s server timeout
CLONE_NEWNET = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def make_sockets(guests, n):
    """n non-blocking sockets in each guest's namespace."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    socks = []
    try:
        for ns, _ in guests:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            setns(fd)
            os.close(fd)
            mine = []
            for _ in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                mine.append(s)
            socks.append(mine)
    finally:
        setns(home)
        os.close(home)
    return socks


async def fetch(loop, sock, path):
    req = (f"GET {path} HTTP/1.1\r\nHost: 169.254.169.254\r\n"
           "User-Agent: Cloud-Init/23.1\r\nAccept: */*\r\n"
           "Connection: close\r\n\r\n").encode()
    try:
        await loop.sock_connect(sock, METADATA)
        await loop.sock_sendall(sock, req)
        data = bytearray()
        while True:
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    return bytes(data)


def check(data, path, ip, net_id):
    """(error or None, body)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return f"no complete response ({len(data)} bytes)", body
    status = head.split(b"\r\n", 1)[0].decode("latin-1")
    if status.split()[1:2] != ["200"]:
        return f"status {status!r}", body
    try:
        j = json.loads(body)
    except ValueError:
        return f"body is not the backend's JSON: {body[:80]!r}", body
    if j.get("forwarded_for") != ip:
        return f"answer for X-Forwarded-For {j.get('forwarded_for')!r}", body
    if j.get("network_id") != net_id:
        return f"answer for network {j.get('network_id')!r}", body
    if j.get("path") != path:
        return f"answer for path {j.get('path')!r}", body
    return None, body


async def guest(loop, start, t_start, ns, ip, socks, net_id, passes):
    r = {"ns": ns, "ip": ip, "ok": 0, "errors": [], "same_as_pass1": 0,
         "pass_s": []}
    first = {}
    it = iter(socks)
    await start.wait()
    t0 = t_start[0]  # the barrier, the same for every guest
    for p in range(passes):
        for path in PATHS:
            try:
                data = await asyncio.wait_for(fetch(loop, next(it), path),
                                              TIMEOUT)
                err, body = check(data, path, ip, net_id)
            except (OSError, asyncio.TimeoutError) as e:
                err, body = f"{type(e).__name__}: {e}", b""
            if err:
                r["errors"].append(f"pass {p + 1} {path}: {err}")
            else:
                r["ok"] += 1
                if p == 0:
                    first[path] = body
                elif first.get(path) == body:
                    r["same_as_pass1"] += 1
        r["pass_s"].append(loop.time() - t0)
    r["crawl_s"] = loop.time() - t0
    return r


async def run(guests, net_id, passes):
    socks = make_sockets(guests, passes * len(PATHS))
    loop = asyncio.get_running_loop()
    start = asyncio.Event()
    t_start = [0.0]
    tasks = [asyncio.create_task(guest(loop, start, t_start, ns, ip, s,
                                       net_id, passes))
             for (ns, ip), s in zip(guests, socks)]
    await asyncio.sleep(0.2)  # every task is waiting at the barrier
    cpu0 = time.process_time()
    t_start[0] = loop.time()
    start.set()
    res = await asyncio.gather(*tasks)
    return loop.time() - t_start[0], time.process_time() - cpu0, res


def main():
    gfile, net_id, out = sys.argv[1:4]
    passes = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    guests = [tuple(line.split()[:2]) for line in open(gfile) if line.strip()]
    need = len(guests) * passes * len(PATHS) + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))
    wall, cpu, res = asyncio.run(run(guests, net_id, passes))
    errors = sum(len(r["errors"]) for r in res)
    with open(out, "w") as f:
        json.dump({"wall_s": wall, "crawler_cpu_s": cpu, "passes": passes, "paths": PATHS,
                   "requests": len(guests) * passes * len(PATHS),
                   "errors": errors, "guests": res}, f)
    crawl = sorted(r["crawl_s"] for r in res)
    print(f"{len(res)} guests, wall {wall:.2f} s, crawl p50 "
          f"{crawl[len(crawl) // 2]:.2f} s max {crawl[-1]:.2f} s, "
          f"errors {errors}, crawler CPU {cpu:.2f} s", file=sys.stderr)
    for r in res:
        for e in r["errors"][:3]:
            print(f"  {r['ip']}: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
