// etcd: every member of a new cluster starts at the same moment (a new member waits for its peers),
// then each must pass `etcdctl endpoint health`; an existing cluster restarts one member at a time
// instead, and a member the running cluster does not list joins it: `member add` (as a learner where
// etcd has learners), its first start with the current member list, `member promote` once it caught up.
import { setTimeout as sleep } from 'node:timers/promises';
import { etcdPeerUrl, newClusterBootstrap, renderEtcdConfig, type EtcdBootstrap } from '../../render/etcd.js';
import { ETCD_DATA_DIR, HOST_PATHS } from '../../render/paths.js';
import type { HostPlan } from '../../render/types.js';
import { UNITS } from '../../render/units.js';
import { KubeinstallError } from '../../util/errors.js';
import { quote } from '../../util/shell.js';
import { etcdctl, etcdEndpoint, inventoryEndpoints, memberOf, readMembers, votingEndpoints, type EtcdMember } from '../etcd-client.js';
import { etcdHasLearners, startKind, type MemberStart } from '../etcd-members.js';
import { hostsRunning } from '../hosts.js';
import { rollSize, serviceFailed, servicesOf, startUnits, startUnitsCommand, unitBroken, waitRemote } from '../services.js';
import { outcomeOf, type DeployContext, type Phase } from '../types.js';

const members = (ctx: DeployContext): HostPlan[] => {
  const active = (hp: HostPlan): boolean => ctx.facts.get(hp.host.name)?.unitStates.get(UNITS.etcd) === 'active';
  // Running members first: when members go one at a time, those joining come after the cluster they join is up.
  const all = hostsRunning(ctx, 'etcd');
  return [...all.filter(active), ...all.filter((hp) => !active(hp))];
};

const MEMBER_DIR = `${ETCD_DATA_DIR}/member`;
const PLANNED_COPY = `${HOST_PATHS.etcdConfig}.planned`;

interface Membership {
  readonly hasData: ReadonlySet<string>;
  /** As the running cluster lists them; undefined when no member answered. */
  readonly members?: readonly EtcdMember[];
}

/** Which members hold data, and what the cluster lists: read once per run, before any member starts. */
const membership = (ctx: DeployContext): Promise<Membership> =>
  ctx.once('etcd membership', async () => {
    const hosts = members(ctx);
    const data = await Promise.all(
      hosts.map(async (hp) => {
        const r = await ctx.executor.exec(hp.host, `test -d ${quote(MEMBER_DIR)}`, { step: 'etcd data', sudo: true, allowFailure: true });
        return r.code === 0 ? [hp.host.name] : [];
      }),
    );
    const { members: listed } = await readMembers(ctx.executor, hosts[0]!, inventoryEndpoints(ctx.model));
    return { hasData: new Set(data.flat()), members: listed };
  });

const kindOf = async (ctx: DeployContext, hp: HostPlan): Promise<MemberStart> => {
  const m = await membership(ctx);
  const renamed = m.members?.find((e) => e.name === hp.host.name && !e.peerUrls.includes(etcdPeerUrl(hp.host)));
  if (renamed)
    throw new KubeinstallError(
      `etcd lists ${hp.host.name} with peer URL ${renamed.peerUrls.join(', ')}, the inventory gives ${etcdPeerUrl(hp.host)}: ` +
        'a member keeps its address (remove it with `kubeinstall remove`, then add it with the new one)',
    );
  return startKind(memberOf(m.members ?? [], hp.host) !== undefined, m.hasData.has(hp.host.name), m.hasData.size > 0, m.members !== undefined);
};

/** Members whose config is the bootstrap variant until they are healthy, then the planned one again. */
const bootstrapped = new WeakMap<DeployContext, Set<string>>();

/** The config for the member's first start in place (the planned one kept beside it, mtime and all, so
 * putting it back leaves the host's hash record true), then etcd started. */
const firstStart = async (ctx: DeployContext, hp: HostPlan, bootstrap: EtcdBootstrap, before: string[] = []): Promise<void> => {
  const config = hp.files.find((f) => f.path === HOST_PATHS.etcdConfig);
  if (!config) throw new KubeinstallError(`the plan for ${hp.host.name} has no ${HOST_PATHS.etcdConfig}`);
  const tmp = `${HOST_PATHS.etcdConfig}.tmp`;
  const command = [
    ...before,
    `cp -p ${quote(HOST_PATHS.etcdConfig)} ${quote(PLANNED_COPY)}`,
    `cat > ${quote(tmp)}`,
    `chmod ${config.mode.toString(8)} ${quote(tmp)}`,
    `mv -f ${quote(tmp)} ${quote(HOST_PATHS.etcdConfig)}`,
    startUnitsCommand([UNITS.etcd]),
  ].join(' && ');
  const stdin = renderEtcdConfig(ctx.model, hp.host, bootstrap);
  await ctx.executor.exec(hp.host, command, { step: `first start of etcd (${bootstrap.state} cluster)`, sudo: true, stdin });
  outcomeOf(ctx, hp.host).restarted.push(UNITS.etcd);
  if (!bootstrapped.has(ctx)) bootstrapped.set(ctx, new Set());
  bootstrapped.get(ctx)!.add(hp.host.name);
};

