#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A fake Nova metadata API for tests, over HTTP or HTTPS.

Checks each request the way Nova's metadata handler does for requests
coming through Neutron: X-Instance-ID, X-Tenant-ID and
X-Instance-ID-Signature must each be there exactly once (else 400), and
the signature must be hex(HMAC-SHA256(shared secret, instance id)),
compared in constant time (else 403). Then serves:

  /openstack/latest/meta_data.json  {"uuid": <instance>, "project_id": <tenant>}
  /openstack/latest/password        GET: the stored password; POST: stores
                                    the body (400 above 255 bytes, 409 when
                                    one is already stored, as Nova does) and,
                                    unlike Nova, echoes it back
  /status/CODE                      that status, a body, and X-Test: kept
  /slow/SECONDS                     200 after sleeping
  /size/N                           N bytes of bytes(i % 251)
  /echo (POST)                      the body back, whatever its size
  /headers                          the received headers as JSON

Headers are read as Nova reads them, from a WSGI environ: case and '-'
or '_' alike (X_Instance_ID is X-Instance-ID), repeated ones joined by
','. The rest of Nova's handler is there too, for tests of what a guest
could make it believe (MetadataRequestHandler.__call__ in
nova/api/metadata/handler.py):

  --proxy-headers       oslo.middleware's HTTPProxyToWSGI with
                        [oslo_middleware] enable_proxy_headers_parsing:
                        Forwarded (for, proto, host) or else
                        X-Forwarded-For, -Proto, -Host become REMOTE_ADDR,
                        the scheme and the host, X-Forwarded-Prefix the
                        SCRIPT_NAME. meta_data.json then also says
                        "application_url", the scheme, host and prefix
                        Nova believed (Nova itself builds no URLs).
  --no-service-metadata-proxy
                        [neutron] service_metadata_proxy = False: the
                        instance is the one at REMOTE_ADDR (--instance),
                        X-Instance-ID is ignored.
  --instance ADDR=UUID/PROJECT
                        the instance at ADDR, for the lookup above.
  --provider PROVIDER:ADDR=UUID/PROJECT
                        a port of a network behind metadata provider
                        PROVIDER: a request with X-Metadata-Provider is
                        answered as _handle_instance_id_request_from_lb
                        does, by provider and the first X-Forwarded-For
                        address, X-Metadata-Provider-Signature checked
                        when there is a secret.

