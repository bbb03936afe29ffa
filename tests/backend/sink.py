#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Stands where traffic that is not ours should land: each TCP listener
reads an HTTP request and answers the SHA-256 of its body; each UDP socket
answers the SHA-256 of the datagram. A changed byte changes the answer."""

import argparse
import hashlib
import socket
import socketserver
import sys
import threading


class TCPHandler(socketserver.StreamRequestHandler):
    def handle(self):
        length = 0
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        digest = hashlib.sha256(self.rfile.read(length)).hexdigest().encode()
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n%s" % (len(digest), digest))


class UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(hashlib.sha256(data).hexdigest().encode(), self.client_address)


class TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def server(cls, handler, addr):
    """A server of the address's family (socketserver assumes IPv4)."""
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    srv = type("S", (cls,), {"address_family": family})
    return srv(addr, handler)


def endpoint(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tcp", action="append", default=[], type=endpoint)
    ap.add_argument("--udp", action="append", default=[], type=endpoint)
    ap.add_argument("--out", help="unused; kept for symmetry with logs")
    args = ap.parse_args()
    servers = [server(TCPServer, TCPHandler, a) for a in args.tcp]
    servers += [server(socketserver.UDPServer, UDPHandler, a) for a in args.udp]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
