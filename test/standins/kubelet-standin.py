#!/usr/bin/env python3
# Stand-in for the kubelet: its KubeletConfiguration, the container runtime's socket, the API server
# through its kubeconfig, which it registers its Node with and keeps reaching (healthy only while it does);
# serves TLS requiring client certs from authentication.x509.clientCAFile. Posts the Node's Ready condition as
# the real kubelet does, from what containerd would report: NotReady (NetworkPluginNotReady) while no CNI config in
# containerd's conf_dir names plugins present in its bin_dir, and while the sandbox image is not in containerd's
# k8s.io namespace (asked with ctr: the real kubelet would start no pod without it).
import shutil
import tomllib

flags = parse_flags(sys.argv[1:])
require_flag_files(flags)
config = read_yaml(require(flags.get("config"), "--config"), "--config")
if config.get("kind") != "KubeletConfiguration":
    fail(f"--config {flags['config']}: kind must be KubeletConfiguration")
for field in ("tlsCertFile", "tlsPrivateKeyFile"):
    require(config.get(field), f"{flags['config']}: {field}")
check_pair(config["tlsCertFile"], config["tlsPrivateKeyFile"], "kubelet serving cert")
client_ca = require(dig(config, "authentication", "x509", "clientCAFile"), f"{flags['config']}: authentication.x509.clientCAFile")
if not os.path.isfile(client_ca):
    fail(f"authentication.x509.clientCAFile {client_ca}: no such file")
with open("/proc/swaps") as f:
    if config.get("failSwapOn", True) and len(f.read().strip().split("\n")) > 1:
        fail("running with swap on is not supported, please disable swap or set failSwapOn to false")
server, client = kubeconfig_client(require(flags.get("kubeconfig"), "--kubeconfig"))
runtime = (config.get("containerRuntimeEndpoint") or "unix:///run/containerd/containerd.sock").replace("unix://", "")


node_name = flags.get("hostname-override") or socket.gethostname()