Every request is recorded (--record, one JSON object a line) with its
method, path, headers, body_len, body_sha256, signature_ok (true,
false, or null when there was nothing to check) and, over HTTPS,
tls_resumed (whether the client resumed an earlier TLS session).
"""

import argparse
import hashlib
import hmac
import http.server
import json
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time

import record_backend  # beside this file: what both fakes share
from record_backend import pattern

MAX_PASSWORD = 255  # nova.api.metadata.password.MAX_SIZE


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-nova"

    def log_message(self, fmt, *args):
        pass  # the record file is the log

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the proxy gave up on this request: not our failure

    read_body = record_backend.Handler.read_body

    def values(self, name):
        """Every value of header name, as a WSGI environ keys it."""
        key = name.upper().replace("-", "_")
        return [v for k, v in self.headers.items()
                if k.upper().replace("-", "_") == key]

    def header(self, name):
        """req.headers.get(name) under a WSGI server: joined, or None."""
        vals = self.values(name)
        return ",".join(vals) if vals else None

    def environ(self):
        """REMOTE_ADDR, scheme, host and SCRIPT_NAME, after
        HTTPProxyToWSGI.process_request when --proxy-headers."""
        env = {
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.url_scheme": "https" if self.server.tls else "http",
            "HTTP_HOST": self.header("Host") or "",
            "SCRIPT_NAME": "",
        }
        if not self.server.proxy_headers:
            return env
        fwd = self.header("Forwarded")
        if fwd:
            first = {}
            for pair in fwd.split(",")[0].split(";"):
                key, _, value = pair.partition("=")
                first[key.lower().strip()] = value.strip()
            for key, var in (("proto", "wsgi.url_scheme"),
                             ("host", "HTTP_HOST"), ("for", "REMOTE_ADDR")):
                if first.get(key):
                    env[var] = first[key]
        else:
            for name, var in (("X-Forwarded-Proto", "wsgi.url_scheme"),
                              ("X-Forwarded-Host", "HTTP_HOST"),
                              ("X-Forwarded-For", "REMOTE_ADDR")):
                if self.header(name):
                    env[var] = self.header(name)
        if self.header("X-Forwarded-Prefix"):
            env["SCRIPT_NAME"] = self.header("X-Forwarded-Prefix")
        return env

    def identify(self, env):
        """Nova's __call__: ((instance, tenant), status, why, signature_ok)."""
        if not self.server.service_metadata_proxy:
            found = self.server.instances.get(env["REMOTE_ADDR"])
            if not found:
                return None, 404, "The resource could not be found.", None
            return found, 200, None, None
        if self.header("X-Metadata-Provider"):
            return self.identify_from_lb()
        status, why, signature_ok = self.check_identity()
        found = (self.header("X-Instance-ID"), self.header("X-Tenant-ID"))
        return found, status, why, signature_ok

    def identify_from_lb(self):
        """Nova's _handle_instance_id_request_from_lb."""
        forwarded = self.header("X-Forwarded-For")
        provider = self.header("X-Metadata-Provider")
        if forwarded is None:
            return None, 400, "X-Forwarded-For is missing from request.", None
        address = forwarded.split(",")[0]
        signature_ok = None
        if self.server.secret:
            expected = hmac.new(self.server.secret, provider.encode(),
                                hashlib.sha256).hexdigest()
            sig = self.header("X-Metadata-Provider-Signature") or ""
            signature_ok = hmac.compare_digest(expected, sig)
            if not signature_ok:
                return None, 403, "Invalid proxy request signature.", False
        found = self.server.providers.get((provider, address))
        if not found:
            return None, 400, ("Expected a single port matching provider %s "
                               "and IP %s. Found 0." % (provider, address)), \
                signature_ok
        return found, 200, None, signature_ok

    def check_identity(self):
        """Nova's _handle_instance_id_request: (status, why, signature_ok)."""
        instance = self.values("X-Instance-ID")
        tenant = self.values("X-Tenant-ID")
        sig = self.values("X-Instance-ID-Signature")
        if not instance:
            return 400, "X-Instance-ID header is missing from request.", None
        if not sig:
            return 400, "X-Instance-ID-Signature header is missing from request.", None
        if not tenant:
            return 400, "X-Tenant-ID header is missing from request.", None
        if len(instance) > 1:
            return 400, "Multiple X-Instance-ID headers found within request.", None
        if len(tenant) > 1:
            return 400, "Multiple X-Tenant-ID headers found within request.", None
        expected = hmac.new(self.server.secret, instance[0].encode(),
                            hashlib.sha256).hexdigest()
        if len(sig) > 1 or not hmac.compare_digest(expected, sig[0]):
            return 403, "Invalid proxy request signature.", False
        return 200, None, True

    def record(self, body, signature_ok):
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "signature_ok": signature_ok,
        }
        if isinstance(self.connection, ssl.SSLSocket):
            entry["tls_resumed"] = self.connection.session_reused
        if self.server.record_file:
            with self.server.lock, open(self.server.record_file, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def reply(self, status, body, ctype="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for name, value in extra:
            self.send_header(name, value)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def handle_any(self):
        body = self.read_body()
        env = self.environ()
        found, status, why, signature_ok = self.identify(env)
        self.record(body, signature_ok)
        if status != 200:
            return self.reply(status, (why + "\n").encode())
        instance, tenant = found
        path = self.path.split("?")[0]
        parts = path.strip("/").split("/")
        try:
            if parts[0] == "status" and len(parts) == 2:
                code = int(parts[1])
                return self.reply(code, b"status %d from nova\n" % code,
                                  extra=[("X-Test", "kept")])
            if parts[0] == "slow" and len(parts) == 2:
                time.sleep(float(parts[1]))
                return self.reply(200, b"slow\n")
            if parts[0] == "size" and len(parts) == 2:
                return self.reply(200, pattern(int(parts[1])),
                                  "application/octet-stream")
        except ValueError:
            return self.reply(400, b"bad number\n")
        if path == "/echo" and self.command == "POST":
            return self.reply(200, body, "application/octet-stream")
        if path == "/headers":
            data = [[k, v] for k, v in self.headers.items()]
            return self.reply(200, json.dumps(data).encode(),
                              "application/json")
        if path == "/openstack/latest/meta_data.json" and \
                self.command in ("GET", "HEAD"):
            data = {"uuid": instance, "project_id": tenant}
            if self.server.proxy_headers:
                data["application_url"] = "%s://%s%s" % (
                    env["wsgi.url_scheme"], env["HTTP_HOST"],
                    env["SCRIPT_NAME"])
            return self.reply(200, json.dumps(data).encode(),
                              "application/json")
        if path == "/openstack/latest/password":
            with self.server.lock:
                stored = self.server.passwords.get(instance)
                if self.command in ("GET", "HEAD"):
                    return self.reply(200, stored or b"")
                if self.command != "POST":
                    return self.reply(405, b"method not allowed\n")
                if len(body) > MAX_PASSWORD:
                    return self.reply(400, b"Request is too large.\n")
                if stored:
                    return self.reply(409, b"Password already set.\n")
                self.server.passwords[instance] = body
            return self.reply(200, body)
        return self.reply(404, b"The resource could not be found.\n")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    tls = None  # an ssl.SSLContext when serving HTTPS

    def finish_request(self, request, client_address):
        # The handshake runs in the request's thread, so a client that
        # never completes one cannot stall the accept loop.
        if self.tls:
            try:
                request.settimeout(10)
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                sys.stderr.write("tls handshake failed: %s\n" % e)
                request.close()
                return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        pass


def instance_arg(text):
    """ADDR=UUID/PROJECT -> (ADDR, (UUID, PROJECT))."""
    addr, _, who = text.partition("=")
    uuid, _, project = who.partition("/")
    if not addr or not uuid or not project:
        raise argparse.ArgumentTypeError(
            "%r: expected ADDR=UUID/PROJECT" % text)
    return addr, (uuid, project)


def provider_arg(text):
    """PROVIDER:ADDR=UUID/PROJECT -> ((PROVIDER, ADDR), (UUID, PROJECT))."""
    provider, _, rest = text.partition(":")
    if not provider:
        raise argparse.ArgumentTypeError(
            "%r: expected PROVIDER:ADDR=UUID/PROJECT" % text)
    addr, who = instance_arg(rest)
    return (provider, addr), who


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", metavar="HOST:PORT", required=True)
    ap.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS")
    ap.add_argument("--tls-key", metavar="FILE")
    ap.add_argument("--client-ca", metavar="FILE",
                    help="require a client certificate signed by this CA")
    ap.add_argument("--secret-file", metavar="FILE",
                    help="the shared secret (one trailing newline ignored)")
    ap.add_argument("--record", metavar="FILE")
    ap.add_argument("--proxy-headers", action="store_true",
                    help="HTTPProxyToWSGI with enable_proxy_headers_parsing")
    ap.add_argument("--no-service-metadata-proxy", action="store_false",
                    dest="service_metadata_proxy",
                    help="look instances up by REMOTE_ADDR (--instance)")
    ap.add_argument("--instance", metavar="ADDR=UUID/PROJECT",
                    action="append", default=[], type=instance_arg)
    ap.add_argument("--provider", metavar="PROVIDER:ADDR=UUID/PROJECT",
                    action="append", default=[], type=provider_arg)
    args = ap.parse_args()

    secret = b""
    if args.secret_file:
        with open(args.secret_file, "rb") as f:
            secret = f.read()
        if secret.endswith(b"\n"):
            secret = secret[:-1]

    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    if ":" in host:
        Server.address_family = socket.AF_INET6
    server = Server((host, int(port)), Handler)
    server.secret = secret
    server.record_file = args.record
    server.lock = threading.Lock()
    server.passwords = {}
    server.proxy_headers = args.proxy_headers
    server.service_metadata_proxy = args.service_metadata_proxy
    server.instances = dict(args.instance)
    server.providers = dict(args.provider)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.client_ca)
        server.tls = ctx

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    print("ready", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
