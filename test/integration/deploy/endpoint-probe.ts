// A probe of the API endpoint during a roll: a GET every `intervalMs` with the given client credentials,
// each on a new connection (as a new kubectl run makes one: a kept-alive connection would stay on one
// API server, and its end when that server restarts is the client's to retry, not the endpoint's outage).
// A request fails when it errors, times out or answers other than 2xx.
import { request } from 'node:https';
import type { KubeconfigContent } from '../../../src/kubeconfig/kubeconfig.js';

export interface ProbeResult {
  readonly requests: number;
  readonly failures: number;
  /** The first few failures: when (ms since the start) and why. */
  readonly failureSamples: readonly string[];
}

const MAX_SAMPLES = 10;

const getOnce = (url: string, creds: Pick<KubeconfigContent, 'caPem' | 'certPem' | 'keyPem'>, timeoutMs: number): Promise<string | undefined> =>
  new Promise((resolve) => {
    const req = request(url, { agent: false, ca: creds.caPem, cert: creds.certPem, key: creds.keyPem, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 300 ? undefined : `HTTP ${status}: ${Buffer.concat(chunks).toString('utf8').slice(0, 120)}`);
      });
      res.on('error', (err) => resolve(err.message));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve(err.message));
    req.end();
  });

export const startEndpointProbe = (
  url: string,
  creds: Pick<KubeconfigContent, 'caPem' | 'certPem' | 'keyPem'>,
  { intervalMs }: { readonly intervalMs: number },
): { stop(): Promise<ProbeResult> } => {
  const started = Date.now();
  let requests = 0;
  let failures = 0;
  const failureSamples: string[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const at = Date.now();
      const problem = await getOnce(url, creds, Math.max(intervalMs * 5, 2000));
      requests++;
      if (problem) {
        failures++;
        if (failureSamples.length < MAX_SAMPLES) failureSamples.push(`${at - started} ms: ${problem}`);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - at))));
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return { requests, failures, failureSamples };
    },
  };
};
