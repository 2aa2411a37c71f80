// The host keys one run trusts: the read-only known_hosts files plus kubeinstall's own file in the
// cluster folder, read once; keys trusted on first use are appended there, one write at a time.
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KubeinstallError, UsageError } from '../util/errors.js';
import type { ConnectDeps } from './connection.js';
import { decideHostKey, noRecordedKeyType } from './host-key.js';
import { hostKeyStatus, keyTypeOfBlob, knownKeyTypes, parseKnownHosts, recordedFor, type KnownHostEntry } from './known-hosts.js';
import { readIfExists } from './local-files.js';
import type { ResolvedTarget } from './target.js';

export interface KnownHostsStoreOptions {
  readonly files: readonly string[];
  /** kubeinstall's own known_hosts: read, and where accept-new records keys. */
  readonly clusterFile: string;
  /** The explicit flag that turns checking off (and allows `hostKeyPolicy: off`). */
  readonly insecureSkipHostKeyCheck: boolean;
  readonly log: (line: string) => void;
  readonly warn: (message: string) => void;
}

export type KnownHostsStore = Pick<ConnectDeps, 'recordedKeyTypes' | 'judgeHostKey' | 'recordHostKey'> & {
  /** Refuses `hostKeyPolicy: off` without the flag, and warns once per host whose key goes unchecked. */
  admit(hop: ResolvedTarget): void;
};

export const createKnownHostsStore = (o: KnownHostsStoreOptions): KnownHostsStore => {
  let known: Promise<KnownHostEntry[]> | undefined;
  const entries = (): Promise<KnownHostEntry[]> =>
    (known ??= Promise.all([...o.files, o.clusterFile].map(async (f) => parseKnownHosts(await readIfExists(f), f))).then((lists) => lists.flat()));
  let recording = Promise.resolve();
  const record = (line: string): Promise<void> =>
    (recording = recording.then(async () => {
      await mkdir(dirname(o.clusterFile), { recursive: true });
      await appendFile(o.clusterFile, `${line}\n`, { mode: 0o644 });
      (await entries()).push(...parseKnownHosts(line, o.clusterFile));
    }));
  const checksOff = (t: ResolvedTarget): boolean => o.insecureSkipHostKeyCheck || t.hostKeyPolicy === 'off';
  const warnedUnchecked = new Set<string>();

  return {
    admit: (hop) => {
      if (hop.hostKeyPolicy === 'off' && !o.insecureSkipHostKeyCheck) {
        throw new UsageError(`${hop.label}: hostKeyPolicy "off" needs the explicit --insecure-skip-host-key-check flag`);
      }
      if (checksOff(hop) && !warnedUnchecked.has(hop.hostname)) {
        warnedUnchecked.add(hop.hostname);
        o.warn(`${hop.label}: the host key of ${hop.hostname} is NOT checked; anyone on the network path can impersonate it`);
      }
    },
    recordedKeyTypes: async (t) => (checksOff(t) ? [] : knownKeyTypes(await entries(), t.hostname, t.port)),
    judgeHostKey: async (t, blob) => {
      if (!blob) return noRecordedKeyType(t.hostname, t.port, recordedFor(await entries(), t.hostname, t.port));
      const presented = { host: t.hostname, port: t.port, keyType: keyTypeOfBlob(blob), key: blob.toString('base64') };
      const status = hostKeyStatus(await entries(), presented.host, presented.port, presented.key);
      return decideHostKey(checksOff(t) ? 'off' : t.hostKeyPolicy, status, presented, o.clusterFile);
    },
    recordHostKey: async (t, decision) => {
      try {
        await record(decision.line);
      } catch (err) {
        throw new KubeinstallError(`${t.label}: cannot record the host key of ${t.hostname} in ${o.clusterFile}: ${(err as Error).message}`);
      }
      const notice = `${t.label}: recorded the new host key ${decision.shown} of ${t.hostname}:${t.port} in ${o.clusterFile}`;
      o.log(notice);
      o.warn(notice);
    },
  };
};
