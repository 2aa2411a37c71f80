// etcd's health through a whole roll: `etcdctl endpoint health` of every member, polled from the runner. The client's
// files are asked for at every poll (etcdctl reads them at each run), so a poll through a CA rotation uses the
// certificates the cluster folder holds at that moment, as an operator's etcdctl would.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const sh = promisify(execFile);

export interface EtcdClientFiles {
  readonly cacert: string;
  readonly cert: string;
  readonly key: string;
}

export interface EtcdHealthReport {
  readonly polls: number;
  /** Polls where every member answered healthy. */
  readonly allHealthy: number;
  /** What etcdctl said at each poll where fewer than a quorum answered healthy. */
  readonly noQuorum: readonly string[];
}

export const startEtcdHealthPoll = (
  endpoints: readonly string[],
  files: () => EtcdClientFiles | Promise<EtcdClientFiles>,
  intervalMs: number,
): { stop(): Promise<EtcdHealthReport> } => {
  let polls = 0;
  let allHealthy = 0;
  const noQuorum: string[] = [];
  let stopping = false;
  const quorum = Math.floor(endpoints.length / 2) + 1;
  const loop = (async () => {
    while (!stopping) {
      const { cacert, cert, key } = await files();
      const out = await sh(
        'etcdctl',
        [`--endpoints=${endpoints.join(',')}`, `--cacert=${cacert}`, `--cert=${cert}`, `--key=${key}`, '--command-timeout=2s', 'endpoint', 'health'],
        { env: { ...process.env, ETCDCTL_API: '3' } },
      ).then(
        (r) => r.stdout + r.stderr,
        (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
      );
      polls++;
      const healthy = endpoints.filter((e) => out.includes(`${e} is healthy`)).length;
      if (healthy === endpoints.length) allHealthy++;
      if (healthy < quorum) noQuorum.push(out.trim().replace(/\n/g, ' | ').slice(0, 300));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return { polls, allHealthy, noQuorum };
    },
  };
};
