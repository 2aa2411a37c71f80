// End to end on the test bed (198.18.61.0/24): a real registry (Debian's docker-registry, the CNCF distribution
// registry) on the runner's bridge address with TLS from a test CA and basic auth (bcrypt htpasswd) mirrors docker.io.
// deploy renders cluster.registries as containerd hosts.toml (credentials from the environment, 0600, never logged);
// `ctr images pull --hosts-dir` on the node pulls through the mirror; a wrong password fails with the registry's 401.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerManifest } from '../../../src/images/archive.js';
import { readTarEntries, type TarEntry } from '../../../src/images/tar.js';
import { busyboxImage, writeTestImage } from '../../images/test-image.js';
import { startSetting, type BedHost, type Setting } from './fixtures.js';

const HOST: BedHost = { name: 'rg-1', address: '198.18.61.11', roles: ['etcd', 'master'] };
const PORT = 5443;
const USER = 'puller';
const PASSWORD = 'correct horse battery staple';
const REPO = 'library/busybox';
const IMAGE = `docker.io/${REPO}:mirrored`;
const HOSTS_DIR = '/etc/containerd/certs.d';
let s: Setting;
let registry: ChildProcess | undefined;
let gateway: string;

const sh = (cmd: string, args: string[], cwd: string): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A test CA and a server certificate for the bridge address, with openssl. */
const makeTls = (dir: string, address: string): void => {
  sh(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=test registry CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  sh(
    'openssl',
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${address}`, '-keyout', 'server.key', '-out', 'server.csr'],
    dir,
  );
  const ext = `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth\n`;
  execFileSync('sh', ['-c', `printf '${ext}' > ext.cnf`], { cwd: dir });
  sh(
    'openssl',
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.crt'],
    dir,
  );
};

const startRegistry = async (dir: string, address: string): Promise<ChildProcess> => {
  await writeFile(join(dir, 'htpasswd'), sh('htpasswd', ['-Bbn', USER, PASSWORD], dir));
  const config = [
    'version: 0.1',
    'log: { level: warn }',
    `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} } }`,
    `http: { addr: "${address}:${PORT}", tls: { certificate: ${join(dir, 'server.crt')}, key: ${join(dir, 'server.key')} } }`,
    `auth: { htpasswd: { realm: test-registry, path: ${join(dir, 'htpasswd')} } }`,
  ].join('\n');
  await writeFile(join(dir, 'registry.yml'), `${config}\n`);
  const child = spawn('docker-registry', ['serve', join(dir, 'registry.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    if ((await api('GET', '/v2/', dir, address).catch(() => ({ status: 0 }))).status === 200) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`docker-registry did not answer on ${address}:${PORT}: ${stderr}`);
};

/** One request to the registry's HTTP API with basic auth, trusting the test CA. */
const api = (method: string, path: string, dir: string, address: string, body?: Buffer, contentType?: string): Promise<{ status: number; location?: string }> =>
  readFile(join(dir, 'ca.crt')).then(
    (ca) =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: address,
            port: PORT,
            path,
            method,
            ca,
            headers: {
              Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
              ...(body ? { 'Content-Length': body.length, 'Content-Type': contentType ?? 'application/octet-stream' } : {}),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}) }));
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
  );

/** Pushes a docker archive's image as a client does: each blob by a monolithic upload, then the manifest. */
const push = async (archive: string, dir: string, address: string): Promise<void> => {
  const { entries } = await readTarEntries(archive, 64 * 1024 * 1024);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const [m] = JSON.parse(byName.get('manifest.json')!.data!.toString()) as { Config: string; Layers: string[] }[];
  const config = byName.get(m!.Config)!;
  const layers = m!.Layers.map((l) => byName.get(l)!);
  for (const blob of [config, ...layers] as TarEntry[]) {
    const started = await api('POST', `/v2/${REPO}/blobs/uploads/`, dir, address);
    expect(started.status).toBe(202);
    const url = new URL(started.location!, `https://${address}:${PORT}`);
    url.searchParams.set('digest', `sha256:${blob.sha256}`);
    expect((await api('PUT', `${url.pathname}${url.search}`, dir, address, blob.data!)).status).toBe(201);
  }
  const manifest = Buffer.from(dockerManifest(config, layers));
  expect((await api('PUT', `/v2/${REPO}/manifests/mirrored`, dir, address, manifest, 'application/vnd.docker.distribution.manifest.v2+json')).status).toBe(201);
};

