// `kubeinstall certs rotate-ca`: the three steps of a CA rotation (src/pki/rotation.ts), each the cluster folder's files
// written by `certs`, then a deploy that rolls them out behind its health gates. The state lives in the cluster folder,
// so a run stopped anywhere (Ctrl-C, a failed health gate) resumes where it stopped.
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { ClusterModel } from '../../inventory/model.js';
import { loadInventory } from '../../inventory/load.js';
import type { CertsOptions, CertsReport } from '../../pki/generate.js';
import { caLabel, nextRotationAction, parseCaNames, ROTATION_STATE_FILE, ROTATION_STEPS, type RotationState, type RotationStep } from '../../pki/rotation.js';
import type { CaName } from '../../pki/specs.js';
import { finishRotation, markRotationRolled, readRotationState } from '../../pki/store.js';
import { withClusterLock } from '../../util/cluster-lock.js';
import { KubeinstallError, UsageError } from '../../util/errors.js';
import { examples, printWarnings } from '../output.js';
import { addRollOptions, runDeployCommand, type DeployFlags } from './deploy.js';

type RunCerts = (model: ClusterModel, dir: string, options: Omit<CertsOptions, 'signal'>, extra?: { after?: (r: CertsReport) => string }) => Promise<void>;

interface RotateFlags extends Omit<DeployFlags, 'hosts' | 'phases' | 'dryRun' | 'output'> {
  ca?: string;
  rotateSa?: boolean;
  status?: boolean;
  stopAfter?: RotationStep;
  dir?: string;
  forceCa?: boolean;
}

const labels = (cas: readonly CaName[]): string => cas.map(caLabel).join(', ');
const what = (s: Pick<RotationState, 'cas' | 'serviceAccount'>): string => `${labels(s.cas)}${s.serviceAccount ? ' and the service-account key' : ''}`;
const stepLine = (step: RotationStep): string => `step ${step} of 3 (${ROTATION_STEPS[step].title})`;

/** `--status`: where the rotation stands and what the next run does. */
export const formatRotationStatus = (state: RotationState | undefined, inventory: string): string => {
  if (!state) return 'no CA rotation in progress\n';
  const next = nextRotationAction(state);
  const then =
    next === 'finish'
      ? 'removes the rotation state'
      : 'roll' in next
        ? `rolls step ${next.roll} out${next.roll < 3 ? ', then goes on' : ''}`
        : `writes step ${next.prepare} and rolls it out${next.prepare < 3 ? ', then goes on' : ''}`;
  return `${[
    `CA rotation of ${what(state)}, started ${state.startedAt}`,
    `${stepLine(state.step)}: ${state.rolled ? `rolled out: ${ROTATION_STEPS[state.step].done}` : 'not yet rolled out'}`,
    `next: \`kubeinstall certs rotate-ca -i ${inventory}\` ${then}`,
  ].join('\n')}\n`;
};

/** A run names the rotation it starts; a resumed one may repeat the names, never change them. */
const checkResume = (state: RotationState, cas: readonly CaName[] | undefined, rotateSa: boolean): void => {
  const same = cas === undefined || (cas.length === state.cas.length && cas.every((c) => state.cas.includes(c)));
  if (same && (!rotateSa || state.serviceAccount)) return;
  throw new UsageError(
    `a rotation of ${what(state)} is in progress at ${stepLine(state.step)} (${ROTATION_STATE_FILE}): ` +
      'run `certs rotate-ca` without --ca (or with the same) to finish it before another starts',
  );
};

/** Marks a step rolled out, under the lock, if no other run moved the rotation meanwhile. */
const markRolled = (dir: string, step: RotationStep): Promise<void> =>
  withClusterLock(dir, async () => {
    const state = await readRotationState(dir);
    if (state?.step !== step || state.rolled)
      throw new KubeinstallError(`${ROTATION_STATE_FILE} changed while step ${step} was rolled out: check \`certs rotate-ca --status\``);
    await markRotationRolled(dir, state);
  });

