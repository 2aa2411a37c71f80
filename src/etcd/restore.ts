// `kubeinstall etcd restore FILE --yes`: the file is checked here first (sha256 against its sidecar,
// etcd's trailing checksum, `snapshot status` with the binaries folder's etcdctl), so a bad file is
// refused before any host is touched; then, with every member and master reached, the snapshot is sent
// to every member, the API servers and every member are stopped, each member's data dir is replaced by
// the restored snapshot (the old one renamed aside), the members start together, and the API servers
// start once etcd is healthy. An on-host marker (restore-host.ts) lets a re-run finish an interrupted one.
//
// The cluster token: the restore uses the one deploy renders (`<cluster>-etcd`), with the same
// initial cluster, so the rendered etcd config stays true and a later `deploy` changes nothing.
// etcd reads the token only when it bootstraps an empty data dir; the danger a new token guards against,
// a member with pre-restore data joining the restored cluster, cannot arise here: every member is
// stopped before any is restored, and none starts until all are (docs/operations.md).
import { etcdClusterToken, etcdInitialCluster, etcdPeerUrl } from '../render/etcd.js';
import { UNITS } from '../render/units.js';
import type { HostPlan } from '../render/types.js';
import { confirmDestructive } from '../cli/confirm.js';
import { Interrupted, type Layout } from '../deploy/manager.js';
import { runOperation, withSession } from '../deploy/operation.js';
import { connectPhase } from '../deploy/phases/connect.js';
import { apiServerServices, startAndWait } from '../deploy/phases/control-plane.js';
import { etcdPhase } from '../deploy/phases/etcd.js';
import { factsPhase } from '../deploy/phases/facts.js';
import { hostsRunning } from '../deploy/hosts.js';
import type { DeployContext, Phase } from '../deploy/types.js';
import { KubeinstallError, type Problem } from '../util/errors.js';
import {
  asidePath,
  parseMarker,
  prepareMarkerCommand,
  readMarkerCommand,
  removeMarkerCommand,
  RESTORE_SNAPSHOT,
  restoreCommand,
  writeMarkerCommand,
} from './restore-host.js';
import { checkSnapshotFile, localEtcdctl, SNAPSHOT_MODE, type CheckedSnapshot } from './snapshot-file.js';
import { ETCD_DATA_DIR } from '../render/paths.js';

export interface RestoreRequest {
  readonly inventory: string;
  readonly file: string;
  readonly yes: boolean;
  readonly layout: Layout;
  readonly signal: AbortSignal;
  /** How long to wait for etcd and each API server to become healthy. */
  readonly healthTimeoutMs: number;
  readonly insecureSkipHostKeyCheck?: boolean;
  readonly onWarnings?: (warnings: readonly Problem[]) => void;
  /** The file passed the checks: what it is, before the question. */
  readonly onChecked?: (snapshot: CheckedSnapshot) => void;
}

export interface RestoreResult {
  readonly snapshot: CheckedSnapshot;
  /** Where each member's old data dir is now. */
  readonly asides: ReadonlyMap<string, string>;
  readonly logPath: string;
  readonly durationMs: number;
}

const members = (ctx: DeployContext): HostPlan[] => hostsRunning(ctx, 'etcd');
const apiServers = (ctx: DeployContext): HostPlan[] => hostsRunning(ctx, 'control-plane').filter((hp) => apiServerServices(hp).length > 0);

/** The facts follow what this run did to the host: a stopped unit is started again by startUnits. */
const markStopped = (ctx: DeployContext, hp: HostPlan, unit: string): void => {
  const facts = ctx.facts.get(hp.host.name)!;
  ctx.facts.set(hp.host.name, { ...facts, unitStates: new Map([...facts.unitStates, [unit, 'inactive']]) });
};

const stopPhase = (name: string, title: string, unit: string, hosts: (ctx: DeployContext) => HostPlan[]): Phase => ({
  name,
  title,
  hosts,
  steps: () => [
    {
      title: `stop ${unit}`,
      run: async (ctx, hp) => {
        await ctx.executor.exec(hp.host, `systemctl stop ${unit}`, { step: `stop ${unit}`, sudo: true });
        markStopped(ctx, hp, unit);
        return `stopped ${unit}`;
      },
    },
  ],
});

/** Sends the snapshot (unless the member has it already) and writes the marker; refuses a member in the
 * middle of restoring another snapshot. Nothing is stopped yet. */
const stagePhase = (snapshot: CheckedSnapshot, aside: string, asides: Map<string, string>): Phase => ({
  name: 'stage',
  title: 'Send the snapshot to every member',
  hosts: members,
  steps: () => [
    {
      title: 'send the snapshot',
      run: async (ctx, hp) => {
        const marker = parseMarker((await ctx.executor.exec(hp.host, readMarkerCommand, { step: 'read the restore marker', sudo: true })).stdout);
        if (marker.sha256 && marker.sha256 !== snapshot.sha256)
          throw new KubeinstallError(
            `an unfinished restore of another snapshot (sha256 ${marker.sha256}) is on ${hp.host.name}: re-run \`kubeinstall etcd restore\` ` +
              `with that file to finish it (the member's old data is in ${marker.aside})`,
          );
        await ctx.executor.exec(hp.host, prepareMarkerCommand, { step: 'prepare the restore marker', sudo: true });
        const sent = marker.stagedSha256 !== snapshot.sha256;
        if (sent) {
          await ctx.executor.upload(
            hp.host,
            [
              {
                path: RESTORE_SNAPSHOT,
                mode: SNAPSHOT_MODE,
                owner: 'root:root',
                sha256: snapshot.sha256,
                size: snapshot.size,
                source: { kind: 'local', localPath: snapshot.path },
              },
            ],
            { step: 'send the snapshot' },
          );
        }
        const chosen = marker.aside ?? aside;
        await ctx.executor.exec(hp.host, writeMarkerCommand(snapshot.sha256, chosen), { step: 'write the restore marker', sudo: true });
        asides.set(hp.host.name, chosen);
        return `${sent ? 'sent' : 'already there'}; ${marker.sha256 ? 'finishing the restore an earlier run started' : 'marker written'}`;
      },
    },
  ],
});