const restorePlannedConfig = async (ctx: DeployContext, hp: HostPlan): Promise<void> => {
  if (!bootstrapped.get(ctx)?.has(hp.host.name)) return;
  await ctx.executor.exec(hp.host, `mv -f ${quote(PLANNED_COPY)} ${quote(HOST_PATHS.etcdConfig)}`, { step: 'etcd config as planned', sudo: true });
};

/** One join at a time: etcd allows one learner, and each join must see the member list the previous one left. */
const joins = new WeakMap<DeployContext, Promise<unknown>>();
const oneAtATime = <T>(ctx: DeployContext, work: () => Promise<T>): Promise<T> => {
  const next = (joins.get(ctx) ?? Promise.resolve()).catch(() => undefined).then(work);
  joins.set(ctx, next);
  return next;
};

/** The member list once the running cluster answers (it may be starting in this very phase). */
const currentMembers = async (ctx: DeployContext, hp: HostPlan): Promise<EtcdMember[]> => {
  const others = inventoryEndpoints(ctx.model).filter((e) => e !== etcdEndpoint(hp));
  const deadline = Date.now() + ctx.options.healthTimeoutMs;
  for (;;) {
    const { members: listed, problem } = await readMembers(ctx.executor, hp, others);
    if (listed && votingEndpoints(listed).length) return listed;
    if (Date.now() >= deadline) throw new KubeinstallError(`${hp.host.name} cannot join etcd: no member of ${others.join(', ')} answered: ${problem}`);
    await sleep(1000, undefined, { signal: ctx.options.signal });
  }
};

/**
 * A membership change, repeated while etcd refuses it for a passing reason: `member add` until the leader
 * has been connected to a quorum for 5 s ("unhealthy cluster", right after the previous join), `member
 * promote` until the learner caught up with the leader, `member remove` (from `kubeinstall remove`) as `member
 * add`. etcdctl runs on `hp`; with `watchUnit`, a crash of its etcd stops the wait.
 */
export const untilAccepted = async (
  ctx: DeployContext,
  hp: HostPlan,
  endpoints: readonly string[],
  args: readonly string[],
  watchUnit: boolean,
  step = `etcd member ${args[1]}`,
): Promise<void> => {
  const deadline = Date.now() + ctx.options.healthTimeoutMs;
  for (;;) {
    const r = await ctx.executor.exec(hp.host, etcdctl(hp, endpoints, args), { step, sudo: true, allowFailure: true });
    // An add that went through while etcdctl timed out is done.
    if (r.code === 0 || /Peer URLs already exists/.test(r.stderr)) return;
    const last = r.stderr.trim().split('\n').at(-1) ?? `exit code ${r.code}`;
    const broken = watchUnit ? await unitBroken(ctx, hp.host, UNITS.etcd) : undefined;
    if (broken) await serviceFailed(ctx, hp.host, UNITS.etcd, `${step}: ${broken}; etcd said: ${last}`);
    if (Date.now() >= deadline) {
      const why = `${step} refused for ${ctx.options.healthTimeoutMs / 1000} s: ${last}`;
      if (watchUnit) await serviceFailed(ctx, hp.host, UNITS.etcd, why);
      throw new KubeinstallError(`${hp.host.name}: ${why}`);
    }
    await sleep(1000, undefined, { signal: ctx.options.signal });
  }
};

/** A member's name for initial-cluster: etcd matches members by peer URL, but an unstarted one has no name yet. */
const nameOf = (ctx: DeployContext, m: EtcdMember): string => m.name || ctx.model.hosts.find((h) => m.peerUrls.includes(etcdPeerUrl(h)))?.name || m.id;

