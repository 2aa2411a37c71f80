// `npm run bench:pki [-- --sizes 3+100,3+500 --algorithms rsa-2048,ecdsa-p256 --tools openssl,cfssl --jobs 1]`
// The whole PKI for M masters + N nodes made by `kubeinstall certs`, beside baselines measured in the same
// run: the bare cost of generating the same keys natively on every core, and the same keys and
// certificates made with the openssl command line and with cfssl, one command after another as the
// hand-written install guides do (--jobs runs that many at once).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadInventoryText } from '../src/inventory/load.js';
import type { ClusterModel, KeyAlgorithm } from '../src/inventory/model.js';
import { generatePki } from '../src/pki/generate.js';
import { generateKey } from '../src/pki/keys.js';
import { mapLimit } from '../src/util/semaphore.js';
import { expandPki, PROFILES, type CertInstance } from '../src/pki/specs.js';
import { run } from '../src/lab/proc.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '3+100,3+500' },
    algorithms: { type: 'string', default: 'rsa-2048,ecdsa-p256' },
    tools: { type: 'string', default: 'openssl,cfssl' }, // '' for none
    jobs: { type: 'string', default: '1' },
  },
});
const jobs = Number(args.jobs);

const inventoryText = (masters: number, nodes: number, algorithm: KeyAlgorithm): string => {
  const host = (name: string, i: number, roles: string): string => `  - { name: ${name}, address: 10.${Math.floor(i / 250)}.${i % 250}.10, roles: [${roles}] }`;
  return [
    'cluster:',
    '  name: bench',
    `  keyAlgorithm: ${algorithm}`,
    ...(masters > 1 ? ['  apiEndpoint: 192.0.2.100:6443', '  apiEndpointKind: vip'] : []),
    'hosts:',
    ...Array.from({ length: masters }, (_, i) => host(`master-${i + 1}`, i, 'etcd, master')),
    ...Array.from({ length: nodes }, (_, i) => host(`node-${i + 1}`, masters + i, 'node')),
  ].join('\n');
};
const modelOf = (masters: number, nodes: number, algorithm: KeyAlgorithm): ClusterModel =>
  loadInventoryText(inventoryText(masters, nodes, algorithm), '/bench/inventory.yaml').model;

