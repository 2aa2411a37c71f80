// `npm run bench:etcd`: `kubeinstall etcd backup` and `etcd restore` of a ~100 MiB keyspace on 3 real etcd
// members (test-bed hosts 198.18.53.21-23, bridge bench-etcd), against the same work done by hand in the
// same run: `etcdctl snapshot save` on a member and scp of the file here; scp to every member, then on
// each at once: stop etcd, `etcdctl snapshot restore` into a new data dir, start etcd, wait for health.
// The etcdctl commands alone are timed too, so the ratio can be read either way.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { etcdClusterToken, etcdInitialCluster, etcdPeerUrl } from '../src/render/etcd.js';
import { loadInventory } from '../src/inventory/load.js';
import { startSetting, type BedHost, type Setting } from '../test/integration/deploy/fixtures.js';

const KUBEINSTALL_BIN = new URL('../bin/kubeinstall', import.meta.url).pathname;
const MEMBERS: BedHost[] = [1, 2, 3].map((n) => ({ name: `be${n}`, address: `198.18.53.${20 + n}`, roles: ['etcd'] }));
const TARGET_MIB = 100;
const KEYS_PER_TXN = 10;
const VALUE_BYTES = 100 * 1024; // 10 a transaction: ~1 MiB, under etcd's 1.5 MiB request limit

const sh = (cmd: string, args: readonly string[], input?: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ETCDCTL_API: '3', NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${(err || out).slice(-1500)}`))));
    child.stdin.on('error', () => undefined); // a child that exits without reading it: its exit code says why
    child.stdin.end(input ?? '');
  });

const timed = async (work: () => Promise<unknown>): Promise<number> => {
  const started = Date.now();
  await work();
  return Date.now() - started;
};
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

const fill = async (s: Setting): Promise<void> => {
  const pki = join(s.clusterDir, 'pki/etcd');
  const tls = [
    `--endpoints=https://${MEMBERS[0]!.address}:2379`,
    `--cacert=${pki}/ca.crt`,
    `--cert=${pki}/healthcheck-client.crt`,
    `--key=${pki}/healthcheck-client.key`,
  ];
  const txns = Math.ceil((TARGET_MIB * 1048576) / (KEYS_PER_TXN * VALUE_BYTES));
  for (let t = 0; t < txns; t++) {
    const puts = Array.from({ length: KEYS_PER_TXN }, (_, i) => `put /bench/${t}/${i} ${randomBytes((VALUE_BYTES * 3) / 4).toString('base64')}`);
    await sh('etcdctl', [...tls, '--command-timeout=30s', 'txn'], `\n${puts.join('\n')}\n\n\n`);
  }
};

const main = async (): Promise<void> => {
  const s = await startSetting({ name: 'bench-etcd', subnet: '198.18.53.0/24' }, MEMBERS);
  try {
    await s.deploy();
    await fill(s);
    const { model } = await loadInventory(s.inventory);
    const ssh = [
      '-i',
      s.tb.privateKeyPath,
      '-o',
      `UserKnownHostsFile=${join(s.clusterDir, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
    ];
    const onHost = (h: BedHost, command: string): Promise<string> => sh('ssh', [...ssh, `root@${h.address}`, command]);
    const etcdctl = (h: BedHost, args: string): string =>
      `ETCDCTL_API=3 etcdctl --endpoints=https://${h.address}:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt ` +
      `--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key --command-timeout=10m ${args}`;

    // kubeinstall, as a user runs it.
    let backup = '';
    const oursBackup = await timed(async () => {
      const out = await sh(process.execPath, [KUBEINSTALL_BIN, 'etcd', 'backup', '-i', s.inventory]);
      backup = /^backup: (\S+) /m.exec(out)![1]!;
    });
    const mib = Number((await sh('stat', ['-c', '%s', backup])).trim()) / 1048576;
    const oursRestore = await timed(() => sh(process.execPath, [KUBEINSTALL_BIN, 'etcd', 'restore', '-i', s.inventory, backup, '--yes']));

    // By hand: the same work with etcdctl, ssh and scp.
    const saveOnly = await timed(() => onHost(MEMBERS[1]!, etcdctl(MEMBERS[1]!, 'snapshot save /var/tmp/hand.db')));
    const copyHere = await timed(() => sh('scp', ['-q', ...ssh, `root@${MEMBERS[1]!.address}:/var/tmp/hand.db`, join(s.dir, 'hand.db')]));
    const copyThere = await timed(() =>
      Promise.all(MEMBERS.map((h) => sh('scp', ['-q', ...ssh, join(s.dir, 'hand.db'), `root@${h.address}:/var/tmp/hand.db`]))),
    );
    const stop = await timed(() => Promise.all(MEMBERS.map((h) => onHost(h, 'systemctl stop etcd'))));
    const restoreOnly = await timed(() =>
      Promise.all(
        MEMBERS.map((h) => {
          const host = model.hosts.find((x) => x.name === h.name)!;
          return onHost(
            h,
            `mv /var/lib/etcd /var/lib/etcd.hand && ETCDCTL_API=3 etcdctl snapshot restore /var/tmp/hand.db --name=${h.name} ` +
              `--initial-cluster=${etcdInitialCluster(model)} --initial-cluster-token=${etcdClusterToken(model)} ` +
              `--initial-advertise-peer-urls=${etcdPeerUrl(host)} --data-dir=/var/lib/etcd 2>/dev/null`,
          );
        }),
      ),
    );
    const start = await timed(() =>
      Promise.all(
        MEMBERS.map((h) => onHost(h, `systemctl start --no-block etcd && until ${etcdctl(h, 'endpoint health')} >/dev/null 2>&1; do sleep 0.2; done`)),
      ),
    );

    const handBackup = saveOnly + copyHere;
    const handRestore = copyThere + stop + restoreOnly + start;
    const ours = oursBackup + oursRestore;
    const hand = handBackup + handRestore;
    console.log(`\n3 members, snapshot of ${mib.toFixed(1)} MiB\n`);
    console.log('| what | kubeinstall | by hand | ratio |');
    console.log('|---|---|---|---|');
    const row = (what: string, oursMs: number, handMs: number): void =>
      console.log(`| ${what} | ${seconds(oursMs)} | ${seconds(handMs)} | ${(oursMs / handMs).toFixed(2)}x |`);
    row(`backup (by hand: snapshot save ${seconds(saveOnly)} + scp here ${seconds(copyHere)})`, oursBackup, handBackup);
    row(
      `restore (by hand: scp to 3 ${seconds(copyThere)} + stop ${seconds(stop)} + ` +
        `snapshot restore ${seconds(restoreOnly)} + start and health ${seconds(start)})`,
      oursRestore,
      handRestore,
    );
    row('total (target: within 1.3x)', ours, hand);
    row('vs the etcdctl commands alone (save + restore)', ours, saveOnly + restoreOnly);
  } finally {
    await s.stop();
  }
};

await main();