const rotate = async (model: ClusterModel, dir: string, flags: RotateFlags, runCerts: RunCerts): Promise<void> => {
  const cas = flags.ca === undefined ? undefined : parseCaNames(flags.ca);
  const first = await readRotationState(dir);
  if (first) checkResume(first, cas, flags.rotateSa === true);
  else if (!cas) throw new UsageError('certs rotate-ca: --ca is required to start a rotation (kubernetes, etcd, front-proxy, or all)');
  else process.stdout.write(`rotating ${what({ cas, serviceAccount: flags.rotateSa === true })}: three steps, each rolled out by a deploy\n`);
  if (first) process.stdout.write(`resuming the rotation of ${what(first)} ${first.rolled ? 'after' : 'at'} ${stepLine(first.step)}\n`);
  const started = first ?? { cas: cas!, serviceAccount: flags.rotateSa === true, startedAt: new Date().toISOString() };
  for (;;) {
    const state = await readRotationState(dir);
    const next = state ? nextRotationAction(state) : { prepare: 1 as const };
    if (next === 'finish') {
      await withClusterLock(dir, () => finishRotation(dir));
      process.stdout.write(`CA rotation of ${what(started)} finished: ${ROTATION_STEPS[3].done}\n`);
      return;
    }
    if ('prepare' in next) {
      process.stdout.write(`\n${stepLine(next.prepare)}: writing the cluster folder's files\n`);
      await runCerts(model, dir, { rotation: { step: next.prepare, cas: started.cas, serviceAccount: started.serviceAccount, startedAt: started.startedAt } });
      continue;
    }
    process.stdout.write(`\n${stepLine(next.roll)}: rolling out\n`);
    const rollStarted = Date.now();
    await runDeployCommand({ ...flags, output: 'text' });
    await markRolled(dir, next.roll);
    process.stdout.write(`${stepLine(next.roll)} rolled out in ${((Date.now() - rollStarted) / 1000).toFixed(1)} s: ${ROTATION_STEPS[next.roll].done}\n`);
    if (next.roll === flags.stopAfter) {
      process.stdout.write(`stopped after step ${next.roll} (--stop-after); \`kubeinstall certs rotate-ca -i ${flags.inventory}\` goes on\n`);
      return;
    }
  }
};

export const registerRotateCa = (certs: Command, runCerts: RunCerts): void => {
  addRollOptions(
    certs
      .command('rotate-ca')
      .description(
        'replace CAs without downtime: trust old and new, re-issue everything with the new, drop the old; each step rolled out ' +
          'by a deploy, resumable where it stopped',
      )
      .configureHelp({ showGlobalOptions: true })
      .option('--ca <names>', 'the CAs to rotate (comma-separated: kubernetes, etcd, front-proxy, or all); needed to start a rotation')
      .option('--rotate-sa', 'rotate the service-account signing key too (tokens signed with the old key verify until step 3)')
      .addOption(new Option('--status', 'say which step a rotation is in, and stop'))
      .addOption(
        new Option('--stop-after <step>', 'stop once this step is rolled out (e.g. 2: pods get tokens of the new sa key before step 3)').argParser(
          (v): RotationStep => {
            if (v !== '1' && v !== '2') throw new InvalidArgumentError('a step to stop after: 1 or 2 (step 3 is the last)');
            return Number(v) as RotationStep;
          },
        ),
      ),
  )
    .addHelpText(
      'after',
      examples(
        'kubeinstall certs rotate-ca -i inventory.yaml --ca all --rotate-sa',
        'kubeinstall certs rotate-ca -i inventory.yaml --status',
        'kubeinstall certs rotate-ca -i inventory.yaml   # resume an interrupted rotation',
      ),
    )
    .action(async (_: RotateFlags, command: Command) => {
      const flags = command.optsWithGlobals<RotateFlags>();
      const { model, warnings } = await loadInventory(flags.inventory);
      printWarnings(warnings);
      // deploy reads the cluster folder the inventory names: a rotation written elsewhere would never be rolled out
      if (flags.dir !== undefined)
        throw new UsageError(`certs rotate-ca: --dir is not used: a rotation works in the inventory's clusterDir (${model.clusterDir})`);
      if (flags.forceCa)
        throw new UsageError('certs rotate-ca: --force-ca replaces the CAs at once, with an outage; a rotation never does (run `certs --force-ca` alone)');
      const dir = model.clusterDir;
      if (flags.status) {
        process.stdout.write(formatRotationStatus(await readRotationState(dir), flags.inventory));
        return;
      }
      await rotate(model, dir, flags, runCerts);
    });
};
