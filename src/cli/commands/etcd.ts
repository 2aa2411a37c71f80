// `kubeinstall etcd backup` and `kubeinstall etcd restore` (docs/operations.md).
import type { Command } from 'commander';
import { Option } from 'commander';
import { withInterrupt, plainOutput } from '../interrupt.js';
import { duration, inventoryOption, wholeNumber } from '../options.js';
import { examples, printWarnings } from '../output.js';

const MIB = 1048576;
const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const hostKeyOption = (): Option => new Option('--insecure-skip-host-key-check', 'do not verify SSH host keys (warned about on every run)');

interface BackupFlags {
  inventory: string;
  output?: string;
  keep?: number;
  insecureSkipHostKeyCheck?: boolean;
}

interface RestoreFlags {
  inventory: string;
  yes?: boolean;
  healthTimeout: number;
  insecureSkipHostKeyCheck?: boolean;
}

export const registerEtcd = (program: Command): void => {
  const etcd = program.command('etcd').description('day-2 operations on the etcd cluster: backup and restore');
  etcd
    .command('backup')
    .description('snapshot etcd from a healthy member (a follower first) to this machine, checked, with its sha256 and member list beside it')
    .addOption(inventoryOption())
    .option('-o, --output <file>', 'the snapshot file (default: <cluster folder>/backups/<cluster>-etcd-<time>.db); its description goes to <file>.json')
    .option('--keep <n>', 'then keep only the newest N backups of this cluster in that folder', wholeNumber(1))
    .addOption(hostKeyOption())
    .addHelpText('after', examples('kubeinstall etcd backup -i inventory.yaml --keep 7', 'kubeinstall etcd backup -i inventory.yaml -o /srv/backups/etcd.db'))
    .action((flags: BackupFlags) =>
      withInterrupt(async (signal) => {
        const { backupEtcd } = await import('../../etcd/backup.js');
        const r = await backupEtcd({
          inventory: flags.inventory,
          output: flags.output,
          keep: flags.keep,
          layout: plainOutput() ? 'lines' : 'tree',
          signal,
          insecureSkipHostKeyCheck: flags.insecureSkipHostKeyCheck,
          onWarnings: printWarnings,
        });
        const s = r.sidecar;
        out(`backup: ${r.path} (${mib(s.size)}, revision ${s.revision}, ${s.totalKeys} keys, from ${s.takenFrom}, etcd ${s.etcdVersion})`);
        out(`sha256: ${s.sha256}; members: ${s.members.map((m) => m.name).join(', ')}; described in ${r.path}.json`);
        for (const p of r.pruned) out(`pruned: ${p}`);
        out(`took ${seconds(r.durationMs)}; log: ${r.logPath}`);
      }),
    );
  etcd
    .command('restore')
    .description('restore a snapshot on every member: stops the API servers and etcd, replaces each data dir (the old one kept aside), starts them again')
    .argument('<file>', 'the snapshot (from `etcd backup`, or `etcdctl snapshot save`)')
    .addOption(inventoryOption())
    .option('--yes', 'do not ask (required when not at a terminal)')
    .addOption(
      new Option('--health-timeout <duration>', 'how long to wait for etcd and each API server to become healthy (seconds, or 90s, 2m)')
        .argParser(duration)
        .default(120_000, '120s'),
    )
    .addOption(hostKeyOption())
    .addHelpText('after', examples('kubeinstall etcd restore -i inventory.yaml cluster/backups/prod-etcd-20261201T061502Z.db --yes'))
    .action((file: string, flags: RestoreFlags) =>
      withInterrupt(async (signal) => {
        const { restoreEtcd } = await import('../../etcd/restore.js');
        const r = await restoreEtcd({
          inventory: flags.inventory,
          file,
          yes: flags.yes === true,
          layout: plainOutput() ? 'lines' : 'tree',
          signal,
          healthTimeoutMs: flags.healthTimeout,
          insecureSkipHostKeyCheck: flags.insecureSkipHostKeyCheck,
          onWarnings: printWarnings,
          onChecked: (s) =>
            out(
              `snapshot: ${s.path}: sha256 ${s.sha256}${s.sidecar ? ' (matches its sidecar)' : ' (no sidecar to compare with)'}; ` +
                `revision ${s.status.revision}, ${s.status.totalKey} keys, ${mib(s.size)}`,
            ),
        });
        out(`restored revision ${r.snapshot.status.revision} on ${[...r.asides.keys()].join(', ')} in ${seconds(r.durationMs)}`);
        for (const [host, path] of r.asides) out(`old data dir: ${host}: ${path}`);
        out(`log: ${r.logPath}`);
      }),
    );
};
