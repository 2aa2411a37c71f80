#!/usr/bin/env python3
# Stand-in for the kubelet: its KubeletConfiguration, the container runtime's socket, the API server
# through its kubeconfig, which it registers its Node with and keeps reaching (healthy only while it does);
# serves TLS requiring client certs from authentication.x509.clientCAFile.

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


def register_node():
    """As the real kubelet: create its Node through its kubeconfig (409: registered before), only the
    labels a kubelet may set itself (NodeRestriction refuses node-role.kubernetes.io/*)."""
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node_name, "labels": {
        "kubernetes.io/hostname": node_name, "kubernetes.io/os": "linux", "kubernetes.io/arch": os.uname().machine}},
        # registerWithTaints: the taints the real kubelet creates its Node with (only at registration).
        "spec": {"taints": config.get("registerWithTaints") or []},
        "status": {"addresses": [{"type": "InternalIP", "address": flags.get("node-ip", "")}, {"type": "Hostname", "address": node_name}]}}
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
while True:
    time.sleep(2)
    try:
        runtime_and_api_server()
        if not READY.is_set():
            log(f"API server {server}: reachable again")
        READY.set()
    except Exception as err:  # any failure: the health endpoints say so until it is reachable again
        if READY.is_set():
            log(f"lost the container runtime or API server {server}: {err}")
        READY.clear()
