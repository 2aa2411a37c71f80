// HTTP(S) requests run on a host over SSH, with the host's python3: RBAC apply on a master that this
// machine does not reach directly (through a bastion). The health probes run there are render/probe.ts's.
import type { Host } from '../inventory/model.js';
import { quote } from '../util/shell.js';

/** API requests sent from the host with credentials read from stdin, so neither the key nor the certificate
 * is in the command line, the deploy log or a file that outlives it. One JSON answer a line, each request's. */
const REQUEST_PY = `import json, os, ssl, sys, tempfile, urllib.request
req = json.load(sys.stdin)
with tempfile.TemporaryDirectory() as d:
    cert, key = os.path.join(d, "cert"), os.path.join(d, "key")
    for path, pem in ((cert, req["certPem"]), (key, req["keyPem"])):
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(pem)
    ctx = ssl.create_default_context(cadata=req["caPem"])
    ctx.load_cert_chain(cert, key)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
for r in req["requests"]:
    data = r["body"].encode() if "body" in r else None
    headers = {"Content-Type": r["contentType"]} if "contentType" in r else {}
    http = urllib.request.Request(req["server"] + r["path"], data=data, method=r["method"], headers=headers)
    try:
        res = opener.open(http, timeout=10)
        status, body = res.status, res.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    print(json.dumps({"status": status, "body": body.decode(errors="replace")}), flush=True)`;

export interface HostRequest {
  readonly method: 'GET' | 'PATCH' | 'POST' | 'DELETE';
  readonly path: string;
  readonly body?: string;
  readonly contentType?: string;
}

export const requestCommand = `python3 -c ${quote(REQUEST_PY)}`;

export const requestStdin = (server: string, creds: { caPem: string; certPem: string; keyPem: string }, requests: readonly HostRequest[]): string =>
  JSON.stringify({ server, caPem: creds.caPem, certPem: creds.certPem, keyPem: creds.keyPem, requests });

/** Whether this machine talks to the host's listeners itself: not when SSH goes through a bastion,
 * which says the host's addresses are not reachable from here. */
export const reachedDirectly = (host: Host): boolean => host.ssh.bastion === undefined;
