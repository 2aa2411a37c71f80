#!/usr/bin/env python3
# Stand-in for kube-controller-manager, kube-scheduler and kube-proxy: components whose only
# dependency is the API server, reached with their own kubeconfig's client certificate.

flags = parse_flags(sys.argv[1:])
require_flag_files(flags)
config = read_yaml(flags["config"], "--config") if "config" in flags else {}
kubeconfig = flags.get("kubeconfig") or dig(config, "clientConnection", "kubeconfig")
if not kubeconfig or not os.path.isfile(kubeconfig):
    fail(f"no usable kubeconfig (--kubeconfig or clientConnection.kubeconfig in --config): {kubeconfig}")
server, client = kubeconfig_client(kubeconfig)

if COMPONENT == "kube-proxy":
    if config.get("kind") != "KubeProxyConfiguration":
        fail(f"--config {flags.get('config')}: kind must be KubeProxyConfiguration")
    address, _, port = (config.get("healthzBindAddress") or "0.0.0.0:10256").rpartition(":")
    serve(address, port, HealthHandler)
else:
    if COMPONENT == "kube-scheduler" and config and config.get("kind") != "KubeSchedulerConfiguration":
        fail(f"--config {flags['config']}: kind must be KubeSchedulerConfiguration")
    if COMPONENT == "kube-controller-manager" and "cluster-signing-cert-file" in flags:
        signing = flags["cluster-signing-cert-file"]
        check_pair(signing, require(flags.get("cluster-signing-key-file"), "--cluster-signing-key-file"), "cluster signing CA")
        # the real CSR signer (pkg/controller/certificates/signer caProvider.setCA) refuses a bundle
        with open(signing) as f:
            found = f.read().count("-----BEGIN CERTIFICATE-----")
        if found != 1:
            fail(f'error reading CA cert file "{signing}": expected 1 certificate, found {found}')
    address = flags.get("bind-address", "0.0.0.0")
    port = flags.get("secure-port", "10257" if COMPONENT == "kube-controller-manager" else "10259")
    if "tls-cert-file" in flags:
        check_pair(flags["tls-cert-file"], require(flags.get("tls-private-key-file"), "--tls-private-key-file"), "serving cert")
        cert, key = flags["tls-cert-file"], flags["tls-private-key-file"]
    else:
        cert, key = self_signed(address)
    # /healthz is always allowed on the real components, so a client cert is optional here
    serve(address, port, HealthHandler, (cert, key, flags.get("client-ca-file"), False))

wait_until(f"API server {server}", lambda: api_server_ready(server, client))
block_forever()
