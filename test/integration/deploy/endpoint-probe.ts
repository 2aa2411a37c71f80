// A client of the API endpoint through a whole roll: one GET every `intervalMs` on a fresh TLS connection
// (a kept-alive one would hide a refused connect, and a balancer cutting an idle one would count against
// the endpoint), each with the admin client certificate and the server checked against the cluster CA.
// Credentials given as a function are read for every request, as an operator's kubectl re-reads admin.conf:
// a CA rotation re-issues the admin certificate and later stops trusting the old one.
// A request fails on any answer but 200, a connection error, or no answer within the interval's budget.
import { request } from 'node:https';
import type { KubeconfigContent } from '../../../src/kubeconfig/kubeconfig.js';

export interface ProbeReport {
  readonly requests: number;
  readonly failures: number;
  /** The first failures: when (ms after the start) and what. */
  readonly failureSamples: readonly string[];
}

const SAMPLES = 10;
const TIMEOUT_MS = 3000;

const once = (url: string, creds: KubeconfigContent): Promise<string | undefined> =>
  new Promise((resolve) => {
    const req = request(url, { ca: creds.caPem, cert: creds.certPem, key: creds.keyPem, agent: false, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 100)}`));
      res.on('error', (err) => resolve(err.message));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve(err.message));
    req.end();
  });

export const startEndpointProbe = (
  url: string,
  creds: KubeconfigContent | (() => KubeconfigContent),
  { intervalMs }: { readonly intervalMs: number },
): { stop(): Promise<ProbeReport> } => {
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();
  let requests = 0;
  let failures = 0;
  const failureSamples: string[] = [];
  const tick = (): void => {
    requests++;
    const sent = Date.now() - started;
    // A file an operator's client could not read is a failure too.
    const current = new Promise<KubeconfigContent>((resolve) => resolve(typeof creds === 'function' ? creds() : creds));
    const p = current
      .then(
        (c) => once(url, c),
        (err: Error) => `credentials: ${err.message}`,
      )
      .then((problem) => {
        if (problem === undefined) return;
        failures++;
        if (failureSamples.length < SAMPLES) failureSamples.push(`+${sent} ms: ${problem}`);
      });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  tick();
  // Every interval whether or not the last answered: a slow endpoint must not thin the probe out.
  const timer = setInterval(tick, intervalMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      return { requests, failures, failureSamples };
    },
  };
};
