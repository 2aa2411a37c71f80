// `kubeinstall etcd backup`: `etcdctl snapshot save` on one healthy member (a follower first: the
// leader is busiest, so it is the last choice), streamed to this machine, checked there (sha256,
// etcd's trailing checksum, `snapshot status` with the binaries folder's etcdctl) and only then put in
// place with its sidecar; `--keep N` then prunes the oldest. Nothing is left half-written: the file
// is written beside its final name and renamed, and the copy on the member is always removed.
import { createHash, randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { etcdctl, etcdEndpoint } from '../deploy/etcd-client.js';
import type { Layout } from '../deploy/manager.js';
import { runOperation, withSession, type Session } from '../deploy/operation.js';
import type { DeployContext, Phase } from '../deploy/types.js';
import type { HostPlan } from '../render/types.js';
import { KubeinstallError, UsageError, systemReason, type Problem } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { quote } from '../util/shell.js';
import {
  BACKUP_DIR_MODE,
  BACKUPS_FOLDER,
  backupFileName,
  backupsToPrune,
  checkTrailingSha,
  localEtcdctl,
  localSnapshotStatus,
  parseMemberList,
  SNAPSHOT_MODE,
  sidecarPath,
  type MemberEntry,
  type Sidecar,
} from './snapshot-file.js';

/** Where the member writes the snapshot before it is streamed here; root's only, emptied after. */
const REMOTE_DIR = '/var/lib/kubeinstall/etcd-backup';
/** A snapshot of a large keyspace takes longer than a health check. */
const SNAPSHOT_TIMEOUT = '10m';

export interface MemberHealth {
  readonly member: string;
  readonly healthy: boolean;
  readonly leader: boolean;
  readonly version?: string;
  readonly problem?: string;
}

/** `endpoint status -w json` of one member. Compared as text: member IDs are 64-bit, past JSON's exact integers. */
export const parseEndpointStatus = (stdout: string): { leader: boolean; version: string } => {
  const member = /"member_id":(\d+)/.exec(stdout)?.[1];
  const leader = /"leader":(\d+)/.exec(stdout)?.[1];
  const version = /"version":"([^"]+)"/.exec(stdout)?.[1];
  if (!member || !version) throw new Error(`unexpected endpoint status: ${stdout.trim().slice(0, 200)}`);
  return { leader: member === leader, version };
};

/** Healthy followers in inventory order, then a healthy leader; undefined when no member is healthy. */
export const pickMember = (members: readonly MemberHealth[]): MemberHealth | undefined =>
  members.find((m) => m.healthy && !m.leader) ?? members.find((m) => m.healthy);

export interface BackupRequest {
  readonly inventory: string;
  /** The snapshot file; default `<cluster folder>/backups/<cluster>-etcd-<time>.db`. */
  readonly output?: string;
  /** Keep only the newest N backups of the cluster in the snapshot's folder. */
  readonly keep?: number;
  readonly layout: Layout;
  readonly signal: AbortSignal;
  readonly insecureSkipHostKeyCheck?: boolean;
  readonly onWarnings?: (warnings: readonly Problem[]) => void;
  readonly warn?: (message: string) => void;
}

export interface BackupResult {
  readonly path: string;
  readonly sidecar: Sidecar;
  readonly pruned: readonly string[];
  readonly logPath: string;
  readonly durationMs: number;
}

/** What the phases found and fetched, for the local steps after them. */
interface Fetched {
  health: MemberHealth[];
  chosen?: HostPlan;
  members?: MemberEntry[];
  sha256?: string;
  size?: number;
}

const members = (ctx: DeployContext): HostPlan[] => ctx.plan.hosts.filter((hp) => hp.services.some((s) => s.phase === 'etcd'));

const MIB = 1048576;
const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;

