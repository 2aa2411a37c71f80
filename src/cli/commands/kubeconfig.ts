import { readFile, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { loadInventory } from '../../inventory/load.js';
import { parseKubeconfig, type KubeconfigContent } from '../../kubeconfig/kubeconfig.js';
import { KubeconfigClash, mergeKubeconfig } from '../../kubeconfig/merge.js';
import { KUBECONFIG_SPECS } from '../../pki/specs.js';
import { writeFileAtomic } from '../../util/fs.js';
import { KubeinstallError } from '../../util/errors.js';
import { inventoryOption } from '../options.js';
import { printWarnings } from '../output.js';

/** The user kubeconfigs `certs` writes that a person may take; super-admin bypasses RBAC and is warned about. */
const USERS = ['admin', 'super-admin'] as const;
type User = (typeof USERS)[number];

const DEFAULT_KUBECONFIG = join('~', '.kube', 'config');

const httpsUrl = (value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a URL such as https://api.example.com:6443');
  }
  if (url.protocol !== 'https:' || url.pathname !== '/' || url.search || url.hash)
    throw new InvalidArgumentError('expected https://host[:port] with nothing after it');
  return url.origin;
};

const contextName = (value: string): string => {
  if (!/^\S+$/.test(value)) throw new InvalidArgumentError('expected a name without spaces');
  return value;
};

/** The user's kubeconfig from the cluster folder, with the server overridden if asked. */
const readUserKubeconfig = async (clusterDir: string, user: User, server: string | undefined): Promise<KubeconfigContent> => {
  const spec = KUBECONFIG_SPECS.find((s) => s.cert === user)!;
  const file = join(clusterDir, spec.file as string);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KubeinstallError(`${file} is missing: create it with \`kubeinstall certs\``);
    throw err;
  }
  try {
    const content = parseKubeconfig(text);
    return server ? { ...content, server } : content;
  } catch (err) {
    throw new KubeinstallError(`${file}: ${(err as Error).message}`);
  }
};

const readIfThere = async (file: string): Promise<string | undefined> => {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KubeinstallError(`cannot read ${file}: ${(err as Error).message}`);
  }
};

/** A symlinked kubeconfig (dotfiles) is written through, not replaced by a plain file. */
const realTarget = async (file: string): Promise<string> => realpath(file).catch(() => file);

const timestamp = (d: Date): string =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** Keeps `text` as `<file>.kubeinstall-<time>[-n].bak`, as private as the kubeconfig; never over an earlier backup. */
const writeBackup = async (file: string, text: string): Promise<string> => {
  const stamp = `${file}.kubeinstall-${timestamp(new Date())}`;
  for (let n = 1; ; n++) {
    const backup = `${stamp}${n > 1 ? `-${n}` : ''}.bak`;
    try {
      await writeFileAtomic(backup, text, { mode: 0o600, exclusive: true });
      return backup;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
};

const mergeInto = async (target: string, content: KubeconfigContent, context: string, force: boolean): Promise<void> => {
  const file = await realTarget(target);
  const existing = await readIfThere(file);
  let merged;
  try {
    merged = mergeKubeconfig(existing, { content, context, force });
  } catch (err) {
    if (err instanceof KubeconfigClash)
      throw new KubeinstallError(`${file} ${err.message}; choose another name with --context NAME, or replace them with --force`);
    throw new KubeinstallError(`${file}: ${(err as Error).message}`);
  }
  const lines: string[] = [];
  if (existing !== undefined) {
    // The user's own file is replaced as a whole: the old one stays beside it.
    lines.push(`backup: ${await writeBackup(file, existing)}`);
  }
  await writeFileAtomic(file, merged.text, { mode: 0o600, dirMode: 0o700 });
  lines.unshift(
    `${merged.replaced.length ? 'updated' : 'added'} context "${context}" in ${file}${merged.replaced.length ? ` (replaced ${merged.replaced.join(', ')})` : ''}`,
  );
  lines.push(`use it: kubectl config use-context ${context}${file === resolve(homedir(), '.kube/config') ? '' : ` --kubeconfig ${file}`}`);
  process.stdout.write(`${lines.join('\n')}\n`);
};

interface KubeconfigFlags {
  inventory: string;
  dir?: string;
  user: User;
  server?: string;
  merge?: string | true;
  context?: string;
  force?: boolean;
}

export const registerKubeconfig = (program: Command): void => {
  program
    .command('kubeconfig')
    .description('print the admin kubeconfig, or merge it into your kubeconfig under a context named after the cluster')
    .addOption(inventoryOption())
    .option('--dir <dir>', "cluster folder (default: the inventory's clusterDir)")
    .addOption(new Option('--user <name>', 'whose kubeconfig: admin, or super-admin (bypasses RBAC; warned about)').choices(USERS).default('admin'))
    .option('--server <url>', "API server URL to put in it instead of the cluster's endpoint (e.g. through a tunnel)", httpsUrl)
    .option('--merge [file]', `merge into FILE (default ${DEFAULT_KUBECONFIG}) instead of printing; the old file is kept as FILE.kubeinstall-<time>.bak`)
    .option('--context <name>', 'context (and cluster entry) name (default: the cluster name)', contextName)
    .option('--force', 'with --merge, replace entries of the same name that belong to another cluster')
    .addHelpText(
      'after',
      '\nExamples:\n  kubeinstall kubeconfig -i inventory.yaml > admin.conf\n  kubeinstall kubeconfig -i inventory.yaml --merge\n  kubeinstall kubeconfig -i inventory.yaml --merge ./kubeconfig --context prod-eu --server https://127.0.0.1:6443',
    )
    .action(async (flags: KubeconfigFlags) => {
      const { model, warnings } = await loadInventory(flags.inventory);
      printWarnings(warnings);
      if (flags.user === 'super-admin')
        process.stderr.write('warning: super-admin is in system:masters and bypasses RBAC; use admin unless you are repairing RBAC\n');
      const content = await readUserKubeconfig(resolve(flags.dir ?? model.clusterDir), flags.user, flags.server);
      const context = flags.context ?? model.name;
      if (flags.merge === undefined) {
        process.stdout.write(mergeKubeconfig(undefined, { content, context }).text);
        return;
      }
      await mergeInto(flags.merge === true ? join(homedir(), '.kube', 'config') : resolve(flags.merge), content, context, flags.force === true);
    });
};
