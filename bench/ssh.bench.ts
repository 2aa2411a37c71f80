// Copy the same files (150 MiB of binaries and 200 small files) to N test-bed hosts (`--hosts N`, default 3)
// with kubeinstall's executor, with scp to the hosts in parallel, and with `ansible -m copy`; print times and
// ratios against parallel scp measured in the same run (each measured twice: the cores are shared). The
// no-change re-run does what deploy's upload phase does: fresh connections, one command per host reading
// the hash record and the files' sizes and mtimes, nothing sent. Hosts: 198.18.30.11-(10+N), each with its
// own network.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changedFiles, parseStatOutput, recordHashesCommand, recordInput, statCommand } from '../src/deploy/file-diff.js';
import type { PlannedFile } from '../src/render/types.js';
import { createExecutor } from '../src/ssh/executor.js';
import type { UploadItem } from '../src/ssh/types.js';
import { startTestbed } from '../src/lab/index.js';
import { modelHost, randomFile } from '../test/integration/ssh/fixtures.js';

const MiB = 1 << 20;
const BINARIES = [
  ['kube-apiserver', 90],
  ['kubelet', 40],
  ['etcd', 20],
] as const;
const SMALL_FILES = 200;
const ROUNDS = 2;

const hostCount = (args: readonly string[]): number => {
  const at = args.indexOf('--hosts');
  const n = at < 0 ? 3 : Number(args[at + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error('--hosts takes a whole number from 1 to 20 (addresses 198.18.30.11-30)');
  return n;
};

/** Ansible copies file by file, several round trips each: on 2 shared cores 200 small files can take
 * many minutes, so its run is stopped (by pid) after this long and reported as "more than". */
const ANSIBLE_LIMIT_S = Number(process.env.BENCH_ANSIBLE_LIMIT_S ?? 120);

class TooSlow extends Error {}

const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, limitS?: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    const timer = limitS ? setTimeout(() => child.kill('SIGTERM'), limitS * 1000) : undefined;
    child.stderr.on('data', (d: Buffer) => (err += d));
    // 'exit', not 'close': ssh control masters ansible leaves behind keep its stderr pipe open
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(signal === 'SIGTERM' && limitS ? new TooSlow() : new Error(`${cmd} failed (${code}): ${err.slice(-2000)}`));
    });
  });

const timed = async (run: () => Promise<unknown>): Promise<number> => {
  const t = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t) / 1e9;
};

const hasCommand = async (name: string): Promise<boolean> =>
  sh('sh', ['-c', `command -v ${name}`]).then(
    () => true,
    () => false,
  );

