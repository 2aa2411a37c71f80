#!/usr/bin/env python3
# Stand-in for kube-apiserver: reads and writes etcd with its etcd client cert over etcd's gRPC API
# (as the real one does; a minimal HTTP/2 + protobuf client below, since etcd 3.4 started from a
# config file has no JSON gateway), serves TLS with client certs from --client-ca-file (anonymous
# requests get the health paths only, as system:public-info-viewer allows on the real one), and
# stores the objects it is asked to create or apply in etcd under the real keys
# (/registry/<resource>/[<namespace>/]<name>), encrypted as --encryption-provider-config says. Writes are
# allowed to system:masters and to subjects of a stored ClusterRoleBinding to cluster-admin (no other
# RBAC is evaluated). Nodes' status subresource is stored too (patched by each Node's own kubelet).
import base64
import binascii
import ctypes
import signal
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


# AES-256-CBC with PKCS#7 padding through the host's OpenSSL (test hosts have python3 but not
# python3-cryptography; libcrypto comes with python3's ssl module).
_crypto = ctypes.CDLL("libcrypto.so.3")
_crypto.EVP_CIPHER_CTX_new.restype = ctypes.c_void_p
_crypto.EVP_CIPHER_CTX_free.argtypes = [ctypes.c_void_p]
_crypto.EVP_CipherInit_ex.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
_crypto.EVP_CipherUpdate.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, ctypes.c_int]
_crypto.EVP_CipherFinal_ex.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
_crypto.EVP_aes_256_cbc.restype = ctypes.c_void_p


def aes_cbc(key, iv, data, encrypt):
    cipher = _crypto.EVP_aes_256_cbc()
    ctx = _crypto.EVP_CIPHER_CTX_new()
    try:
        out = ctypes.create_string_buffer(len(data) + 16)
        n, tail = ctypes.c_int(), ctypes.c_int()
        if not (_crypto.EVP_CipherInit_ex(ctx, cipher, None, key, iv, int(encrypt)) == 1
                and _crypto.EVP_CipherUpdate(ctx, out, ctypes.byref(n), data, len(data)) == 1
                and _crypto.EVP_CipherFinal_ex(ctx, ctypes.addressof(out) + n.value, ctypes.byref(tail)) == 1):
            raise RuntimeError("AES-CBC failed: wrong key or corrupt value")
        return out.raw[:n.value + tail.value]
    finally:
        _crypto.EVP_CIPHER_CTX_free(ctx)


def load_encryption(path):
    """resource -> providers in order, each (prefix, key); identity is (b"", None). As the real one, an
    unknown provider or a key of the wrong size stops the server."""
    doc = read_yaml(path, "--encryption-provider-config")
    if doc.get("apiVersion") != "apiserver.config.k8s.io/v1" or doc.get("kind") != "EncryptionConfiguration":
        fail(f"--encryption-provider-config={path}: not an apiserver.config.k8s.io/v1 EncryptionConfiguration")
    providers_of = {}
    for entry in doc.get("resources") or []:
        providers = []
        for provider in entry.get("providers") or []:
            (kind, spec), = provider.items()
            if kind == "identity":
                providers.append((b"", None))
            elif kind == "aescbc":
                for k in (spec or {}).get("keys") or []:
                    name = require(k.get("name"), f"{path}: aescbc key name")
                    try:
                        key = base64.b64decode(require(k.get("secret"), f"{path}: aescbc key {name} secret"), validate=True)
                    except binascii.Error:
                        fail(f"{path}: aescbc key {name}: secret is not base64")
                    if len(key) != 32:  # apiserver.config.k8s.io/v1: "32 bytes long for AES-CBC"
                        fail(f"{path}: aescbc key {name}: {len(key)} bytes; aescbc keys are 32")
                    providers.append((f"k8s:enc:aescbc:v1:{name}:".encode(), key))
            else:
                fail(f"{path}: provider {kind}: this stand-in implements aescbc and identity only")
        for resource in entry.get("resources") or []:
            providers_of[resource] = providers
    return providers_of


flags = parse_flags(sys.argv[1:])
require_flag_files(flags)
for ca in ("client-ca-file", "etcd-cafile", "requestheader-client-ca-file", "kubelet-certificate-authority"):
    if ca in flags:
        check_ca(flags[ca], f"--{ca}")
