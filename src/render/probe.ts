// The health probe run on a host with its python3: by deploy over SSH (what listens on 127.0.0.1 there:
// controller-manager, scheduler, kubelet, kube-proxy, docs/render.md; and the API server of a master
// this machine does not reach), and by keepalived's check of the local API server on a master holding a
// VIP (src/render/keepalived.ts). One script, so both judge health the same way.
import { quote } from '../util/shell.js';

/** A URL probed on the host; `ca` (a path on the host) verifies the server, else any certificate is
 * accepted: controller-manager and scheduler serve self-signed ones, which kubeadm's probes accept too. */
export interface HostProbe {
  readonly url: string;
  readonly ca?: string;
}

// No proxy from the environment: every URL is the host's own or its cluster's.
const PROBE_PY = `import json, ssl, sys, urllib.request, urllib.error
bad = []
for p in json.loads(sys.argv[1]):
    ctx = ssl.create_default_context(cafile=p["ca"]) if p.get("ca") else ssl._create_unverified_context()
    try:
        code = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)).open(p["url"], timeout=3).status
    except urllib.error.HTTPError as e:
        code = e.code
    except Exception as e:
        bad.append(f"{p['url']}: {getattr(e, 'reason', e)}")
        continue
    if code != 200:
        bad.append(f"{p['url']}: HTTP {code}")
print("; ".join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)`;

/** One command that succeeds when every URL answers 200, naming the others on stderr. */
export const probeCommand = (probes: readonly HostProbe[]): string => `python3 -c ${quote(PROBE_PY)} ${quote(JSON.stringify(probes))}`;