const restorePhase = (asides: ReadonlyMap<string, string>): Phase => ({
  name: 'restore',
  title: 'Restore the snapshot on every member',
  hosts: members,
  steps: () => [
    {
      title: 'restore',
      run: async (ctx, hp) => {
        const command = restoreCommand({
          name: hp.host.name,
          initialCluster: etcdInitialCluster(ctx.model),
          token: etcdClusterToken(ctx.model),
          peerUrl: etcdPeerUrl(hp.host),
          aside: asides.get(hp.host.name)!,
        });
        const { stdout } = await ctx.executor.exec(hp.host, command, { step: 'etcd snapshot restore', sudo: true });
        const what = stdout.includes('already restored') ? 'already restored by an earlier run' : `restored into ${ETCD_DATA_DIR}`;
        return `${what}; the old data is in ${asides.get(hp.host.name)}`;
      },
    },
  ],
});

const startApiServersPhase: Phase = {
  name: 'api-servers',
  title: 'Start the API servers',
  hosts: apiServers,
  steps: () => startAndWait('kube-apiserver', apiServerServices),
};

const cleanUpPhase = (asides: ReadonlyMap<string, string>): Phase => ({
  name: 'clean-up',
  title: 'Remove the restore markers',
  hosts: members,
  steps: () => [
    {
      title: 'remove the marker and the snapshot copy',
      run: async (ctx, hp) => {
        await ctx.executor.exec(hp.host, removeMarkerCommand, { step: 'remove the restore marker', sudo: true });
        return `done; the old data stays in ${asides.get(hp.host.name)} (remove it when the cluster is as wanted)`;
      },
    },
  ],
});

const restorePhases = (snapshot: CheckedSnapshot, aside: string, asides: Map<string, string>): Phase[] => [
  connectPhase,
  factsPhase,
  stagePhase(snapshot, aside, asides),
  stopPhase('stop-api-servers', 'Stop the API servers', UNITS.apiserver, apiServers),
  stopPhase('stop-etcd', 'Stop etcd on every member', UNITS.etcd, members),
  restorePhase(asides),
  etcdPhase,
  startApiServersPhase,
  cleanUpPhase(asides),
];

/** A restore that stopped after the marker was written: where the old data is, and that a re-run finishes it. */
const unfinished = (err: unknown, asides: ReadonlyMap<string, string>): unknown => {
  if (!(err instanceof KubeinstallError) || asides.size === 0) return err;
  const where = [...asides].map(([host, path]) => `${host}: ${path}`).join(', ');
  const cause = err instanceof Interrupted ? 'interrupted' : err.message;
  return new KubeinstallError(
    `${cause}\nthe restore is unfinished: the members' old data dirs stay where they are (${where}) if they were moved; ` +
      're-run the same `kubeinstall etcd restore` with the same file to finish it',
    err.exitCode,
  );
};

const names = (hps: readonly HostPlan[]): string => hps.map((hp) => hp.host.name).join(', ');

export const restoreEtcd = async (req: RestoreRequest): Promise<RestoreResult> =>
  withSession(
    { inventory: req.inventory, concurrency: 10, insecureSkipHostKeyCheck: req.insecureSkipHostKeyCheck, onWarnings: req.onWarnings },
    async (session) => {
      // Checked first: a bad file is refused before the question, and before any host is touched.
      const snapshot = await checkSnapshotFile(req.file, localEtcdctl(session.model.binariesDir));
      req.onChecked?.(snapshot);
      const memberPlans = session.plan.hosts.filter((hp) => hp.services.some((s) => s.phase === 'etcd'));
      const masterPlans = session.plan.hosts.filter((hp) => apiServerServices(hp).length > 0);
      const aside = asidePath(new Date());
      await confirmDestructive({
        yes: req.yes,
        command: 'kubeinstall etcd restore',
        consequences: [
          ...(masterPlans.length ? [`stop ${UNITS.apiserver} on ${names(masterPlans)}: the API is down until the restore ends`] : []),
          `stop ${UNITS.etcd} on ${names(memberPlans)}`,
          `on each member, move ${ETCD_DATA_DIR} aside to ${aside} and restore ${req.file} ` +
            `(revision ${snapshot.status.revision}, ${snapshot.status.totalKey} keys) in its place: every change made since the snapshot is lost`,
          `start etcd on every member, then ${UNITS.apiserver}`,
        ],
      });
      const asides = new Map<string, string>();
      const phases = restorePhases(snapshot, aside, asides);
      const op = await runOperation({
        session,
        command: 'etcd-restore',
        phases,
        options: {
          dryRun: false,
          concurrency: 10,
          healthTimeoutMs: req.healthTimeoutMs,
          ignorePreflight: new Set(),
          phases: new Set(phases.map((p) => p.name)),
          // Only the members and the API servers: the nodes keep running and are not contacted.
          hosts: new Set([...memberPlans, ...masterPlans].map((hp) => hp.host.name)),
          signal: req.signal,
        },
        layout: req.layout,
      }).catch((err: unknown) => {
        throw unfinished(err, asides);
      });
      const inOrder = new Map(memberPlans.map((hp) => [hp.host.name, asides.get(hp.host.name)!]));
      return { snapshot, asides: inOrder, logPath: op.logPath, durationMs: op.durationMs };
    },
  );