beforeAll(async () => {
  process.env.KI_TEST_MIRROR_USER = USER;
  process.env.KI_TEST_MIRROR_PASSWORD = PASSWORD;
  s = await startSetting({ name: 'registry', subnet: '198.18.61.0/24' }, [HOST], {
    containers: true,
    cluster: {
      registries: [
        {
          host: 'docker.io',
          mirrors: [`https://198.18.61.1:${PORT}`],
          caFile: 'mirror-ca.crt',
          usernameEnv: 'KI_TEST_MIRROR_USER',
          passwordEnv: 'KI_TEST_MIRROR_PASSWORD',
        },
      ],
    },
  });
  gateway = s.tb.network!.gateway;
  expect(gateway).toBe('198.18.61.1');
  makeTls(s.dir, gateway);
  await writeFile(join(s.dir, 'mirror-ca.crt'), await readFile(join(s.dir, 'ca.crt')));
  registry = await startRegistry(s.dir, gateway);
  writeTestImage(busyboxImage(IMAGE), join(s.dir, 'busybox.tar'));
  await push(join(s.dir, 'busybox.tar'), s.dir, gateway);
}, 120_000);
afterAll(async () => {
  registry?.kill();
  await s?.stop();
  delete process.env.KI_TEST_MIRROR_USER;
  delete process.env.KI_TEST_MIRROR_PASSWORD;
});

const pull = (ref: string) => s.tb.hostExec(HOST.name, `ctr -n k8s.io images pull --hosts-dir ${HOSTS_DIR} ${ref}`, { timeoutMs: 60_000, allowFailure: true });

describe('registry mirrors', () => {
  it('deploy writes hosts.toml (0600, the CA beside it) and never the password to its log; ctr pulls through the mirror', async () => {
    const result = await s.deploy();
    const stat = (await s.tb.hostExec(HOST.name, `stat -c '%a %n' ${HOSTS_DIR}/docker.io/*`)).stdout;
    expect(stat).toBe(`644 ${HOSTS_DIR}/docker.io/ca.crt\n600 ${HOSTS_DIR}/docker.io/hosts.toml\n`);
    expect((await s.tb.hostExec(HOST.name, 'cat /etc/containerd/config.toml')).stdout).toContain(`config_path = "${HOSTS_DIR}"`);
    const secret = [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')];
    const logs = await Promise.all((await readdir(join(s.clusterDir, 'logs'))).map((f) => readFile(join(s.clusterDir, 'logs', f), 'utf8')));
    for (const text of [...logs, JSON.stringify(result.summary)]) for (const x of secret) expect(text).not.toContain(x);

    const pulled = await pull(IMAGE);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect((await s.tb.hostExec(HOST.name, 'ctr -n k8s.io images ls -q')).stdout).toContain(IMAGE);
    const ran = await s.tb.hostExec(HOST.name, `ctr -n k8s.io run --rm --runc-systemd-cgroup --cgroup ki.slice:ctr:m ${IMAGE} m /bin/echo pulled`);
    expect(ran.stdout).toBe('pulled\n');
  }, 180_000);

  it('a wrong password: the pull fails with the registry refusing the credentials', async () => {
    process.env.KI_TEST_MIRROR_PASSWORD = 'wrong password';
    try {
      await s.deploy();
      const failed = await pull(IMAGE);
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toMatch(/401 Unauthorized/);
    } finally {
      process.env.KI_TEST_MIRROR_PASSWORD = PASSWORD;
    }
  }, 120_000);
});
