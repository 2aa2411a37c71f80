import type { Command } from 'commander';
import { Option } from 'commander';
import { resolve } from 'node:path';
import { displayUrl, type Progress } from '../../binaries/http.js';
import { fetchBinaries, SUMS_FILE, type Outcome } from '../../binaries/fetch.js';
import { ARCHITECTURES, artifactsFor, type Arch } from '../../binaries/sources.js';
import { loadInventory } from '../../inventory/load.js';
import { renderRoleBinariesHelp } from '../../render/binaries.js';
import { KubeinstallError, UsageError } from '../../util/errors.js';
import { inventoryOption } from '../options.js';
import { printWarnings } from '../output.js';

/** --mirror: an http(s) URL; the message never repeats what was given (it may hold a password). */
const parseMirror = (value: string): URL => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError('--mirror must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--mirror must be an http:// or https:// URL, not ${url.protocol}`);
  return url;
};

const bytes = (p: Progress): string => `${p.done}/${p.total ?? '?'} bytes${p.resumedFrom > 0 ? ` (resumed at ${p.resumedFrom})` : ''}`;

/** At a terminal one line per file, redrawn as bytes arrive; otherwise one line per file when it is done. */
const reporter = (tty: boolean) => {
  let last = 0;
  return {
    onProgress: (file: string, p: Progress): void => {
      const now = Date.now();
      if (!tty || now - last < 100) return;
      last = now;
      process.stderr.write(`\r\x1b[K${file}: ${bytes(p)}`);
    },
    onDone: (file: string, o: Outcome): void => {
      const text =
        o.kind === 'up-to-date' ? 'already there, sha256 verified' : o.kind === 'downloaded' ? `${bytes(o.progress)}, sha256 verified` : `failed: ${o.message}`;
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}${file}: ${text}\n`);
    },
  };
};

export const registerBinaries = (program: Command): void => {
  const binaries = program.command('binaries').description('the binaries folder deploy reads');
  binaries
    .command('fetch')
    .description('download the binaries the inventory needs, at its versions, and check each against its published sha256')
    .addOption(inventoryOption())
    .option('--dest <dir>', "folder to fill (default: the inventory's cluster.binariesDir)")
    .option('--mirror <url>', 'http(s) base URL of a mirror with the upstream layout (dl.k8s.io and github.com paths under it)')
    .addOption(new Option('--arch <arch>', 'architecture of the hosts (one per binaries folder)').choices(ARCHITECTURES).default('amd64'))
    .addHelpText(
      'after',
      `\nThe binaries each role needs (nodes also get crictl and the CNI plugins, under cni/):\n${renderRoleBinariesHelp()}\n` +
        "\nKubernetes and etcd come at the inventory's versions; containerd, runc, crictl and the CNI plugins at the\n" +
        'versions src/versions.ts pairs with its Kubernetes minor. A re-run downloads only what is missing or\n' +
        'does not match, and resumes a download that broke off.\n' +
        '\nExamples:\n  kubeinstall binaries fetch -i inventory.yaml\n  kubeinstall binaries fetch -i inventory.yaml --arch arm64 --mirror https://artifacts.example.com/k8s',
    )
    .action(async (opts: { inventory: string; dest?: string; mirror?: string; arch: Arch }) => {
      const mirror = opts.mirror === undefined ? undefined : parseMirror(opts.mirror);
      const { model, warnings } = await loadInventory(opts.inventory);
      printWarnings(warnings);
      const dest = opts.dest ? resolve(opts.dest) : model.binariesDir;
      const artifacts = artifactsFor(model, opts.arch);
      process.stderr.write(`${artifacts.length} release files for linux/${opts.arch} into ${dest}${mirror ? ` from ${displayUrl(mirror)}` : ''}\n`);
      const result = await fetchBinaries(artifacts, { dest, mirror, ...reporter(process.stderr.isTTY === true) });
      if (result.failed.length > 0) {
        throw new KubeinstallError(
          `${result.failed.length} download${result.failed.length === 1 ? '' : 's'} failed:\n  ${result.failed.map((f) => f.message).join('\n  ')}`,
        );
      }
      process.stdout.write(`${result.installed.length} files in ${dest}, each verified; ${SUMS_FILE} written\n`);
    });
};
