#!/usr/bin/env python3
# Stand-in for the kubelet: its KubeletConfiguration, the container runtime's socket, the API server
# through its kubeconfig; serves TLS requiring client certs from authentication.x509.clientCAFile.

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


def runtime_and_api_server():
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(runtime)
    api_server_ready(server, client)


anonymous = dig(config, "authentication", "anonymous", "enabled")
serve(config.get("address", "0.0.0.0"), config.get("port", 10250), HealthHandler,
      (config["tlsCertFile"], config["tlsPrivateKeyFile"], client_ca, anonymous is not True))
if config.get("healthzPort", 10248):
    serve(config.get("healthzBindAddress", "127.0.0.1"), config.get("healthzPort", 10248), HealthHandler)
wait_until(f"container runtime {runtime} and API server {server}", runtime_and_api_server)
block_forever()
