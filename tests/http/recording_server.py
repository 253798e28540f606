"""An HTTP server on 127.0.0.1 that records every request and answers from a
script, for testing the notification sinks against a real socket.

    server = RecordingServer()                      # an ephemeral port; start()ed already
    again = RecordingServer(port=server.port)       # after server.close(): the same port again
    server.script(Response(429, headers={"Retry-After": "2"}), Response(500))
    server.default = Response(200, {"ok": True})    # after the script runs out
    ... run the pipeline with base_url = server.url ...
    requests = server.wait_for_requests(3, timeout=20)
    requests[0].method, .path, .headers["Access-Token"], .json, .body, .client_port, .status
    server.close()                                  # also a context manager, and idempotent

Responses are consumed in order, one per request, then `default` answers
every further one. A Response may wait (`delay` seconds) before answering
or never answer (`never=True`: the connection stays open, silent, until the
server closes). HTTP/1.1 with keep-alive, so a client that reuses its
connection shows one `client_port` for several requests. As a proxy target
(http_proxy=server.url) the request line holds the absolute URL, kept as
`path`.

TLS: RecordingServer(tls=True) serves https with a self-signed certificate
for 127.0.0.1 and localhost made by the openssl command; `cert_path` is the
PEM file a client needs to trust it; with tls_valid_from it is valid only
from then (a clock behind). Handshakes the client refused are counted in
`tls_failures`.

Standard library only. Every wait is bounded; threads are daemons, and a
never-answering handler is released by close().
"""

import collections
import http.server
import json
import shutil
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["Request", "Response", "RecordingServer", "make_self_signed_certificate"]

# A never-answering handler gives up after this long even if close() is never called.
NEVER_LIMIT_S = 120

Request = collections.namedtuple("Request", "method path headers json body client_port status", defaults=(None,))
Request.__doc__ = """One request as received: `headers` is an email.message.Message
(case-insensitive: headers["content-type"]), `json` the parsed body or None,
`body` the raw bytes, `path` as sent (absolute-form through a proxy),
`status` the one it is answered with (None: never, or cut off)."""


class Response:
    """One scripted answer. `body`: bytes, str (sent as text/plain) or any
    other value (sent as JSON); `headers` e.g. {"Retry-After": "30"}."""

    def __init__(self, status=200, body=b"", headers=None, delay=0.0, never=False, cut_off=False):
        self.status = status
        self.headers = dict(headers or {})
        self.delay = delay
        self.never = never
        self.cut_off = cut_off  # send half the body, then close the connection
        if isinstance(body, bytes):
            self.body = body
        elif isinstance(body, str):
            self.body = body.encode()
            self.headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            self.body = json.dumps(body).encode()
            self.headers.setdefault("Content-Type", "application/json")

    def __repr__(self):
        return "Response(%d, %r%s)" % (self.status, self.body[:60], ", never" if self.never else "")


CA_CONFIG = """[ca]
default_ca = here
[here]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
"""


def make_self_signed_certificate(folder, valid_from=None):
    """(cert.pem, key.pem) in `folder`: a self-signed certificate for
    127.0.0.1 and localhost, made with the openssl CLI, valid for two days
    from now, or for a year from `valid_from` ("20990101000000Z", through
    `openssl ca`: OpenSSL 3.0's `req` cannot date a certificate ahead)."""
    folder = Path(folder)
    cert, key = folder / "cert.pem", folder / "key.pem"
    san = ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    subject = ["-subj", "/CN=stream-smarts test server"]

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60, cwd=folder)

    if valid_from is None:
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2", *subject,
                "-keyout", str(key), "-out", str(cert), *san)
        return cert, key
    (folder / "ca.cnf").write_text(CA_CONFIG)
    (folder / "index.txt").write_text("")
    (folder / "serial").write_text("01\n")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", *subject, "-keyout", str(key), "-out", "req.csr", *san)
    year_later = str(int(valid_from[:4]) + 1) + valid_from[4:]
    openssl("ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", str(key), "-in", "req.csr",
            "-startdate", valid_from, "-enddate", year_later, "-out", str(cert))
    return cert, key


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: what a reused connection needs
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait between them

    def _serve(self):
        server = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        response = server._record(Request(self.command, self.path, self.headers, parsed, body,
                                          self.client_address[1]))
        if response.never:
            server._closing.wait(NEVER_LIMIT_S)
            self.close_connection = True
            return
        if response.delay and server._closing.wait(response.delay):
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.cut_off:
            self.wfile.write(response.body[:len(response.body) // 2])
            self.close_connection = True
            return
        self.wfile.write(response.body)

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format, *args):  # quiet: the test reads records, not stderr
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False  # close() must not wait for a never-answering handler
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        # TLS per connection, on the connection's own thread: a client that
        # refuses the certificate never holds up the accepting thread.
        if self.owner.tls_context is not None:
            try:
                request = self.owner.tls_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                self.owner._count_tls_failure()
                return
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            request.close()

    def handle_error(self, request, client_address):
        pass  # a client hanging up mid-request is the client's business


class RecordingServer:
    def __init__(self, responses=(), default=None, tls=False, port=0, tls_valid_from=None):
        self.default = default or Response(200, {})
        self._script = collections.deque(responses)
        self._requests = []
        self._lock = threading.Condition()
        self._closing = threading.Event()
        self.tls_failures = 0
        self._folder = None
        self.cert_path = None
        self.tls_context = None
        if tls:
            self._folder = tempfile.mkdtemp(prefix="recording-server-")
            self.cert_path, key = make_self_signed_certificate(self._folder, tls_valid_from)
            self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_context.load_cert_chain(self.cert_path, key)
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="recording-server", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- scripting

    def script(self, *responses):
        """Appends answers for the next requests, in order."""
        with self._lock:
            self._script.extend(responses)

    # ---------------------------------------------------------------- reading

    def requests(self):
        """Every request so far, in the order they arrived."""
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, count, timeout):
        """Waits until at least `count` requests arrived (at most `timeout`
        seconds); returns them all. AssertionError if fewer came."""
        deadline = time.monotonic() + timeout
        with self._lock:
            for _ in range(10_000):
                left = deadline - time.monotonic()
                if len(self._requests) >= count or left <= 0:
                    break
                self._lock.wait(min(left, 0.5))
            if len(self._requests) < count:
                raise AssertionError("%d requests within %.0f s, not %d: %s" % (
                    len(self._requests), timeout, count, [(r.method, r.path) for r in self._requests]))
            return list(self._requests)

    # ---------------------------------------------------------------- life

    def close(self):
        if self._closing.is_set():
            return
        self._closing.set()  # releases never-answering and delayed handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- handler side

    def _record(self, request):
        with self._lock:
            response = self._script.popleft() if self._script else self.default
            answered = not (response.never or response.cut_off)
            self._requests.append(request._replace(status=response.status if answered else None))
            self._lock.notify_all()
            return response

    def _count_tls_failure(self):
        with self._lock:
            self.tls_failures += 1
            self._lock.notify_all()