ENCRYPTION = load_encryption(flags["encryption-provider-config"]) if "encryption-provider-config" in flags else {}
for flag in ("etcd-servers", "etcd-cafile", "etcd-certfile", "etcd-keyfile", "tls-cert-file", "tls-private-key-file", "client-ca-file",
             "service-account-issuer", "service-account-key-file", "service-account-signing-key-file", "service-cluster-ip-range"):
    require(flags.get(flag), f"--{flag}")
for cert, key in (("tls-cert-file", "tls-private-key-file"), ("etcd-certfile", "etcd-keyfile"),
                  ("kubelet-client-certificate", "kubelet-client-key"), ("proxy-client-cert-file", "proxy-client-key-file")):
    if cert in flags or key in flags:
        check_pair(require(flags.get(cert), f"--{cert}"), require(flags.get(key), f"--{key}"), f"--{cert}/--{key}")
derived = subprocess.run(["openssl", "pkey", "-in", flags["service-account-signing-key-file"], "-pubout"], capture_output=True, text=True)
# the file may hold several keys (every token they signed verifies: a signing-key rotation); the signing one must be there
with open(flags["service-account-key-file"]) as f:
    verifying = re.findall(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", f.read(), re.S)
    if derived.returncode != 0 or derived.stdout.strip() not in verifying:
        fail("--service-account-key-file does not hold the public half of --service-account-signing-key-file")
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
    etcd_call("/etcdserverpb.KV/Put", pb_bytes(1, key.encode()) + pb_bytes(2, value))


def etcd_range(key, range_end=None):
    """The values of a key, or of every key in [key, range_end)."""
    response = etcd_call("/etcdserverpb.KV/Range", pb_bytes(1, key.encode()) + (pb_bytes(2, range_end.encode()) if range_end else b""))
    # kvs is field 2; KeyValue.value is field 5
    return [next(v for f, v in pb_fields(kv) if f == 5) for field, kv in pb_fields(response) if field == 2]


def etcd_delete(key):
    etcd_call("/etcdserverpb.KV/DeleteRange", pb_bytes(1, key.encode()))


def etcd_get(key):
    values = etcd_range(key)
    return values[0] if values else None


def check_etcd():
    key = f"/registry/kubeinstall-standin/health/{flags.get('advertise-address', 'unknown')}"
    stamp = str(time.time()).encode()
    etcd_put(key, stamp)
    if etcd_get(key) != stamp:
        raise RuntimeError("etcd did not return what was written")


def to_storage(resource, data):
    """As the real transformer: the resource's first provider writes; aescbc stores prefix + IV + ciphertext."""
    prefix, key = (ENCRYPTION.get(resource) or [(b"", None)])[0]
    if key is None:
        return data
    iv = os.urandom(16)
    return prefix + iv + aes_cbc(key, iv, data, True)


def from_storage(resource, data):
    """The provider whose prefix the value carries reads it; identity reads only what carries none."""
    providers = ENCRYPTION.get(resource) or [(b"", None)]
    for prefix, key in providers:
        if key is not None and data.startswith(prefix):
            sealed = data[len(prefix):]
            return aes_cbc(key, sealed[:16], sealed[16:], False)
    if data.startswith(b"k8s:enc:") or (b"", None) not in providers:
        raise RuntimeError(f"no provider of --encryption-provider-config reads this {resource} value")
    return data


OBJECT_PATH = re.compile(r"^/apis?/(?:[^/]+/)?v1/(?:namespaces/([^/]+)/)?([a-z]+)(?:/([^/]+))?$")
# The one subresource deploy's day-2 commands use: a pod's eviction (what kubectl drain posts).
EVICTION_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/eviction$")
# A Node's status, which its kubelet patches (the Ready condition) and deploy reads back through the Node.
NODE_STATUS_PATH = re.compile(r"^/api/v1/nodes/([^/]+)/status$")
# The discovery kubectl needs to turn "secret" into a URL (/apis must answer too, if only with no groups).
CORE_V1 = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
    {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret", "verbs": ["create", "get", "patch"]},
    {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node", "verbs": ["create", "delete", "get", "list", "patch"]},
    {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["create", "get", "list"]},
    {"name": "services", "singularName": "service", "namespaced": True, "kind": "Service", "shortNames": ["svc"], "verbs": ["get", "patch"]},
    {"name": "configmaps", "singularName": "configmap", "namespaced": True, "kind": "ConfigMap", "shortNames": ["cm"], "verbs": ["get", "patch"]},
    {"name": "serviceaccounts", "singularName": "serviceaccount", "namespaced": True, "kind": "ServiceAccount", "shortNames": ["sa"],
     "verbs": ["get", "patch"]},
]}
# NodeRestriction: a kubelet may not set labels under these (kubeadm applies them with admin credentials).
RESTRICTED_LABEL_PREFIXES = ("node-role.kubernetes.io/", "node-restriction.kubernetes.io/")


def secret_from_protobuf(body):
    """What kubectl create secret sends: k8s\\x00 + runtime.Unknown whose raw (field 2) is a v1.Secret:
    metadata 1 (ObjectMeta: name 1, namespace 3), data 2 (map<string, bytes>), type 3. As JSON."""
    if not body.startswith(b"k8s\x00"):
        raise ValueError("not a Kubernetes protobuf message")
    raw = next(v for f, v in pb_fields(body[4:]) if f == 2)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {}, "data": {}, "type": "Opaque"}
    for field, value in pb_fields(raw):
        if field == 1:
            meta = dict(pb_fields(value))
            secret["metadata"].update({k: meta[f].decode() for k, f in (("name", 1), ("namespace", 3)) if meta.get(f)})
        elif field == 2:
            entry = dict(pb_fields(value))
            secret["data"][entry[1].decode()] = base64.b64encode(entry.get(2, b"")).decode()
        elif field == 3 and value:
            secret["type"] = value.decode()
    return secret


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch: mappings merge, null deletes, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def ipv4_int(address):
    return int.from_bytes(socket.inet_aton(address), "big")