const main = async (): Promise<void> => {
  const work = await mkdtemp(join(tmpdir(), 'kubeinstall-bench-ssh-'));
  const tb = await startTestbed({
    network: { name: 'bench-ssh', subnet: '198.18.30.0/24' },
    hosts: Array.from({ length: hostCount(process.argv.slice(2)) }, (_, i) => ({ name: `b${11 + i}`, address: `198.18.30.${11 + i}` })),
  });
  try {
    const src = join(work, 'files');
    await mkdir(join(src, 'conf'), { recursive: true });
    const files: PlannedFile[] = [];
    for (const [name, size] of BINARIES) {
      const file = await randomFile(join(src, name), size * MiB);
      files.push({
        path: `/opt/bench-ki/${name}`,
        mode: 0o755,
        owner: 'root:root',
        ...file,
        content: { kind: 'local', localPath: join(src, name) },
        restarts: [],
      });
    }
    for (let i = 0; i < SMALL_FILES; i++) {
      const data = randomBytes(512 + ((i * 977) % 7680)).toString('base64');
      await writeFile(join(src, 'conf', `f${i}.conf`), data);
      const buf = Buffer.from(data);
      files.push({
        path: `/opt/bench-ki/conf/f${i}.conf`,
        mode: 0o644,
        owner: 'root:root',
        sha256: createHash('sha256').update(buf).digest('hex'),
        size: buf.length,
        content: { kind: 'inline', data: buf },
        restarts: [],
      });
    }
    const items: UploadItem[] = files.map(({ content, restarts: _, ...f }) => ({ ...f, source: content }));
    const knownHosts = join(work, 'known_hosts');
    await writeFile(knownHosts, await tb.knownHosts());
    const sshOpts = ['-i', tb.privateKeyPath, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
    const hosts = tb.hosts.map((h) => modelHost(tb, h.name));

    const rows: [string, number, number | undefined][] = [];
    const progress = (what: string): void => void process.stderr.write(`${what}\n`);
    const executorFor = () => createExecutor({ clusterKnownHosts: knownHosts, knownHostsFiles: [], sshConfigFile: null });
    let scp = Number.POSITIVE_INFINITY;
    for (let round = 1; round <= ROUNDS; round++) {
      await Promise.all(tb.hosts.map((h) => tb.hostExec(h.name, 'rm -rf /opt/bench-scp /opt/bench-ki /var/lib/kubeinstall')));
      const scpRound = await timed(() => Promise.all(tb.hosts.map((h) => sh('scp', ['-q', '-r', ...sshOpts, src, `root@${h.address}:/opt/bench-scp`]))));
      // A first copy as deploy makes it: connections opened, every file sent, then the hosts' hash records written.
      const first = executorFor();
      const kiFirst = await timed(() =>
        Promise.all(
          hosts.map(async (h) => {
            await first.upload(h, items, { step: 'bench' });
            await first.exec(h, recordHashesCommand(files), { step: 'record file hashes', stdin: recordInput(files) });
          }),
        ),
      );
      await first.close();
      // The no-change re-run: what deploy's upload phase does when nothing differs.
      const again = executorFor();
      const kiAgain = await timed(() =>
        Promise.all(
          hosts.map(async (h) => {
            const { stdout } = await again.exec(h, statCommand(files), { step: 'compare files' });
            const remote = parseStatOutput(stdout);
            const changed = changedFiles(files, remote.known);
            if (remote.unknown.length || changed.length)
              throw new Error(`${h.name}: the re-run would send ${changed.length} files: the timings compare different work`);
          }),
        ),
      );
      await again.close();
      rows.push(
        [`kubeinstall executor (SFTP), round ${round}`, kiFirst, kiAgain],
        [`scp, ${hosts.length} hosts in parallel, round ${round}`, scpRound, undefined],
      );
      scp = Math.min(scp, scpRound);
      const ratio = (kiFirst / scpRound).toFixed(2);
      progress(`round ${round}: scp ${scpRound.toFixed(2)} s, kubeinstall ${kiFirst.toFixed(2)} s (${ratio}x), re-run ${kiAgain.toFixed(2)} s`);
    }
    progress(`ansible next (up to ${ANSIBLE_LIMIT_S} s a run)`);

    if (await hasCommand('ansible')) {
      const inventory = join(work, 'hosts.ini');
      await writeFile(
        inventory,
        `${tb.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_user=root ansible_ssh_private_key_file=${tb.privateKeyPath}`).join('\n')}\n`,
      );
      const env = {
        ...process.env,
        ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${knownHosts} -o ControlMaster=auto -o ControlPersist=60s`,
        ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      };
      const ansible = (): Promise<void> =>
        sh('ansible', ['all', '-i', inventory, '-f', String(hosts.length), '-m', 'copy', '-a', `src=${src}/ dest=/opt/bench-ansible/`], env, ANSIBLE_LIMIT_S);
      try {
        rows.push([`ansible -m copy (forks ${hosts.length})`, await timed(ansible), await timed(ansible)]);
      } catch (err) {
        if (!(err instanceof TooSlow)) throw err;
        rows.push([`ansible -m copy (forks ${hosts.length}), stopped after ${ANSIBLE_LIMIT_S} s`, ANSIBLE_LIMIT_S, undefined]);
      }
    } else {
      console.log('ansible not installed: its row is left out');
    }

    const totalMiB = (items.reduce((n, i) => n + i.size, 0) / MiB).toFixed(1);
    console.log(`\ncopy ${totalMiB} MiB (${BINARIES.length} binaries + ${SMALL_FILES} small files) to ${hosts.length} hosts\n`);
    console.log(`| tool | first copy | vs parallel scp (its round) | re-run, nothing changed | targets: first within 1.3x, re-run under 1 s |`);
    console.log('|---|---|---|---|---|');
    for (const [i, [name, first, again]] of rows.entries()) {
      // each kubeinstall row is followed by the scp row of its round; other tools compare with the faster scp
      const base = name.startsWith('kubeinstall') ? rows[i + 1]![1] : name.startsWith('scp') ? first : scp;
      const cells = [
        name,
        `${name.includes('stopped') ? '>' : ''}${first.toFixed(2)} s`,
        `${(first / base).toFixed(2)}x`,
        again === undefined ? '-' : `${again.toFixed(2)} s`,
        name.startsWith('kubeinstall') ? `${first / base <= 1.3 ? 'met' : 'missed'}, ${again !== undefined && again < 1 ? 'met' : 'missed'}` : '',
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
    // the copies must be identical, or the timings compare different work
    const check = await tb.hostExec(tb.hosts.at(-1)!.name, 'cd /opt && sha256sum bench-ki/kubelet bench-scp/kubelet');
    const sums = new Set(
      check.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[0]),
    );
    if (sums.size !== 1) throw new Error(`copies differ:\n${check.stdout}`);
  } finally {
    await tb.stop();
    await rm(work, { recursive: true, force: true });
  }
};

await main();