CONTAINERD_CONFIG = "/etc/containerd/config.toml"
# containerd 1.6's defaults where its config says nothing
CNI_DEFAULTS = {"conf_dir": "/etc/cni/net.d", "bin_dir": "/opt/cni/bin"}
DEFAULT_SANDBOX_IMAGE = "registry.k8s.io/pause:3.6"
CNI_CONFIG_EXTENSIONS = (".conf", ".conflist", ".json")  # what libcni's ConfFiles reads
NETWORK_NOT_READY = ("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                     "message:Network plugin returns error: cni plugin not initialized")
# The real kubelet asks the runtime for its status every 5 s, reports a change at once and otherwise every
# nodeStatusReportFrequency (5 min; sooner here).
RUNTIME_CHECK_SECONDS = 5
HEARTBEAT_SECONDS = 60


def containerd_cri():
    try:
        with open(CONTAINERD_CONFIG, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        doc = {}
    return (doc.get("plugins") or {}).get("io.containerd.grpc.v1.cri") or {}


def normalized_image(ref):
    """containerd's reference normalization: a name without a registry is docker.io's (library/ for one word)."""
    first = ref.split("/")[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref if '/' in ref else 'library/' + ref}"


def plugin_types(config):
    """The plugin types a CNI config file names (a .conflist's list, or a .conf's one), or None when it does not parse."""
    try:
        with open(config) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or not doc.get("name"):
        return None
    plugins = doc.get("plugins") if config.endswith(".conflist") else [doc]
    types = [p.get("type") for p in plugins or [] if isinstance(p, dict)]
    return types if types and all(types) else None


def network_ready(cni):
    """As containerd: the first CNI config file (sorted) must load, and here also name plugins its bin_dir has."""
    conf_dir = cni.get("conf_dir") or CNI_DEFAULTS["conf_dir"]
    bin_dirs = cni.get("bin_dirs") or [cni.get("bin_dir") or CNI_DEFAULTS["bin_dir"]]
    try:
        files = sorted(f for f in os.listdir(conf_dir) if f.endswith(CNI_CONFIG_EXTENSIONS))
    except OSError:
        files = []
    if not files:
        return False
    types = plugin_types(os.path.join(conf_dir, files[0]))
    return types is not None and all(any(os.access(os.path.join(d, t), os.X_OK) for d in bin_dirs) for t in types)


def sandbox_image_present(image):
    ctr = shutil.which("ctr", path=f"{os.environ.get('PATH', '')}:/usr/local/bin:/usr/bin")
    if not ctr:
        return False, "cannot ask containerd for its images: no ctr on this host"
    try:
        listed = subprocess.run([ctr, "--address", runtime, "-n", "k8s.io", "images", "ls", "-q"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return False, "ctr images ls: containerd did not answer within 20 s"
    if listed.returncode != 0:
        return False, f"ctr images ls: {listed.stderr.strip()[:200]}"
    return image in listed.stdout.split(), None


def runtime_readiness():
    """(ready, reason, message) of the Ready condition, from containerd's config and its images."""
    cri = containerd_cri()
    if not network_ready(cri.get("cni") or {}):
        return False, "KubeletNotReady", NETWORK_NOT_READY
    image = normalized_image(cri.get("sandbox_image") or DEFAULT_SANDBOX_IMAGE)
    present, problem = sandbox_image_present(image)
    if not present:
        why = problem or f"sandbox image {image} is not in containerd's k8s.io namespace"
        return False, "KubeletNotReady", f"container runtime not ready: RuntimeReady=false reason:SandboxImageMissing message:{why}"
    return True, "KubeletReady", "kubelet is posting ready status"


CONDITION = {}


def ready_condition(ready, reason, message):
    """The Ready condition; lastTransitionTime moves only when the status does, as the real one."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = "True" if ready else "False"
    if CONDITION.get("status") != status:
        CONDITION["lastTransitionTime"] = now
    CONDITION.update({"type": "Ready", "status": status, "reason": reason, "message": message, "lastHeartbeatTime": now})
    return dict(CONDITION)


def post_status(readiness):
    """What the real kubelet sends: a patch of nodes/<name>/status (the conditions list merges by type)."""
    patch = {"status": {"conditions": [ready_condition(*readiness)]}}
    status, body = client.call(f"{server}/api/v1/nodes/{node_name}/status", "PATCH", json.dumps(patch), "application/strategic-merge-patch+json")
    if status != 200:
        raise RuntimeError(f"updating Node {node_name} status: HTTP {status} {body[:200]!r}")


def register_node():
    """As the real kubelet: create its Node through its kubeconfig (409: registered before), only the
    labels a kubelet may set itself (NodeRestriction refuses node-role.kubernetes.io/*)."""
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node_name, "labels": {
        "kubernetes.io/hostname": node_name, "kubernetes.io/os": "linux", "kubernetes.io/arch": os.uname().machine}},
        # registerWithTaints: the taints the real kubelet creates its Node with (only at registration).
        "spec": {"taints": config.get("registerWithTaints") or []},
        "status": {"addresses": [{"type": "InternalIP", "address": flags.get("node-ip", "")}, {"type": "Hostname", "address": node_name}],
                   # as the real kubelet, the Node is created with its status conditions already set
                   "conditions": [ready_condition(*runtime_readiness())]}}
    status, body = client.call(f"{server}/api/v1/nodes", "POST", json.dumps(node))
    if status not in (201, 409):
        raise RuntimeError(f"registering Node {node_name} with {server}: HTTP {status} {body[:200]!r}")


def runtime_and_api_server():
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(runtime)
    api_server_ready(server, client)


anonymous = dig(config, "authentication", "anonymous", "enabled")
serve(config.get("address", "0.0.0.0"), config.get("port", 10250), HealthHandler,
      (config["tlsCertFile"], config["tlsPrivateKeyFile"], client_ca, anonymous is not True))
if config.get("healthzPort", 10248):
    serve(config.get("healthzBindAddress", "127.0.0.1"), config.get("healthzPort", 10248), HealthHandler)
wait_until(f"container runtime {runtime}, API server {server}, Node {node_name} registered", lambda: (runtime_and_api_server(), register_node()))
# The real kubelet keeps reaching the API server (node status, leases): a kubelet that lost it is unhealthy.
posted, posted_at, checked_at = None, time.monotonic(), 0.0
while True:
    time.sleep(2)
    try:
        runtime_and_api_server()
        if not READY.is_set():
            log(f"API server {server}: reachable again")
        READY.set()
        if time.monotonic() - checked_at < RUNTIME_CHECK_SECONDS and posted is not None:
            continue
        readiness, checked_at = runtime_readiness(), time.monotonic()
        if readiness != posted or time.monotonic() - posted_at >= HEARTBEAT_SECONDS:
            post_status(readiness)
            if readiness != posted:
                log(f"Node {node_name} Ready={readiness[0]}: {readiness[1]}: {readiness[2]}")
            posted, posted_at = readiness, time.monotonic()
    except Exception as err:  # any failure: the health endpoints say so until it is reachable again
        if READY.is_set():
            log(f"lost the container runtime or API server {server}: {err}")
        READY.clear()
