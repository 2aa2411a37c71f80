// Copy the same files (150 MiB of binaries and 200 small files) to 3 test-bed hosts with kubeinstall's
// executor, with scp to the hosts in parallel, and with `ansible -m copy`; print times and ratios
// against parallel scp measured in the same run. Hosts: 198.18.30.11-13, each with its own network.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    hosts: [11, 12, 13].map((n) => ({ name: `b${n}`, address: `198.18.30.${n}` })),
  });
  try {
    const src = join(work, 'files');
    await mkdir(join(src, 'conf'), { recursive: true });
    const items: UploadItem[] = [];
    for (const [name, size] of BINARIES) {
      const file = await randomFile(join(src, name), size * MiB);
      items.push({ path: `/opt/bench-ki/${name}`, mode: 0o755, owner: 'root:root', ...file, source: { kind: 'local', localPath: join(src, name) } });
    }
    for (let i = 0; i < SMALL_FILES; i++) {
      const data = randomBytes(512 + ((i * 977) % 7680)).toString('base64');
      await writeFile(join(src, 'conf', `f${i}.conf`), data);
      const buf = Buffer.from(data);
      items.push({
        path: `/opt/bench-ki/conf/f${i}.conf`,
        mode: 0o644,
        owner: 'root:root',
        sha256: createHash('sha256').update(buf).digest('hex'),
        size: buf.length,
        source: { kind: 'inline', data: buf },
      });
    }
    const knownHosts = join(work, 'known_hosts');
    await writeFile(knownHosts, await tb.knownHosts());
    const sshOpts = ['-i', tb.privateKeyPath, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
    const hosts = tb.hosts.map((h) => modelHost(tb, h.name));

    const rows: [string, number, number | undefined][] = [];
    const progress = (what: string): void => void process.stderr.write(`${what}\n`);
    const scp = await timed(() => Promise.all(tb.hosts.map((h) => sh('scp', ['-q', '-r', ...sshOpts, src, `root@${h.address}:/opt/bench-scp`]))));

    const executor = createExecutor({ clusterKnownHosts: knownHosts, knownHostsFiles: [], sshConfigFile: null });
    // The executor sends what it is given: skipping unchanged files is the upload phase's decision, so the
    // no-change re-run is measured by bench:deploy, not here.
    const kiFirst = await timed(() => Promise.all(hosts.map((h) => executor.upload(h, items, { step: 'bench' }))));
    await executor.close();
    rows.push(['kubeinstall executor (SFTP)', kiFirst, undefined], ['scp, 3 hosts in parallel', scp, undefined]);
    progress(`scp ${scp.toFixed(2)} s, kubeinstall ${kiFirst.toFixed(2)} s; ansible next (up to ${ANSIBLE_LIMIT_S} s a run)`);

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
        sh('ansible', ['all', '-i', inventory, '-f', '3', '-m', 'copy', '-a', `src=${src}/ dest=/opt/bench-ansible/`], env, ANSIBLE_LIMIT_S);
      try {
        rows.push(['ansible -m copy (forks 3)', await timed(ansible), await timed(ansible)]);
      } catch (err) {
        if (!(err instanceof TooSlow)) throw err;
        rows.push([`ansible -m copy (forks 3), stopped after ${ANSIBLE_LIMIT_S} s`, ANSIBLE_LIMIT_S, undefined]);
      }
    } else {
      console.log('ansible not installed: its row is left out');
    }

    const totalMiB = (items.reduce((n, i) => n + i.size, 0) / MiB).toFixed(1);
    console.log(`\ncopy ${totalMiB} MiB (${BINARIES.length} binaries + ${SMALL_FILES} small files) to ${hosts.length} hosts\n`);
    console.log('| tool | first copy | vs parallel scp | re-run, nothing changed (kubeinstall: see bench:deploy) |');
    console.log('|---|---|---|---|');
    for (const [name, first, again] of rows) {
      const cells = [
        name,
        `${name.includes('stopped') ? '>' : ''}${first.toFixed(2)} s`,
        `${(first / scp).toFixed(2)}x`,
        again === undefined ? '-' : `${again.toFixed(2)} s`,
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
    // the copies must be identical, or the timings compare different work
    const check = await tb.hostExec('b11', 'cd /opt && sha256sum bench-ki/kubelet bench-scp/kubelet');
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
