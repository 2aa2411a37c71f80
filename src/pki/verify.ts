// `verify-certs`: every certificate and kubeconfig of the plan checked against its spec, one row each.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Role } from '../inventory/model.js';
import { parseKubeconfig } from '../kubeconfig/kubeconfig.js';
import { certProblems, daysLeft } from './checks.js';
import { parsePrivateKey, publicKeyPem } from './keys.js';
import { expandPki, HOST_DIRS, SERVICE_ACCOUNT_FILES, type CertInstance, type Host, type PkiModel, type PkiPlan } from './specs.js';
import { trustBundle } from './rotation.js';
import { CERT_MODE, IO_CONCURRENCY, readIfExists, readMaterial, readRotationBeside, SECRET_MODE, type Material } from './store.js';
import { mapLimit } from '../util/semaphore.js';
import { parseCertificate, type CertInfo } from './x509.js';

export type Status = 'ok' | 'expiring' | 'invalid';

export interface VerifyRow {
  /** The host it was read from (`verify-certs --remote`); absent for the cluster folder's. */
  readonly host?: string;
  /** `apiserver`, `etcd-server/m1`, or a kubeconfig's path such as `kubeconfigs/admin.conf`. */
  readonly name: string;
  readonly kind: 'ca' | 'certificate' | 'kubeconfig' | 'key-pair';
  readonly file: string;
  readonly ca?: string;
  readonly expires?: string;
  readonly residualSeconds?: number;
  /** A CA whose key is not here: it signs elsewhere. */
  readonly externallyManaged?: boolean;
  readonly status: Status;
  readonly problems: readonly string[];
}

export interface VerifyOptions {
  readonly now?: Date;
  readonly warnWithinDays: number;
  /** The plan came from an inventory: SANs, servers and the cluster name can be checked too. */
  readonly checkInventory: boolean;
}

const modeProblem = async (dir: string, file: string, want: number): Promise<string | undefined> => {
  const info = await stat(join(dir, file)).catch(() => undefined);
  const mode = info ? info.mode & 0o777 : want;
  return mode !== want ? `${file} has mode ${mode.toString(8).padStart(4, '0')}, expected ${want.toString(8).padStart(4, '0')}` : undefined;
};

const statusOf = (problems: readonly string[], cert: CertInfo | undefined, now: Date, warnWithinDays: number): Status =>
  problems.length ? 'invalid' : cert && daysLeft(cert, now) < warnWithinDays ? 'expiring' : 'ok';

const validity = (cert: CertInfo | undefined, now: Date) =>
  cert ? { expires: cert.notAfter.toISOString(), residualSeconds: Math.floor((cert.notAfter.getTime() - now.getTime()) / 1000) } : {};

/** The problems of one certificate as found, or why it could not be read at all. */
const materialProblems = (c: CertInstance, m: Material, ca: CertInfo | undefined, checkSans: boolean, now: Date, keyElsewhere = false): string[] =>
  m.cert ? certProblems(c, m.cert, m.key, ca, { now, renewWithinDays: 0, sans: checkSans ? 'cover' : 'skip', keyElsewhere }) : [`${m.source}: ${m.certError}`];

