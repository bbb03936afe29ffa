#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A metadata backend for tests: answers predictable responses and records
every request it receives (one JSON object per line) so tests can check
exactly what the proxy forwarded."""

import argparse
import hashlib
import http.server
import json
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

PATTERN = bytes(i % 251 for i in range(251 * 64))


def pattern(n):
    """n bytes of bytes(i % 251), built from a cached block."""
    reps = n // len(PATTERN) + 1
    return (PATTERN * reps)[:n] if n > len(PATTERN) else PATTERN[:n]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "record-backend"

    def log_message(self, fmt, *args):
        pass  # unix clients have no address; the record file is the log

    def handle(self):
        # Numbers each connection, so tests can tell which requests shared
        # one (the proxy's backend keep-alive).
        with self.server.record_lock:
            self.server.conn_count += 1
            self.conn_id = self.server.conn_count
        self.nreq = 0
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the proxy gave up on this request: not our failure

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def record(self, body, dropped=False):
        entry = {
            "conn": self.conn_id,
            "dropped": dropped,
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        if self.server.record_file:
            with self.server.record_lock, open(self.server.record_file, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def reply(self, status, body, ctype="text/plain", chunked=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif status not in (204, 304) and not 100 <= status < 200:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD" or status in (204, 304):
            return
        if not chunked:
            self.wfile.write(body)
            return
        step = 7919  # odd chunk sizes exercise the proxy's scanner
        for i in range(0, len(body), step):
            part = body[i:i + step]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\nX-Trailer: done\r\n\r\n")

    def cut(self, mode):
        """Half a response, then the connection reset, as when a backend
        dies mid-answer: half of the head, or the head and half of a body
        framed by Content-Length or chunks. Ends the process after, with
        --cut-exit, as a crash would."""
        n = 65536
        w = self.wfile
        if mode == "head":
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: appl")
        elif mode == "body":
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                    % (n, pattern(n // 2)))
        else:
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                    b"\r\n%x\r\n%s\r\n" % (n // 2, pattern(n // 2)))
        # Linger 0: the close is a reset, not a FIN, for TCP backends.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        if self.server.cut_exit:
            os._exit(0)

    def handle_any(self):
        body = self.read_body()
        self.nreq += 1
        if self.server.cut and self.path == self.server.cut[1]:
            self.record(body, dropped=True)
            mode = self.server.cut[0]
            self.server.cut = None  # once
            return self.cut(mode)
        if self.server.drop_reused and self.nreq > 1:
            # As if the backend had closed the idle connection just as
            # this request was sent: no answer, only the close.
            self.record(body, dropped=True)
            self.close_connection = True
            return
        self.record(body)
        parts = self.path.split("?")[0].strip("/").split("/")
        try:
            if parts[0] == "size" and len(parts) == 2:
                return self.reply(200, pattern(int(parts[1])),
                                  "application/octet-stream")
            if parts[0] == "chunked" and len(parts) == 2:
                return self.reply(200, pattern(int(parts[1])),
                                  "application/octet-stream", chunked=True)
            if parts[0] == "status" and len(parts) == 2:
                code = int(parts[1])
                return self.reply(code, b"status %d\n" % code)
            if parts[0] == "slow" and len(parts) == 2:
                time.sleep(float(parts[1]))
                return self.reply(200, b"slow\n")
        except ValueError:
            return self.reply(400, b"bad number\n")
        if parts[0] == "headers":
            data = [[k, v] for k, v in self.headers.items()]
            return self.reply(200, json.dumps(data).encode(), "application/json")
        if self.command == "POST":
            return self.reply(200, body, "application/octet-stream")
        data = {
            "path": self.path,
            "xff": self.headers.get("X-Forwarded-For"),
            "network": self.headers.get("X-Neutron-Network-ID"),
            "router": self.headers.get("X-Neutron-Router-ID"),
        }
        return self.reply(200, json.dumps(data).encode(), "application/json")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = handle_any


class TCPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 128  # like the agent's metadata_backlog, not 5

    def get_request(self):
        sock, _ = super().get_request()
        return sock, ("unix", 0)  # handlers expect a (host, port) address


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix", metavar="PATH")
    where.add_argument("--listen", metavar="HOST:PORT")
    ap.add_argument("--record", metavar="FILE")
    ap.add_argument("--drop-reused", action="store_true",
                    help="close a connection, unanswered, on its 2nd request")
    ap.add_argument("--cut", metavar="MODE:PATH",
                    help="answer the first request for PATH with half a "
                    "response (MODE head, body or chunked), then reset")
    ap.add_argument("--cut-exit", action="store_true",
                    help="exit after the --cut response, as a crash would")
    args = ap.parse_args()

    if args.unix:
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        server = UnixServer(args.unix, Handler)
    else:
        host, _, port = args.listen.rpartition(":")
        host = host.strip("[]")
        if ":" in host:
            TCPServer.address_family = socket.AF_INET6
        server = TCPServer((host, int(port)), Handler)
    server.record_file = args.record
    server.record_lock = threading.Lock()
    server.conn_count = 0
    server.drop_reused = args.drop_reused
    server.cut = args.cut.split(":", 1) if args.cut else None
    server.cut_exit = args.cut_exit

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    print("ready", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if args.unix and os.path.exists(args.unix):
            os.unlink(args.unix)


if __name__ == "__main__":
    sys.exit(main())
