// Talks HTTPS to the API servers from this machine with the admin kubeconfig's client certificate:
// readiness probes, server-side apply of the manifests the plan brings (RBAC, CoreDNS), and Nodes' labels, taints and status.
// The same probes and apply from a master, for masters this machine does not reach: on-host.ts.
import { request } from 'node:https';
import yaml from 'js-yaml';
import type { KubeconfigContent } from '../kubeconfig/kubeconfig.js';
import { KubeinstallError } from '../util/errors.js';
import type { HostRequest } from './on-host.js';

export interface HttpsResult {
  readonly status: number;
  readonly body: string;
}

export const httpsRequest = (
  url: string,
  creds: KubeconfigContent,
  opts: {
    readonly method?: string;
    readonly body?: string;
    readonly contentType?: string;
    readonly timeoutMs?: number;
    /** false for components that serve a self-signed certificate (as kubeadm probes them). */
    readonly verifyServer?: boolean;
  } = {},
): Promise<HttpsResult> =>
  new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: creds.caPem,
        rejectUnauthorized: opts.verifyServer ?? true,
        cert: creds.certPem,
        key: creds.keyPem,
        timeout: opts.timeoutMs ?? 5000,
        headers: opts.body === undefined ? {} : { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(opts.body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${opts.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const GIVE_UP_CHECK_EVERY = 6;

/** Polls `url` until it answers 200; returns the last problem seen when it never does. */
export const waitForHttps = async (
  url: string,
  creds: KubeconfigContent,
  opts: {
    readonly timeoutMs: number;
    readonly signal: AbortSignal;
    readonly verifyServer: boolean;
    /** Asked now and then while waiting: a reason to stop waiting (the service crashed), if any. */
    readonly giveUp?: () => Promise<string | undefined>;
  },
): Promise<string | undefined> => {
  const { timeoutMs, signal } = opts;
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  for (let attempt = 1; !signal.aborted; attempt++) {
    const reason = attempt % GIVE_UP_CHECK_EVERY === 0 ? await opts.giveUp?.() : undefined;
    if (reason) return `${reason}; last probe: ${last}`;
    try {
      const res = await httpsRequest(url, creds, { timeoutMs: 3000, verifyServer: opts.verifyServer });
      if (res.status === 200) return undefined;
      last = `HTTP ${res.status}: ${res.body.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) return last;
    await sleep(500);
  }
  return 'interrupted';
};

/** Where each kind of object the plan applies lives in the API: its resource, and whether it sits in a namespace. */
const RESOURCES: Readonly<Record<string, { readonly resource: string; readonly namespaced: boolean }>> = {
  ClusterRole: { resource: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { resource: 'clusterrolebindings', namespaced: false },
  ServiceAccount: { resource: 'serviceaccounts', namespaced: true },
  ConfigMap: { resource: 'configmaps', namespaced: true },
  Deployment: { resource: 'deployments', namespaced: true },
  Service: { resource: 'services', namespaced: true },
};

interface ObjectHead {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

export const applyPath = (obj: ObjectHead, source: string): string => {
  const where = RESOURCES[obj.kind];
  if (!where) throw new KubeinstallError(`${source}: cannot apply a ${obj.kind}; kubeinstall applies ${Object.keys(RESOURCES).join(', ')}`);
  if (where.namespaced && !obj.metadata.namespace) throw new KubeinstallError(`${source}: ${obj.kind} ${obj.metadata.name} has no metadata.namespace`);
  // the core group ("v1") is served under /api, the named groups under /apis
  const group = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const namespace = where.namespaced ? `/namespaces/${encodeURIComponent(obj.metadata.namespace!)}` : '';
  return `${group}${namespace}/${where.resource}/${encodeURIComponent(obj.metadata.name)}?fieldManager=kubeinstall&force=true`;
};

/** Server-side apply of a manifest: one idempotent PATCH per object, so a re-run changes nothing. */
export const applyRequests = (name: string, text: string): (HostRequest & { readonly what: string })[] =>
  (yaml.loadAll(text) as (ObjectHead | null)[])
    .filter((obj): obj is ObjectHead => Boolean(obj))
    .map((obj) => ({
      what: `${obj.kind}/${obj.metadata.name}`,
      method: 'PATCH',
      path: applyPath(obj, name),
      body: JSON.stringify(obj),
      contentType: 'application/apply-patch+yaml',
    }));

export const applyFailed = (what: string, name: string, server: string, status: number, body: string): KubeinstallError =>
  new KubeinstallError(`applying ${what} from ${name} to ${server}: HTTP ${status}: ${body.slice(0, 300)}`);

/** Applies a manifest from this machine. */
export const applyManifest = async (server: string, creds: KubeconfigContent, name: string, text: string): Promise<string[]> => {
  const applied: string[] = [];
  for (const r of applyRequests(name, text)) {
    const res = await directApi(server, creds)(r);
    if (res.status < 200 || res.status >= 300) throw applyFailed(r.what, name, server, res.status, res.body);
    applied.push(r.what);
  }
  return applied;
};

/** How a request reaches the API server: from this machine, or from a master over SSH (phases/nodes.ts). */
export type ApiTransport = (request: HostRequest) => Promise<HttpsResult>;

export const directApi =
  (server: string, creds: KubeconfigContent): ApiTransport =>
  (r) =>
    httpsRequest(server + r.path, creds, { method: r.method, body: r.body, contentType: r.contentType });

const nodePath = (name: string): string => `/api/v1/nodes/${encodeURIComponent(name)}`;

/** A Node as the API returns it, or undefined while it is not registered. */
export const getNode = async (api: ApiTransport, name: string): Promise<unknown> => {
  const res = await api({ method: 'GET', path: nodePath(name) });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new KubeinstallError(`reading Node ${name}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body);
};

/** A JSON merge patch of a Node; the status says whether it applied (409: the Node changed meanwhile). */
export const patchNode = (api: ApiTransport, name: string, patch: object): Promise<HttpsResult> =>
  api({ method: 'PATCH', path: nodePath(name), body: JSON.stringify(patch), contentType: 'application/merge-patch+json' });