/** CPU seconds of this process (every thread) plus its waited-for children (Linux /proc, 100 Hz ticks). */
const cpuSeconds = (): number => {
  const own = process.cpuUsage();
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const children = (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime
  return (own.user + own.system) / 1e6 + children;
};

interface Timed<T> {
  readonly seconds: number;
  /** CPU time, which other processes' load on the cores disturbs far less than wall time. */
  readonly cpu: number;
  readonly result: T;
}

const time = async <T>(fn: () => Promise<T>): Promise<Timed<T>> => {
  const [start, cpu] = [performance.now(), cpuSeconds()];
  const result = await fn();
  return { seconds: (performance.now() - start) / 1000, cpu: cpuSeconds() - cpu, result };
};

const exec = async (cmd: string, argv: readonly string[], input?: string): Promise<string> => (await run(cmd, argv, { input })).stdout;

/** CAs first, then every leaf once its CA exists: the order any hand-written script must follow. */
const inOrder = async (certs: readonly CertInstance[], make: (c: CertInstance) => Promise<unknown>): Promise<void> => {
  await mapLimit(
    certs.filter((c) => c.spec.ca === 'self'),
    jobs,
    make,
  );
  await mapLimit(
    certs.filter((c) => c.spec.ca !== 'self'),
    jobs,
    make,
  );
};

// ---- openssl command line: `req -newkey` makes key and CSR, `x509 -req` signs with an extension file ----
const OPENSSL_USAGE = { digitalSignature: 'digitalSignature', keyEncipherment: 'keyEncipherment', keyCertSign: 'keyCertSign' } as const;
const opensslNewKey = (a: KeyAlgorithm): string[] =>
  a === 'ecdsa-p256' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', `rsa:${a.slice(4)}`];
const opensslExtensions = (c: CertInstance): string[] => {
  const p = PROFILES[c.spec.profile];
  const sans = [...c.altNames.dnsNames.map((d) => `DNS:${d}`), ...c.altNames.ipAddresses.map((ip) => `IP:${ip}`)];
  return [
    `keyUsage=critical,${p.keyUsage.map((u) => OPENSSL_USAGE[u]).join(',')}`,
    `basicConstraints=critical,CA:${c.spec.profile === 'ca' ? 'TRUE' : 'FALSE'}`,
    ...(p.extKeyUsage.length ? [`extendedKeyUsage=${p.extKeyUsage.join(',')}`] : []),
    ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
  ];
};
const opensslSubject = (c: CertInstance): string => [...c.subject.o.map((o) => `/O=${o}`), `/CN=${c.subject.cn}`].join('');

const withOpenssl = async (model: ClusterModel, dir: string): Promise<void> => {
  const plan = expandPki(model);
  const path = (c: CertInstance): string => join(dir, c.id.replace('/', '_'));
  const byId = new Map(plan.certs.map((c) => [c.id, c]));
  await inOrder(plan.certs, async (c) => {
    const base = path(c);
    if (c.spec.ca === 'self') {
      await exec('openssl', [
        'req',
        '-x509',
        ...opensslNewKey(model.keyAlgorithm),
        '-nodes',
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.crt`,
        '-subj',
        opensslSubject(c),
        '-days',
        String(c.validityDays),
        ...opensslExtensions(c).flatMap((e) => ['-addext', e]),
      ]);
      return;
    }
    const ca = path(byId.get(c.ca)!);
    await writeFile(`${base}.ext`, `${opensslExtensions(c).join('\n')}\n`);
    await exec('openssl', [
      'req',
      '-new',
      ...opensslNewKey(model.keyAlgorithm),
      '-nodes',
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.csr`,
      '-subj',
      opensslSubject(c),
    ]);
    await exec('openssl', [
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      String(c.validityDays),
      '-extfile',
      `${base}.ext`,
      '-out',
      `${base}.crt`,
    ]);
  });
  await exec('openssl', [
    'genpkey',
    ...(model.keyAlgorithm === 'ecdsa-p256'
      ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
      : ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${model.keyAlgorithm.slice(4)}`]),
    '-out',
    join(dir, 'sa.key'),
  ]);
};

// ---- cfssl: `gencert -initca` for the CAs, `gencert -ca … -profile` per leaf, CSR JSON on stdin ----
const CFSSL_USAGES: Record<string, string[]> = {
  server: ['signing', 'key encipherment', 'server auth'],
  client: ['signing', 'key encipherment', 'client auth'],
  'server-client': ['signing', 'key encipherment', 'server auth', 'client auth'],
};
const cfsslKey = (a: KeyAlgorithm) => (a === 'ecdsa-p256' ? { algo: 'ecdsa', size: 256 } : { algo: 'rsa', size: Number(a.slice(4)) });

const withCfssl = async (model: ClusterModel, dir: string): Promise<void> => {
  const plan = expandPki(model);
  const config = join(dir, 'config.json');
  await writeFile(
    config,
    JSON.stringify({
      signing: {
        profiles: Object.fromEntries(Object.entries(CFSSL_USAGES).map(([name, usages]) => [name, { usages, expiry: `${model.certValidityDays * 24}h` }])),
      },
    }),
  );
  const path = (c: CertInstance): string => join(dir, c.id.replace('/', '_'));
  const byId = new Map(plan.certs.map((c) => [c.id, c]));
  await inOrder(plan.certs, async (c) => {
    const csr = {
      CN: c.subject.cn,
      names: c.subject.o.map((O) => ({ O })),
      hosts: [...c.altNames.dnsNames, ...c.altNames.ipAddresses],
      key: cfsslKey(model.keyAlgorithm),
      ...(c.spec.profile === 'ca' ? { ca: { expiry: `${c.validityDays * 24}h` } } : {}),
    };
    const ca = c.spec.ca === 'self' ? undefined : path(byId.get(c.ca)!);
    const out = await exec(
      'cfssl',
      ['gencert', '-loglevel', '5', ...(ca ? ['-ca', `${ca}.crt`, '-ca-key', `${ca}.key`, '-config', config, '-profile', c.spec.profile] : ['-initca']), '-'],
      JSON.stringify(csr),
    );
    const { cert, key } = JSON.parse(out) as { cert: string; key: string };
    await Promise.all([writeFile(`${path(c)}.crt`, cert), writeFile(`${path(c)}.key`, key, { mode: 0o600 })]);
  });
  await exec('cfssl', ['genkey', '-loglevel', '5', '-'], JSON.stringify({ CN: 'sa', key: cfsslKey(model.keyAlgorithm) }));
};

const BASELINES = {
  openssl: { label: `openssl CLI (${jobs === 1 ? 'sequential' : `${jobs} jobs`})`, binary: 'openssl', run: withOpenssl },
  cfssl: { label: `cfssl (${jobs === 1 ? 'sequential' : `${jobs} jobs`})`, binary: 'cfssl', run: withCfssl },
} as const;

const onPath = (binary: string): boolean => (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, binary)));

const scratch = async <T>(fn: (dir: string) => Promise<T>): Promise<T> => {
  const dir = await mkdtemp(join(tmpdir(), 'kubeinstall-bench-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

const row = (label: string, t: Timed<unknown>, note = ''): string =>
  `  ${label.padEnd(44)}${t.seconds.toFixed(2).padStart(8)} s wall ${t.cpu.toFixed(2).padStart(8)} s CPU   ${note}`;
const ratio = (a: Timed<unknown>, b: { seconds: number; cpu: number }): string =>
  `${(a.seconds / b.seconds).toFixed(2)}x wall, ${(a.cpu / b.cpu).toFixed(2)}x CPU`;

const scenario = async (masters: number, nodes: number, algorithm: KeyAlgorithm): Promise<void> => {
  const model = modelOf(masters, nodes, algorithm);
  const plan = expandPki(model);
  const keyCount = plan.certs.length + (plan.serviceAccount ? 1 : 0);
  console.log(
    `\n${masters} masters + ${nodes} nodes, ${algorithm}: ${plan.certs.length} certificates and ${keyCount} keys, ` +
      `${plan.kubeconfigs.length} kubeconfigs (${availableParallelism()} cores)`,
  );

  // Measured before and after, because the load other processes put on the cores drifts.
  const bareKeygen = () => time(() => Promise.all(Array.from({ length: keyCount }, () => generateKey(algorithm))));
  const before = await bareKeygen();
  console.log(row('bare native keygen, all cores (baseline)', before));

  await scratch(async (dir) => {
    const clusterDir = join(dir, 'cluster');
    const ours = await time(() => generatePki(model, clusterDir));
    const after = await bareKeygen();
    const bare = { seconds: (before.seconds + after.seconds) / 2, cpu: (before.cpu + after.cpu) / 2 };
    console.log(row('bare native keygen again, after', after));
    console.log(row('kubeinstall certs', ours, `${ratio(ours, bare)} of bare keygen (mean of before and after)`));
    const rerun = await time(() => generatePki(model, clusterDir));
    console.log(row('kubeinstall certs, re-run, nothing changed', rerun, `${rerun.result.written.length} files written`));
    const grown = modelOf(masters, nodes + 1, algorithm);
    const added = await time(() => generatePki(grown, clusterDir));
    const count = (o: string): number => added.result.certs.filter((c) => c.outcome === o).length;
    console.log(row('kubeinstall certs, re-run, one node added', added, `${count('created')} created, ${count('reissued')} re-issued`));

    for (const name of args.tools.split(',').filter(Boolean) as (keyof typeof BASELINES)[]) {
      const tool = BASELINES[name];
      if (!tool) throw new Error(`unknown tool ${name}; known: ${Object.keys(BASELINES).join(', ')}`);
      if (!onPath(tool.binary)) {
        console.log(`  ${tool.label.padEnd(44)}skipped: ${tool.binary} is not on PATH`);
        continue;
      }
      const out = join(dir, name);
      await mkdir(out, { recursive: true });
      const theirs = await time(() => tool.run(model, out));
      console.log(row(tool.label, theirs, `${ratio(theirs, ours)} of kubeinstall`));
    }
  });
};

for (const algorithm of args.algorithms.split(',') as KeyAlgorithm[]) {
  for (const size of args.sizes.split(',')) {
    const [masters, nodes] = size.split('+').map(Number);
    await scenario(masters!, nodes!, algorithm);
  }
}