def invalid_cluster_ip(resource, obj):
    """As the real one: a Service's clusterIP must lie in --service-cluster-ip-range (IPv4 ranges here)."""
    ip = ((obj.get("spec") or {}).get("clusterIP") or "") if resource == "services" else ""
    if ip in ("", "None"):
        return None
    network, _, bits = flags["service-cluster-ip-range"].split(",")[0].partition("/")
    mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF
    try:
        inside = ipv4_int(ip) & mask == ipv4_int(network) & mask
    except OSError:
        inside = False
    if inside:
        return None
    return (f'Service "{obj["metadata"]["name"]}" is invalid: spec.clusterIPs: Invalid value: ["{ip}"]: '
            f'failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {flags["service-cluster-ip-range"]}')


def object_key(namespace, resource, name):
    return f"/registry/{resource}/{namespace + '/' if namespace else ''}{name}"


def cluster_admin_subjects():
    subjects = set()
    for value in etcd_range("/registry/clusterrolebindings/", "/registry/clusterrolebindings0"):
        binding = json.loads(from_storage("clusterrolebindings", value))
        if binding.get("roleRef", {}).get("name") == "cluster-admin":
            subjects.update((s.get("kind"), s.get("name")) for s in binding.get("subjects") or [])
    return subjects


class ApiHandler(HealthHandler):
    def identity(self):
        pairs = [pair for rdn in self.connection.getpeercert().get("subject", ()) for pair in rdn]
        return next((v for k, v in pairs if k == "commonName"), ""), [v for k, v in pairs if k == "organizationName"]

    def may_write(self):
        user, groups = self.identity()
        return "system:masters" in groups or bool({("User", user), *(("Group", g) for g in groups)} & cluster_admin_subjects())

    def kubelet_may_create(self, resource, obj):
        """The Node authorizer and NodeRestriction: a kubelet creates its own Node, without node-role labels."""
        user, groups = self.identity()
        name = obj.get("metadata", {}).get("name")
        if resource != "nodes" or "system:nodes" not in groups or user != f"system:node:{name}":
            return f"forbidden: {user} may not create {resource} {name}"
        restricted = [k for k in obj["metadata"].get("labels") or {} if k.startswith(RESTRICTED_LABEL_PREFIXES)]
        return f"forbidden: node {name} is not allowed to set the following labels: {', '.join(restricted)}" if restricted else None

    def body(self, resource):
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if "protobuf" not in self.headers.get("Content-Type", ""):
            return json.loads(data)
        if resource != "secrets":
            raise ValueError(f"protobuf {resource}: this stand-in decodes Secrets only")
        return secret_from_protobuf(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path not in self.HEALTH_PATHS and not self.connection.getpeercert():
            return self.reply(403, f'forbidden: User "system:anonymous" cannot get path "{path}"')
        if path == "/api":
            return self.reply(200, json.dumps({"kind": "APIVersions", "versions": ["v1"]}), "application/json")
        if path == "/api/v1":
            return self.reply(200, json.dumps(CORE_V1), "application/json")
        if path == "/apis":
            return self.reply(200, json.dumps({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}), "application/json")
        if path == "/version":
            major, minor = VERSION[1:].split(".")[:2]
            return self.reply(200, json.dumps({"major": major, "minor": minor, "gitVersion": VERSION}), "application/json")
        match = OBJECT_PATH.match(path)
        if match and match[3]:
            stored = etcd_get(object_key(match[1], match[2], urllib.parse.unquote(match[3])))
            return self.reply(200, from_storage(match[2], stored), "application/json") if stored else self.reply(404, "not found")
        if match and match[2] in ("nodes", "pods"):
            # A list (of every namespace's, without one), with the one field selector drain uses: spec.nodeName=<node>.
            resource = match[2]
            prefix = object_key(match[1], resource, "")
            items = [json.loads(from_storage(resource, v)) for v in etcd_range(prefix, prefix[:-1] + "0")]
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            for selector in ",".join(query.get("fieldSelector", [])).split(","):
                if not selector:
                    continue
                field, _, value = selector.partition("=")
                if field != "spec.nodeName":
                    return self.reply(400, f"field label not supported: {field}")
                items = [i for i in items if (i.get("spec") or {}).get("nodeName") == value]
            kind = "NodeList" if resource == "nodes" else "PodList"
            return self.reply(200, json.dumps({"kind": kind, "apiVersion": "v1", "metadata": {}, "items": items}), "application/json")
        return super().do_GET()

    def do_POST(self):
        """Create: kubectl create; and a pod's eviction."""
        eviction = EVICTION_PATH.match(self.path.split("?")[0])
        if eviction:
            return self.evict(eviction[1], urllib.parse.unquote(eviction[2]))
        match = OBJECT_PATH.match(self.path.split("?")[0])
        if not match or match[3]:
            return self.reply(404, "not found")
        namespace, resource = match[1], match[2]
        try:
            obj = self.body(resource)
        except ValueError as err:
            return self.reply(400, f"cannot decode the body: {err}")
        name = obj.get("metadata", {}).get("name")
        if not name:
            return self.reply(422, "metadata.name is required")
        refused = None if self.may_write() else self.kubelet_may_create(resource, obj)
        if refused:
            return self.reply(403, refused)
        obj["metadata"]["resourceVersion"] = str(time.time_ns())
        if namespace:
            obj["metadata"]["namespace"] = namespace
        key = object_key(namespace, resource, name)
        if etcd_get(key) is not None:
            return self.reply(409, f"{resource} {name} already exists")
        etcd_put(key, to_storage(resource, json.dumps(obj).encode()))
        self.reply(201, json.dumps(obj), "application/json")

    def do_PATCH(self):
        """Server-side apply of a whole object, or a JSON merge patch (with a resourceVersion precondition): what deploy sends."""
        node_status = NODE_STATUS_PATH.match(self.path.split("?")[0])
        if node_status:
            return self.patch_node_status(urllib.parse.unquote(node_status[1]))
        match = OBJECT_PATH.match(self.path.split("?")[0])
        if not match or not match[3]:
            return self.reply(404, "not found")
        if not self.may_write():
            return self.reply(403, f"forbidden: {self.identity()} may not write")
        # kubectl label sends a strategic merge patch: for the labels map it is the same as a merge patch.
        if self.headers.get("Content-Type", "") in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            return self.merge(match[1], match[2], urllib.parse.unquote(match[3]))
        try:
            obj = self.body(match[2])
        except ValueError as err:
            return self.reply(400, f"cannot decode the body: {err}")
        if obj.get("metadata", {}).get("name") != urllib.parse.unquote(match[3]):
            return self.reply(400, "metadata.name does not match the URL")
        invalid = invalid_cluster_ip(match[2], obj)
        if invalid:
            return self.reply(422, invalid)
        etcd_put(object_key(match[1], match[2], obj["metadata"]["name"]), to_storage(match[2], json.dumps(obj).encode()))
        self.reply(200, json.dumps(obj), "application/json")


    def do_DELETE(self):
        """Delete one object (kubectl delete node): the real one answers with the object as it was."""
        match = OBJECT_PATH.match(self.path.split("?")[0])
        if not match or not match[3]:
            return self.reply(404, "not found")
        if not self.may_write():
            return self.reply(403, f"forbidden: {self.identity()} may not delete")
        key = object_key(match[1], match[2], urllib.parse.unquote(match[3]))
        stored = etcd_get(key)
        if stored is None:
            return self.reply(404, f"{match[2]} {match[3]} not found")
        etcd_delete(key)
        self.reply(200, from_storage(match[2], stored), "application/json")

    def evict(self, namespace, name):
        """policy/v1 Eviction. No PodDisruptionBudget exists here and no kubelet runs pods, so the pod goes at once
        (the real one deletes it gracefully and answers 429 while a budget forbids it)."""
        if not self.may_write():
            return self.reply(403, f"forbidden: {self.identity()} may not evict")
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if body.get("kind") != "Eviction" or (body.get("metadata") or {}).get("name") != name:
            return self.reply(400, "the body must be an Eviction naming the pod")
        key = object_key(namespace, "pods", name)
        if etcd_get(key) is None:
            return self.reply(404, f'pods "{name}" not found')
        etcd_delete(key)
        self.reply(201, json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Success"}), "application/json")

    def do_PUT(self):
        """An update: of a Node's status only (the one subresource stored here)."""
        node_status = NODE_STATUS_PATH.match(self.path.split("?")[0])
        if not node_status:
            return self.reply(405, "this stand-in updates nodes/<name>/status only")
        return self.patch_node_status(urllib.parse.unquote(node_status[1]), replace=True)

    def patch_node_status(self, name, replace=False):
        """The status subresource: only .status changes; the Node's own kubelet (Node authorizer) or a writer may write it.
        A patch merges conditions by type, as a strategic merge patch of NodeStatus does; an update (PUT) replaces the status."""
        user, _ = self.identity()
        if user != f"system:node:{name}" and not self.may_write():
            return self.reply(403, f"forbidden: {user} may not patch nodes/{name}/status")
        key = object_key(None, "nodes", name)
        stored = etcd_get(key)
        if stored is None:
            return self.reply(404, f'nodes "{name}" not found')
        current = json.loads(from_storage("nodes", stored))
        status = (json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))) or {}).get("status") or {}
        merged = dict(status) if replace else merge_patch(current.get("status"), {k: v for k, v in status.items() if k != "conditions"})
        if "conditions" in status and not replace:
            by_type = {c.get("type"): c for c in (current.get("status") or {}).get("conditions") or []}
            by_type.update({c.get("type"): c for c in status["conditions"]})
            merged["conditions"] = list(by_type.values())
        current["status"] = merged
        current["metadata"]["resourceVersion"] = str(time.time_ns())
        etcd_put(key, to_storage("nodes", json.dumps(current).encode()))
        self.reply(200, json.dumps(current), "application/json")

    def merge(self, namespace, resource, name):
        key = object_key(namespace, resource, name)
        stored = etcd_get(key)
        if stored is None:
            return self.reply(404, f"{resource} {name} not found")
        current = json.loads(from_storage(resource, stored))
        patch = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        expected = (patch.get("metadata") or {}).get("resourceVersion")
        if expected and expected != current["metadata"].get("resourceVersion"):
            return self.reply(409, f"Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified")
        obj = merge_patch(current, patch)
        obj["metadata"]["resourceVersion"] = str(time.time_ns())
        etcd_put(key, to_storage(resource, json.dumps(obj).encode()))
        self.reply(200, json.dumps(obj), "application/json")


api = serve(flags.get("bind-address", "0.0.0.0"), flags.get("secure-port", "6443"), ApiHandler,
            (flags["tls-cert-file"], flags["tls-private-key-file"], flags["client-ca-file"], False))
terminate_gracefully(api, go_duration_seconds(flags.get("shutdown-delay-duration")))
wait_until(f"etcd at {flags['etcd-servers']}", check_etcd)
block_forever()