export const verifyPki = async (dir: string, plan: PkiPlan, opts: VerifyOptions): Promise<VerifyRow[]> => {
  const now = opts.now ?? new Date();
  const checkSans = opts.checkInventory;
  const filed = plan.certs.filter((c) => c.files);
  const material = readMaterial(dir, { ...plan, certs: filed });
  const caCert = (c: CertInstance): CertInfo | undefined => material.get(c.ca)?.cert;
  // during a CA rotation, kubeconfigs trust the CA beside each signer too, and sa.pub holds the other key as well
  const beside = await readRotationBeside(
    dir,
    plan.certs.filter((c) => c.spec.ca === 'self').map((c) => c.ca),
  );

  const certRows = await mapLimit(filed, IO_CONCURRENCY, async (c): Promise<VerifyRow> => {
    const m = material.get(c.id)!;
    const isCa = c.spec.ca === 'self';
    const external = isCa && m.cert !== undefined && m.keyPem === undefined;
    const modes =
      m.certPem !== undefined
        ? [await modeProblem(dir, c.files!.crt, CERT_MODE), m.keyPem !== undefined ? await modeProblem(dir, c.files!.key, SECRET_MODE) : undefined]
        : [];
    const problems = [...materialProblems(c, m, caCert(c), checkSans, now, external), ...modes.filter((p): p is string => p !== undefined)];
    return {
      name: c.id,
      kind: isCa ? 'ca' : 'certificate',
      file: c.files!.crt,
      ca: c.ca,
      ...validity(m.cert, now),
      ...(isCa ? { externallyManaged: external } : {}),
      status: statusOf(problems, m.cert, now, opts.warnWithinDays),
      problems,
    };
  });

  const byId = new Map(plan.certs.map((c) => [c.id, c]));
  const kubeconfigRows = await mapLimit(plan.kubeconfigs, IO_CONCURRENCY, async (k): Promise<VerifyRow> => {
    const c = byId.get(k.certId)!;
    const row = { name: k.file, kind: 'kubeconfig' as const, file: k.file, ca: c.ca };
    const text = await readIfExists(join(dir, k.file));
    if (!text) return { ...row, status: 'invalid', problems: [`${k.file}: missing`] };
    let content: ReturnType<typeof parseKubeconfig>;
    try {
      content = parseKubeconfig(text.toString());
    } catch (err) {
      return { ...row, status: 'invalid', problems: [`${k.file}: unreadable kubeconfig: ${(err as Error).message}`] };
    }
    const m = material.get(c.ca);
    let cert: CertInfo | undefined;
    try {
      cert = parseCertificate(content.certPem);
    } catch {
      // reported below as unreadable
    }
    const embedded: Material = {
      source: k.file,
      certPem: content.certPem,
      cert,
      key: parsePrivateKey(content.keyPem),
      certError: cert ? undefined : 'client-certificate-data is not a readable PEM certificate',
    };
    const problems = [
      ...materialProblems(c, embedded, caCert(c), checkSans, now),
      content.user !== c.subject.cn ? `user is "${content.user}", expected "${c.subject.cn}"` : undefined,
      m?.certPem !== undefined && content.caPem !== trustBundle(m.certPem, beside.cas.get(c.ca))
        ? `certificate-authority-data is not ${c.ca} (${m.source})${beside.cas.has(c.ca) ? ' and the CA beside it in the rotation' : ''}`
        : undefined,
      checkSans && content.server !== k.server ? `server is ${content.server}, expected ${k.server}` : undefined,
      checkSans && content.clusterName !== k.clusterName ? `cluster is "${content.clusterName}", expected "${k.clusterName}"` : undefined,
      await modeProblem(dir, k.file, SECRET_MODE),
    ].filter((p): p is string => p !== undefined);
    return { ...row, ...validity(cert, now), status: statusOf(problems, cert, now, opts.warnWithinDays), problems };
  });

  return [...certRows, ...kubeconfigRows, ...(plan.serviceAccount ? [await verifyServiceAccount(dir, beside.saPub)] : [])];
};

const verifyServiceAccount = async (dir: string, besidePub: string | undefined): Promise<VerifyRow> => {
  const [keyPem, pub] = await Promise.all([readIfExists(join(dir, SERVICE_ACCOUNT_FILES.key)), readIfExists(join(dir, SERVICE_ACCOUNT_FILES.pub))]);
  const key = keyPem && parsePrivateKey(keyPem);
  const problems = [
    !keyPem ? `${SERVICE_ACCOUNT_FILES.key}: missing` : !key ? `${SERVICE_ACCOUNT_FILES.key}: not a readable private key` : undefined,
    !pub
      ? `${SERVICE_ACCOUNT_FILES.pub}: missing`
      : key && pub.toString() !== trustBundle(publicKeyPem(key), besidePub)
        ? `${SERVICE_ACCOUNT_FILES.pub} is not the public half of ${SERVICE_ACCOUNT_FILES.key}${besidePub ? " and the rotation's other key" : ''}`
        : undefined,
    keyPem ? await modeProblem(dir, SERVICE_ACCOUNT_FILES.key, SECRET_MODE) : undefined,
    pub ? await modeProblem(dir, SERVICE_ACCOUNT_FILES.pub, SECRET_MODE) : undefined,
  ].filter((p): p is string => p !== undefined);
  return { name: 'sa', kind: 'key-pair', file: SERVICE_ACCOUNT_FILES.key, status: problems.length ? 'invalid' : 'ok', problems };
};

const subfolders = async (path: string): Promise<string[]> =>
  (await readdir(path, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

/**
 * Without an inventory, the hosts are read from the folder names the PKI uses. Addresses are unknown, so
 * the resulting model serves to name and check subjects, chains, usages, keys and modes, never SANs.
 */
export const discoverPlan = async (dir: string): Promise<PkiPlan> => {
  const found = await Promise.all(Object.values(HOST_DIRS).map(async (d) => ({ role: d.role, names: await subfolders(join(dir, d.dir)) })));
  const roles = new Map<string, Role[]>();
  for (const { role, names } of found) for (const n of names) roles.set(n, [...new Set([...(roles.get(n) ?? []), role])]);
  const hosts = [...roles].map(([name, r]): Host => ({ name, address: name, internalAddress: name, roles: r }));
  const unknown = 'unknown';
  const model: PkiModel = {
    name: unknown,
    apiEndpoint: { host: unknown, port: 0, kind: 'master', url: unknown },
    apiServerPort: 0,
    kubernetesServiceIp: '',
    clusterDomain: unknown,
    apiServerExtraSans: [],
    caValidityDays: 0,
    certValidityDays: 0,
    hosts,
  };
  return expandPki(model);
};
