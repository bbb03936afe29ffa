#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A slow metadata backend for the boot-storm scenario of tools/bench.sh.

usage: storm_backend.py SOCKET [DELAY_MS]

Listens on a unix socket (what haproxy and `mdredir daemon --backend
neutron:unix:SOCKET` talk to) and answers every request DELAY_MS (50)
after it has arrived, all of them concurrently: one asyncio event loop,
a timer per request, no thread or process per request, so 200 guests
waiting at once are not serialised. The answer is a 200 with a
Content-Length (so mdredir's cache may keep it) whose JSON body echoes
what identifies the guest, for the crawler to check:

  {"path": ..., "forwarded_for": <X-Forwarded-For>,
   "network_id": <X-Neutron-Network-ID>, "seq": <request number>, "pad": ...}

Requests are counted per X-Forwarded-For. Two paths are for the harness
and are neither delayed nor counted:

  /__stats  {"total": N, "per_guest": {ip: n}, "max_inflight": N}
  /__reset  zeroes the counters
"""

import asyncio
import json
import os
import sys

DELAY = (int(sys.argv[2]) if len(sys.argv) > 2 else 50) / 1000.0
PAD = "x" * 200  # a body of about 400 bytes, like a small meta_data.json


class State:
    total = 0
    per_guest = {}
    inflight = 0
    max_inflight = 0


def header(head, name):
    name = name.lower() + b":"
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(name):
            return line[len(name):].strip().decode("latin-1")
    return None


def response(status, body):
    body = body.encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode() + body


class Conn(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""
        self.done = False

    def data_received(self, data):
        if self.done:
            return
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > 65536:
                self.t.write(response("400 Bad Request", "{}"))
                self.t.close()
            return
        self.done = True
        head = self.buf[:end]
        parts = head.split(b"\r\n", 1)[0].split()
        path = parts[1].decode("latin-1") if len(parts) > 1 else "?"
        if path == "/__stats":
            self.reply(response("200 OK", json.dumps({
                "total": State.total, "per_guest": State.per_guest,
                "max_inflight": State.max_inflight})))
            return
        if path == "/__reset":
            State.total = State.inflight = State.max_inflight = 0
            State.per_guest = {}
            self.reply(response("200 OK", "{}"))
            return
        xff = header(head, b"X-Forwarded-For") or ""
        State.total += 1
        State.per_guest[xff] = State.per_guest.get(xff, 0) + 1
        State.inflight += 1
        State.max_inflight = max(State.max_inflight, State.inflight)
        body = json.dumps({
            "path": path, "forwarded_for": xff,
            "network_id": header(head, b"X-Neutron-Network-ID") or "",
            "seq": State.total, "pad": PAD})
        asyncio.get_running_loop().call_later(DELAY, self.answer, body)

    def answer(self, body):
        State.inflight -= 1
        self.reply(response("200 OK", body))

    def reply(self, data):
        if not self.t.is_closing():
            self.t.write(data)
            self.t.close()


async def main(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server = await asyncio.get_running_loop().create_unix_server(
        Conn, path, backlog=4096)
    os.chmod(path, 0o666)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1]))
    except KeyboardInterrupt:
        pass