/** Every member is asked; an unreachable or unhealthy one is noted, not fatal: one healthy member is enough. */
const statusPhase = (fetched: Fetched): Phase => ({
  name: 'members',
  title: 'Find a healthy member',
  hosts: members,
  steps: () => [
    {
      title: 'endpoint status',
      run: async (ctx, hp) => {
        try {
          const { stdout } = await ctx.executor.exec(hp.host, etcdctl(hp, [etcdEndpoint(hp)], ['endpoint', 'status', '-w', 'json']), {
            step: 'etcd endpoint status',
            sudo: true,
          });
          const { leader, version } = parseEndpointStatus(stdout);
          fetched.health.push({ member: hp.host.name, healthy: true, leader, version });
          return `healthy, etcd ${version}${leader ? ', leader' : ''}`;
        } catch (err) {
          const problem = (err as Error).message.split('\n')[0]!;
          fetched.health.push({ member: hp.host.name, healthy: false, leader: false, problem });
          return `not usable: ${problem}`;
        }
      },
    },
  ],
  finish: async (ctx) => {
    const order = members(ctx).map((hp) => hp.host.name);
    fetched.health.sort((a, b) => order.indexOf(a.member) - order.indexOf(b.member));
    const pick = pickMember(fetched.health);
    if (!pick)
      throw new KubeinstallError(
        `no healthy etcd member to take a snapshot from; nothing was written:\n${fetched.health.map((m) => `  ${m.member}: ${m.problem}`).join('\n')}`,
      );
    fetched.chosen = members(ctx).find((hp) => hp.host.name === pick.member);
    return `snapshot from ${pick.member} (${pick.leader ? 'the leader: no healthy follower' : 'a follower'})`;
  },
});

/** Streams `remote` into `tmp` (0600, created new), hashing on the way; returns its sha256 and size. */
const fetchFile = async (ctx: DeployContext, hp: HostPlan, remote: string, tmp: string, progress: (text: string) => void): Promise<[string, number]> => {
  const { stdout } = await ctx.executor.exec(hp.host, `stat -c %s ${quote(remote)}`, { step: 'snapshot size', sudo: true });
  const total = Number(stdout.trim());
  const hash = createHash('sha256');
  let done = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      done += chunk.length;
      progress(`${mib(done)} of ${mib(total)}`);
      callback(null, chunk);
    },
  });
  // O_EXCL|O_NOFOLLOW: a fresh file of our own, never something planted under the name.
  const file = createWriteStream(tmp, { fd: await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, SNAPSHOT_MODE) });
  tap.pipe(file);
  await ctx.executor.execToSink(hp.host, `cat ${quote(remote)}`, tap, { step: 'copy the snapshot here', sudo: true }).catch((err: unknown) => {
    file.destroy(); // closes the file; the caller removes it
    throw err;
  });
  await finished(file); // written and closed
  const written = await open(tmp, 'r');
  await written.sync().finally(() => written.close());
  if (done !== total) throw new KubeinstallError(`the snapshot copied from ${hp.host.name} has ${done} bytes, ${total} on the member`);
  return [hash.digest('hex'), done];
};

const snapshotPhase = (fetched: Fetched, tmp: string): Phase => ({
  name: 'snapshot',
  title: 'Take the snapshot',
  hosts: () => (fetched.chosen ? [fetched.chosen] : []),
  steps: () => [
    {
      title: 'member list',
      run: async (ctx, hp) => {
        const { stdout } = await ctx.executor.exec(hp.host, etcdctl(hp, [etcdEndpoint(hp)], ['member', 'list', '-w', 'simple']), {
          step: 'etcd member list',
          sudo: true,
        });
        fetched.members = parseMemberList(stdout);
        return fetched.members.map((m) => m.name).join(', ');
      },
    },
    {
      title: 'save and copy here',
      run: async (ctx, hp, progress) => {
        const remote = `${REMOTE_DIR}/${basename(tmp)}`;
        try {
          progress('etcdctl snapshot save');
          await ctx.executor.exec(
            hp.host,
            `umask 077 && mkdir -p ${REMOTE_DIR} && ${etcdctl(hp, [etcdEndpoint(hp)], ['snapshot', 'save', remote], SNAPSHOT_TIMEOUT)}`,
            { step: 'etcd snapshot save', sudo: true },
          );
          const [sha256, size] = await fetchFile(ctx, hp, remote, tmp, progress);
          Object.assign(fetched, { sha256, size });
        } finally {
          // Also after a failure: a snapshot holds every Secret, no copy stays behind on the member.
          await ctx.executor.exec(hp.host, `rm -f ${quote(remote)} ${quote(`${remote}.part`)}`, { step: 'remove the snapshot from the member', sudo: true });
        }
        return `${mib(fetched.size!)}, sha256 ${fetched.sha256!.slice(0, 12)}…`;
      },
    },
  ],
});

