# Shared by every stand-in (build.ts prepends COMPONENT, VERSION and FLAGS, this minor's flag table). A stand-in must not
# make the test easier than the real binary would: it rejects flags the real one rejects, insists
# that the files it is pointed at exist and that cert/key pairs match, serves TLS where the real one
# does, and reports healthy only after reaching what the real component needs.
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

READY = threading.Event()


def log(message):
    print(f"I {COMPONENT}: {message}", file=sys.stderr, flush=True)


def fail(message):
    print(f"E {COMPONENT}: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def parse_flags(argv):
    """--name=value or a bare --name (a boolean), checked against this minor's flag table. --version prints
    the version and exits, as the real binaries do (component-base's verflag)."""
    if "--version" in argv or "--version=true" in argv:
        print(f"Kubernetes {VERSION}")
        sys.exit(0)
    flags = {}
    for arg in argv:
        if not arg.startswith("--"):
            fail(f'unexpected argument "{arg}" (flags are --name=value)')
        name, eq, value = arg[2:].partition("=")
        if name not in FLAGS:
            fail(f"unknown flag: --{name}")
        if FLAGS[name]:
            log(f"Flag --{name} has been deprecated")
        flags[name] = value if eq else "true"
    return flags


FILE_FLAG = re.compile(r"(^config$|kubeconfig$|-config$|-file$|-cafile$|-certfile$|-keyfile$|-certificate$|-key$|-authority$)")


def require_flag_files(flags):
    for name, value in flags.items():
        if FILE_FLAG.search(name) and value and not os.path.isfile(value):
            fail(f"--{name}={value}: no such file")


def require(value, what):
    if value in (None, ""):
        fail(f"{what} is required")
    return value


def check_ca(path, what):
    """A trust anchor must hold a CA certificate (basicConstraints CA:TRUE): OpenSSL counts only those as CAs."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(path)
    except (ssl.SSLError, OSError) as err:
        fail(f"{what}={path}: no PEM certificates: {err}")
    if not context.get_ca_certs():
        fail(f"{what}={path}: holds no CA certificate")


def check_pair(cert, key, what):
    """load_cert_chain fails when the key does not belong to the certificate."""
    for path in (cert, key):
        if not os.path.isfile(path):
            fail(f"{what}: {path}: no such file")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert, key)
    except ssl.SSLError as err:
        fail(f"{what}: {cert} and {key} do not match: {err}")


def _scalar(text):
    text = text.strip()
    if text == "":
        return None
    if text[0] in "\"'":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    if text[0] in "[{":
        # A flow collection in JSON form (JSON is YAML), as kubeinstall renders registerWithTaints.
        return json.loads(text)
    try:
        return int(text)
    except ValueError:
        return text


def parse_yaml(text):
    """The block-style YAML subset kubeconfigs and component configs use: mappings, sequences, scalars."""
    lines = []
    for raw in text.split("\n"):
        content = raw.strip()
        if content and not content.startswith("#") and content != "---":
            lines.append([len(raw) - len(raw.lstrip(" ")), content])

    def is_item(i):
        return lines[i][1] == "-" or lines[i][1].startswith("- ")

    def node(i):
        return sequence(i, lines[i][0]) if is_item(i) else mapping(i, lines[i][0])

    def mapping(i, indent):
        out = {}
        while i < len(lines) and lines[i][0] == indent and not is_item(i):
            key, _, rest = lines[i][1].partition(":")
            key = key.strip().strip("\"'")
            i += 1
            if rest.strip():
                out[key] = _scalar(rest)
            elif i < len(lines) and (lines[i][0] > indent or (lines[i][0] == indent and is_item(i))):
                out[key], i = node(i)
            else:
                out[key] = None
        return out, i

    def sequence(i, indent):
        out = []
        while i < len(lines) and lines[i][0] == indent and is_item(i):
            content = lines[i][1][1:].lstrip()
            if not content:
                value, i = node(i + 1)
            elif re.match(r"^[\w.-]+:( |$)", content):
                # "- key: value" opens a mapping whose other keys sit under "key"
                lines[i] = [indent + len(lines[i][1]) - len(content), content]
                value, i = mapping(i, lines[i][0])
            else:
                value, i = _scalar(content), i + 1
            out.append(value)
        return out, i

    return node(0)[0] if lines else {}


def read_yaml(path, what):
    with open(path) as f:
        doc = parse_yaml(f.read())
    if not isinstance(doc, dict):
        fail(f"{what} {path}: not a YAML mapping")
    return doc


def dig(doc, *keys):
    for key in keys:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


PRIVATE_DIR = tempfile.mkdtemp(prefix=f"{COMPONENT}-standin-")


def _write_private(name, data):
    path = os.path.join(PRIVATE_DIR, name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(data)
    return path


class Client:
    """HTTPS client credentials: a CA to trust and a client cert/key pair."""

    def __init__(self, cafile, certfile, keyfile):
        self.context = ssl.create_default_context(cafile=cafile)
        self.context.load_cert_chain(certfile, keyfile)

    def call(self, url, method="GET", body=None, content_type="application/json"):
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=self.context, timeout=5)
        try:
            conn.request(method, u.path + (f"?{u.query}" if u.query else ""), body=body, headers={"Content-Type": content_type} if body else {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


def kubeconfig_client(path):
    """The server and credentials of a kubeconfig's current context, with embedded (base64) data."""
    import base64

    doc = read_yaml(path, "kubeconfig")

    def named(section, name):
        for entry in doc.get(section) or []:
            if entry.get("name") == name:
                return entry
        fail(f"kubeconfig {path}: no {section} entry named {name}")

    context = named("contexts", require(doc.get("current-context"), f"kubeconfig {path}: current-context"))["context"]
    cluster = named("clusters", context["cluster"])["cluster"]
    user = named("users", context["user"])["user"]
    data = {}
    for section, key in ((cluster, "certificate-authority-data"), (user, "client-certificate-data"), (user, "client-key-data")):
        data[key] = _write_private(f"{os.path.basename(path)}.{key}", base64.b64decode(require(section.get(key), f"kubeconfig {path}: {key}")))
    check_pair(data["client-certificate-data"], data["client-key-data"], f"kubeconfig {path}")
    server = require(cluster.get("server"), f"kubeconfig {path}: server")
    return server, Client(data["certificate-authority-data"], data["client-certificate-data"], data["client-key-data"])


def self_signed(address):
    """What the real controller-manager and scheduler do without --tls-cert-file: sign their own."""
    cert = os.path.join(PRIVATE_DIR, "serving.crt")
    key = os.path.join(PRIVATE_DIR, "serving.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "365",
         "-subj", f"/CN={address}@{int(time.time())}", "-addext", f"subjectAltName=IP:{address}", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    return cert, key


class HealthHandler(BaseHTTPRequestHandler):
    """Answers /healthz, /livez and /readyz: 200 once READY, 503 before. Components extend it."""

    HEALTH_PATHS = ("/healthz", "/livez", "/readyz")

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, content_type="text/plain"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.split("?")[0] in self.HEALTH_PATHS:
            self.reply(200, "ok") if READY.is_set() else self.reply(503, f"{COMPONENT} not ready yet")
        else:
            self.reply(404, "not found")


def serve(address, port, handler, tls=None):
    """tls: (cert, key, client CA or None, client cert required?)."""
    server = ThreadingHTTPServer((address, int(port)), handler)
    if tls:
        cert, key, client_ca, required = tls
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        if client_ca:
            context.load_verify_locations(client_ca)
            context.verify_mode = ssl.CERT_REQUIRED if required else ssl.CERT_OPTIONAL
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # As the real components log their version when they start (the journal of each start says which ran).
    log(f"Version: {VERSION}, serving {'https' if tls else 'http'} on {address}:{port}")
    return server


def go_duration_seconds(value):
    """A Go duration as the real flags take it ("0s", "500ms", "5s", "1m"), in seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", value or "0s")
    if not match:
        fail(f"invalid duration {value!r}")
    return float(match[1]) * {"ms": 0.001, "s": 1, "m": 60}[match[2]]


def terminate_gracefully(server, delay_seconds):
    """kube-apiserver's graceful termination on SIGTERM: /readyz fails at once, requests are still served for
    --shutdown-delay-duration, then the listener closes (new connections are refused, so a load balancer
    tries another server) and the requests in flight finish before the process exits."""
    server.daemon_threads = False  # request threads are then kept in server._threads, to be waited for

    def on_term(signum, frame):
        READY.clear()
        log(f"SIGTERM: not ready; serving for {delay_seconds} s more, then closing the listener")
        time.sleep(delay_seconds)
        try:
            # On Linux this stops the listening socket at once (connections are refused) and wakes the accept loop.
            server.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        server.shutdown()
        # Bounded as the real one bounds a request (--request-timeout): a request stuck on an unreachable etcd
        # (5 s a member here) must not hold a stop until systemd kills the unit.
        deadline = time.monotonic() + 15
        threads = vars(server).get("_threads", [])  # set by ThreadingMixIn at the first request
        for thread in list(threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        log("requests in flight done, exiting")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)


def wait_until(what, attempt, interval=1.0):
    """Retries attempt() until it returns without raising, as the real components retry, then READY."""
    while True:
        try:
            attempt()
            log(f"{what}: ok")
            READY.set()
            return
        except Exception as err:  # every failure is retried; the unit's health says the rest
            log(f"{what}: {err}")
            time.sleep(interval)


def api_server_ready(server, client):
    status, body = client.call(f"{server}/readyz")
    if status != 200:
        raise RuntimeError(f"{server}/readyz: HTTP {status} {body[:100]!r}")


def block_forever():
    while True:
        time.sleep(3600)