/** Adds the member (unless an interrupted run did), starts it with the cluster as it now is, promotes it. */
const join = async (ctx: DeployContext, hp: HostPlan, stale: boolean): Promise<string> => {
  const learner = etcdHasLearners(ctx.model.etcdVersion);
  if (ctx.options.dryRun) {
    // What the run read before any member started: a dry run waits for nothing.
    const listed = (await membership(ctx)).members;
    const lost = listed && memberOf(listed, hp.host)?.started ? `remove member ${memberOf(listed, hp.host)!.id} (it lost its data), ` : '';
    const joining = learner ? 'add it as a learner, start it, promote it' : 'add it, start it';
    const steps = `${stale ? 'move aside the data it kept as a removed member, ' : lost}${joining}`;
    const description = `join ${hp.host.name} to etcd (${listed ? `${listed.length} members` : 'not answering yet'}): ${steps}`;
    await ctx.wet(hp.host, description, async () => undefined);
    return `would ${description}`;
  }
  const before = await currentMembers(ctx, hp);
  const listed = memberOf(before, hp.host);
  // A member that started once and lost its data (a reset host, a new disk) must not come back under its
  // old identity: the leader would send it commits its empty log never had. etcd's way: remove, add anew.
  const replaced = listed?.started ? listed : undefined;
  if (replaced) await untilAccepted(ctx, hp, votingEndpoints(before.filter((m) => m !== replaced)), ['member', 'remove', replaced.id], false);
  const endpoints = votingEndpoints(before.filter((m) => m !== replaced));
  if (!listed || replaced) {
    const add = ['member', 'add', hp.host.name, `--peer-urls=${etcdPeerUrl(hp.host)}`, ...(learner ? ['--learner'] : [])];
    await untilAccepted(ctx, hp, endpoints, add, false);
  }
  const after = await currentMembers(ctx, hp);
  const self = memberOf(after, hp.host);
  if (!self) throw new KubeinstallError(`${hp.host.name}: etcd does not list ${etcdPeerUrl(hp.host)} after member add`);
  const bootstrap: EtcdBootstrap = {
    state: 'existing',
    members: after.map((m) => ({ name: m === self ? hp.host.name : nameOf(ctx, m), peerUrl: m.peerUrls[0]! })),
  };
  // Moved aside, never deleted: the operator decides what to do with it.
  const moveAside = [`systemctl stop ${UNITS.etcd}`, `mv ${quote(MEMBER_DIR)} ${quote(MEMBER_DIR)}.removed-$(date +%Y%m%dT%H%M%S)`];
  await firstStart(ctx, hp, bootstrap, stale ? moveAside : []);
  if (self.learner) await untilAccepted(ctx, hp, endpoints, ['member', 'promote', self.id], true);
  const why = stale ? '; its data from before its removal was moved aside' : replaced ? `; it had lost its data, so member ${replaced.id} was replaced` : '';
  return `joined etcd (${after.length} members)${self.learner ? ' as a learner, promoted' : ''}${why}`;
};

const start = async (ctx: DeployContext, hp: HostPlan): Promise<string> => {
  const kind = await kindOf(ctx, hp);
  if (kind === 'start')
    return startUnits(
      ctx,
      hp,
      servicesOf(hp, 'etcd').map((s) => s.unit),
    );
  if (kind === 'new') {
    const description = `start etcd as a member of a new ${newClusterBootstrap(ctx.model).members.length}-member cluster`;
    await ctx.wet(hp.host, description, () => firstStart(ctx, hp, newClusterBootstrap(ctx.model)));
    return ctx.options.dryRun ? `would ${description}` : 'started etcd (new cluster)';
  }
  return oneAtATime(ctx, () => join(ctx, hp, kind === 'rejoin'));
};

export const etcdPhase: Phase = {
  name: 'etcd',
  title: 'Start etcd',
  hosts: members,
  // A new cluster only reaches quorum when its members start together; a running one keeps quorum
  // only when members restart (or join) one at a time.
  concurrency: (ctx) => members(ctx).length,
  roll: (ctx) => rollSize(ctx, members(ctx), () => [UNITS.etcd]),
  steps: () => [
    { title: 'start etcd', run: start },
    {
      title: 'wait for endpoint health',
      run: async (ctx, hp) => {
        await waitRemote(ctx, hp, [UNITS.etcd], etcdctl(hp, [etcdEndpoint(hp)], ['endpoint', 'health']));
        await restorePlannedConfig(ctx, hp);
        return ctx.options.dryRun ? undefined : `${etcdEndpoint(hp)} is healthy`;
      },
    },
  ],
  finish: async (ctx) => {
    if (ctx.options.dryRun) return undefined;
    const { members: listed, problem } = await readMembers(ctx.executor, members(ctx)[0]!, inventoryEndpoints(ctx.model));
    if (!listed) throw new KubeinstallError(`etcd member list: ${problem}`);
    return `members: ${listed.map((m) => m.name).join(', ')}`;
  },
};
