#!/usr/bin/env python3
# Stand-in for kube-apiserver: reads and writes etcd with its etcd client cert over etcd's gRPC API
# (as the real one does; a minimal HTTP/2 + protobuf client below, since etcd 3.4 started from a
# config file has no JSON gateway), serves TLS requiring client certs from --client-ca-file, and
# stores the objects it is asked to apply in etcd, allowing writes only to system:masters (the
# super-admin; RBAC itself is not evaluated).
import struct


def varint(n):
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def pb_bytes(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def pb_fields(data):
    """(field, value) pairs of a protobuf message; length-delimited values as bytes."""
    i, out = 0, []

    def read_varint():
        nonlocal i
        shift = value = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while i < len(data):
        tag = read_varint()
        kind = tag & 7
        if kind == 0:
            value = read_varint()
        elif kind == 2:
            size = read_varint()
            value, i = data[i:i + size], i + size
        else:
            size = 8 if kind == 1 else 4
            value, i = data[i:i + size], i + size
        out.append((tag >> 3, value))
    return out


def hpack_literal(name, value):
    """A header as 'literal without indexing, new name', no Huffman: enough to send a request."""
    def string(s):
        b = s.encode()
        return (bytes([len(b)]) if len(b) < 127 else b"\x7f" + varint(len(b) - 127)) + b
    return b"\x00" + string(name) + string(value)


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def grpc_call(url, context, method, message):
    """One unary gRPC call over a fresh TLS connection; returns the response message bytes."""
    u = urllib.parse.urlsplit(url)
    raw = socket.create_connection((u.hostname, u.port), timeout=5)
    sock = context.wrap_socket(raw, server_hostname=u.hostname)
    try:
        headers = b"".join(hpack_literal(k, v) for k, v in ((":method", "POST"), (":scheme", "https"), (":path", method),
                                                            (":authority", u.netloc), ("content-type", "application/grpc"), ("te", "trailers")))
        body = b"\x00" + struct.pack(">I", len(message)) + message
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") + frame(1, 4, 1, headers) + frame(0, 1, 1, body))
        buffer, data = b"", b""
        while True:
            while len(buffer) < 9 or len(buffer) < 9 + int.from_bytes(buffer[:3], "big"):
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError(f"{url}: connection closed during {method}")
                buffer += chunk
            size = int.from_bytes(buffer[:3], "big")
            kind, flags, stream = buffer[3], buffer[4], struct.unpack(">I", buffer[5:9])[0] & 0x7FFFFFFF
            payload, buffer = buffer[9:9 + size], buffer[9 + size:]
            if kind == 4 and not flags & 1:
                sock.sendall(frame(4, 1, 0, b""))  # acknowledge the server's SETTINGS
            elif kind == 7:
                raise RuntimeError(f"{url}: GOAWAY during {method}")
            elif stream == 1 and kind == 0:
                data += payload
            if stream == 1 and kind in (0, 1) and flags & 1:
                break
        if len(data) < 5:
            raise RuntimeError(f"{url}: {method} returned no message (a gRPC error status)")
        return data[5:5 + struct.unpack(">I", data[1:5])[0]]
    finally:
        sock.close()


flags = parse_flags(sys.argv[1:])
require_flag_files(flags)
for flag in ("etcd-servers", "etcd-cafile", "etcd-certfile", "etcd-keyfile", "tls-cert-file", "tls-private-key-file", "client-ca-file",
             "service-account-issuer", "service-account-key-file", "service-account-signing-key-file", "service-cluster-ip-range"):
    require(flags.get(flag), f"--{flag}")
for cert, key in (("tls-cert-file", "tls-private-key-file"), ("etcd-certfile", "etcd-keyfile"),
                  ("kubelet-client-certificate", "kubelet-client-key"), ("proxy-client-cert-file", "proxy-client-key-file")):
    if cert in flags or key in flags:
        check_pair(require(flags.get(cert), f"--{cert}"), require(flags.get(key), f"--{key}"), f"--{cert}/--{key}")
derived = subprocess.run(["openssl", "pkey", "-in", flags["service-account-signing-key-file"], "-pubout"], capture_output=True, text=True)
with open(flags["service-account-key-file"]) as f:
    if derived.returncode != 0 or derived.stdout.strip() != f.read().strip():
        fail("--service-account-key-file is not the public half of --service-account-signing-key-file")
if "audit-log-path" in flags:
    os.makedirs(os.path.dirname(flags["audit-log-path"]), exist_ok=True)

ETCD = flags["etcd-servers"].split(",")
etcd = ssl.create_default_context(cafile=flags["etcd-cafile"])
etcd.load_cert_chain(flags["etcd-certfile"], flags["etcd-keyfile"])
etcd.set_alpn_protocols(["h2"])


def etcd_call(method, message):
    errors = []
    for server in ETCD:
        try:
            return grpc_call(server, etcd, method, message)
        except (OSError, RuntimeError) as err:
            errors.append(f"{server}: {err}")
    raise RuntimeError("; ".join(errors))


def etcd_put(key, value):
    etcd_call("/etcdserverpb.KV/Put", pb_bytes(1, key.encode()) + pb_bytes(2, value.encode()))


def etcd_get(key):
    response = etcd_call("/etcdserverpb.KV/Range", pb_bytes(1, key.encode()))
    for field, kv in pb_fields(response):
        if field == 2:  # kvs; KeyValue.value is field 5
            return next(v for f, v in pb_fields(kv) if f == 5).decode()
    return None


def check_etcd():
    key = f"/registry/kubeinstall-standin/health/{flags.get('advertise-address', 'unknown')}"
    stamp = str(time.time())
    etcd_put(key, stamp)
    if etcd_get(key) != stamp:
        raise RuntimeError("etcd did not return what was written")


OBJECT_PATH = re.compile(r"^/apis?/(?:[^/]+/)?v1/([a-z]+)/([^/?]+)$")


class ApiHandler(HealthHandler):
    def groups(self):
        subject = self.connection.getpeercert().get("subject", ())
        return [value for rdn in subject for key, value in rdn if key == "organizationName"]

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/api":
            return self.reply(200, json.dumps({"kind": "APIVersions", "versions": ["v1"]}), "application/json")
        if path == "/version":
            return self.reply(200, json.dumps({"major": "1", "gitVersion": "standin"}), "application/json")
        match = OBJECT_PATH.match(path)
        if match:
            stored = etcd_get(f"/registry/{match[1]}/{urllib.parse.unquote(match[2])}")
            return self.reply(200, stored, "application/json") if stored else self.reply(404, "not found")
        return super().do_GET()

    def do_PATCH(self):
        match = OBJECT_PATH.match(self.path.split("?")[0])
        if not match:
            return self.reply(404, "not found")
        if "system:masters" not in self.groups():
            return self.reply(403, f"forbidden: groups {self.groups()} may not write")
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        obj = json.loads(body)
        if obj.get("metadata", {}).get("name") != urllib.parse.unquote(match[2]):
            return self.reply(400, "metadata.name does not match the URL")
        etcd_put(f"/registry/{match[1]}/{obj['metadata']['name']}", json.dumps(obj))
        self.reply(200, json.dumps(obj), "application/json")


serve(flags.get("bind-address", "0.0.0.0"), flags.get("secure-port", "6443"), ApiHandler,
      (flags["tls-cert-file"], flags["tls-private-key-file"], flags["client-ca-file"], True))
wait_until(f"etcd at {flags['etcd-servers']}", check_etcd)
block_forever()