/** The folder a snapshot goes in: created private; one of ours is made private, another's is warned about. */
const prepareFolder = async (dir: string, ours: boolean, warn: (m: string) => void): Promise<void> => {
  await mkdir(dir, { recursive: true, mode: BACKUP_DIR_MODE }).catch((err: unknown) => {
    throw new KubeinstallError(`cannot create the backup folder ${dir}: ${systemReason(err)}`);
  });
  const { mode } = await stat(dir);
  if ((mode & 0o077) === 0) return;
  if (ours) await chmod(dir, BACKUP_DIR_MODE);
  else warn(`${dir} is readable by others (mode ${(mode & 0o777).toString(8)}); an etcd snapshot holds every Secret of the cluster: chmod 700 it`);
};

const prune = async (dir: string, cluster: string, keep: number): Promise<string[]> => {
  const doomed = backupsToPrune(await readdir(dir), cluster, keep);
  for (const name of doomed) {
    await rm(join(dir, name), { force: true }); // the snapshot first: a sidecar alone describes nothing
    await rm(sidecarPath(join(dir, name)), { force: true });
  }
  return doomed.map((n) => join(dir, n));
};

const runBackup = async (session: Session, req: BackupRequest, path: string, tmp: string): Promise<BackupResult> => {
  const { model } = session;
  const fetched: Fetched = { health: [] };
  const op = await runOperation({
    session,
    command: 'etcd-backup',
    phases: [statusPhase(fetched), snapshotPhase(fetched, tmp)],
    options: {
      dryRun: false,
      concurrency: 10,
      healthTimeoutMs: 60_000,
      ignorePreflight: new Set(),
      phases: new Set(['members', 'snapshot']),
      signal: req.signal,
    },
    layout: req.layout,
  });
  // Called good only once this machine has read it back as a snapshot.
  if ((await checkTrailingSha(tmp, fetched.size!)) === 'mismatch')
    throw new KubeinstallError(`the snapshot from ${fetched.chosen!.host.name} fails etcd's own checksum`);
  const status = await localSnapshotStatus(localEtcdctl(model.binariesDir), tmp);
  const sidecar: Sidecar = {
    kind: 'kubeinstall-etcd-backup',
    cluster: model.name,
    createdAt: new Date().toISOString(),
    snapshot: basename(path),
    sha256: fetched.sha256!,
    size: fetched.size!,
    takenFrom: fetched.chosen!.host.name,
    etcdVersion: fetched.health.find((m) => m.member === fetched.chosen!.host.name)?.version ?? model.etcdVersion,
    revision: status.revision,
    totalKeys: status.totalKey,
    members: fetched.members!,
  };
  await writeFileAtomic(sidecarPath(path), `${JSON.stringify(sidecar, null, 2)}\n`, { mode: SNAPSHOT_MODE, dirMode: BACKUP_DIR_MODE });
  await rename(tmp, path); // last: a snapshot in place always has its sidecar
  const pruned = req.keep === undefined ? [] : await prune(dirname(path), model.name, req.keep);
  return { path, sidecar, pruned, logPath: op.logPath, durationMs: op.durationMs };
};

export const backupEtcd = (req: BackupRequest): Promise<BackupResult> =>
  withSession(
    { inventory: req.inventory, concurrency: 10, insecureSkipHostKeyCheck: req.insecureSkipHostKeyCheck, onWarnings: req.onWarnings },
    async (session) => {
      const path = resolve(req.output ?? join(session.model.clusterDir, BACKUPS_FOLDER, backupFileName(session.model.name, new Date())));
      if (await stat(path).catch(() => undefined)) throw new UsageError(`${path} exists; a backup never replaces a file: choose another -o`);
      await prepareFolder(dirname(path), req.output === undefined, req.warn ?? ((m) => void process.stderr.write(`warning: ${m}\n`)));
      const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        return await runBackup(session, req, path, tmp);
      } finally {
        await rm(tmp, { force: true });
      }
    },
  );
