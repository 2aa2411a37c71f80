// `certs`: bring the cluster folder's PKI in line with the inventory. CAs are reused, leaves that still
// match their spec are kept, the rest are issued; every key is generated concurrently, CA keys first.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { ClusterModel } from '../inventory/model.js';
import { KubeinstallError } from '../util/errors.js';
import { renderKubeconfig } from '../kubeconfig/kubeconfig.js';
import { certProblems } from './checks.js';
import { generateKey, keyAlgorithm, parsePrivateKey, publicKeyPem, spkiOf, type GeneratedKey } from './keys.js';
import { expandPki, PROFILES, SERVICE_ACCOUNT_FILES, type CaName, type CertInstance } from './specs.js';
import { CERT_MODE, readMaterial, readServiceAccount, SECRET_MODE, writeAll, writeChanged, type Material, type OutputFile } from './store.js';
import { issueCertificate, keyIdentifier, type CertInfo, type Signer } from './x509.js';

/** kubeadm backdates every certificate by five minutes to absorb clock skew between hosts. */
const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

/** A leaf with less than a third of its validity (at most 30 days) left is re-issued. */
const renewWithinDays = (validityDays: number): number => Math.min(30, Math.floor(validityDays / 3));

export type Outcome = 'created' | 'kept' | 'reissued';

export interface CertResult {
  readonly id: string;
  readonly outcome: Outcome;
  /** Why it was re-issued. */
  readonly reason?: string;
}

export interface CertsReport {
  readonly certs: readonly CertResult[];
  readonly serviceAccount: Outcome;
  /** Files written (relative to the cluster folder); unchanged files are not rewritten. */
  readonly written: readonly string[];
}

export interface CertsOptions {
  /** Replace the CAs (and so every leaf). */
  readonly forceCa?: boolean;
  readonly now?: Date;
}

interface Issued {
  readonly certPem: string;
  readonly keyPem: string;
}

interface CaState {
  readonly outcome: Outcome;
  readonly reason?: string;
  /** Its key is not here: nothing new can be signed with it. */
  readonly external?: boolean;
  /** `cert` is read back only for a CA that was kept: a new CA's leaves are all issued anew. */
  readonly material: Promise<Issued & { readonly cert?: CertInfo; readonly signer?: Signer }>;
}

/** Keep, replace or create one CA; a CA cert without its key is an external CA, kept as it is. */
const decideCa = (c: CertInstance, found: Material, opts: Required<CertsOptions>, issueCa: () => Promise<Issued & { signer: Signer }>): CaState => {
  const { crt, key } = c.files!;
  if (opts.forceCa) return { outcome: found.certPem ? 'reissued' : 'created', reason: 'replaced (--force-ca)', material: handled(issueCa()) };
  if (found.certPem === undefined) {
    if (found.keyPem !== undefined) throw new KubeinstallError(`${key} exists without ${crt}: restore the certificate or remove the key`);
    return { outcome: 'created', material: handled(issueCa()) };
  }
  const cert = found.cert;
  if (!cert) throw new KubeinstallError(`${crt}: ${found.certError}; restore it, or replace every CA with --force-ca`);
  if (cert.notAfter <= opts.now) throw new KubeinstallError(`CA ${crt} expired on ${cert.notAfter.toISOString()}; replace the CAs with --force-ca`);
  if (found.keyPem !== undefined && !found.key) throw new KubeinstallError(`${key} is not a readable private key`);
  if (found.key && !cert.x509.checkPrivateKey(found.key)) throw new KubeinstallError(`${key} does not belong to ${crt}`);
  const signer = found.key && { subject: cert.subject, privateKey: found.key, keyId: cert.subjectKeyId ?? keyIdentifier(spkiOf(cert.x509.publicKey)) };
  return { outcome: 'kept', external: !signer, material: Promise.resolve({ certPem: found.certPem, keyPem: found.keyPem ?? '', cert, signer }) };
};

/** Marks a promise as handled now; whoever awaits it later still sees the rejection. */
const handled = <T>(p: Promise<T>): Promise<T> => {
  p.catch(() => undefined);
  return p;
};

const templateOf = (c: CertInstance, now: Date) => ({
  subject: c.subject,
  isCa: c.spec.profile === 'ca',
  keyUsage: PROFILES[c.spec.profile].keyUsage,
  extKeyUsage: PROFILES[c.spec.profile].extKeyUsage,
  dnsNames: c.altNames.dnsNames,
  ipAddresses: c.altNames.ipAddresses,
  notBefore: new Date(now.getTime() - BACKDATE_MS),
  notAfter: new Date(now.getTime() + c.validityDays * DAY_MS),
});

const issue = async (c: CertInstance, key: Promise<GeneratedKey>, signer: Promise<Signer>, now: Date): Promise<Issued> => {
  const [{ pem, spki }, by] = await Promise.all([key, signer]);
  return { certPem: issueCertificate(templateOf(c, now), spki, by), keyPem: pem };
};

/** A new CA signs its own certificate, then every leaf under it. */
const issueCa = async (c: CertInstance, key: Promise<GeneratedKey>, now: Date): Promise<Issued & { signer: Signer }> => {
  const { pem, spki } = await key;
  const signer = { subject: c.subject, privateKey: createPrivateKey(pem), keyId: keyIdentifier(spki) };
  return { ...(await issue(c, key, Promise.resolve(signer), now)), signer };
};

export const generatePki = async (model: ClusterModel, dir: string, options: CertsOptions = {}): Promise<CertsReport> => {
  const opts = { forceCa: options.forceCa ?? false, now: options.now ?? new Date() };
  const plan = expandPki(model);
  const [found, sa] = await Promise.all([readMaterial(dir, plan), plan.serviceAccount ? readServiceAccount(dir) : undefined]);
  const newKey = (): Promise<GeneratedKey> => generateKey(model.keyAlgorithm);

  // CA keys are requested first: the pool runs jobs in order, and every leaf waits for its CA.
  const cas = new Map<CaName, CaState>();
  for (const c of plan.certs.filter((c) => c.spec.ca === 'self')) {
    cas.set(c.ca, decideCa(c, found.get(c.id)!, opts, () => issueCa(c, newKey(), opts.now)));
  }
  const leaves = plan.certs.filter((c) => c.spec.ca !== 'self');
  const leafStates = await Promise.all(
    leaves.map(async (c) => {
      const ca = cas.get(c.ca)!;
      const have = found.get(c.id)!;
      const caMaterial = ca.outcome === 'kept' ? await ca.material : undefined;
      const reason =
        ca.outcome !== 'kept'
          ? have.certPem !== undefined ? `CA ${c.ca} was ${ca.outcome === 'created' ? 'created' : 'replaced'}` : undefined
          : have.cert
            ? certProblems(c, have.cert, have.key, caMaterial!.cert, { now: opts.now, renewWithinDays: renewWithinDays(c.validityDays), checkSans: true, algorithm: model.keyAlgorithm })[0]
            : have.certPem !== undefined ? have.certError : undefined;
      const keep = have.cert !== undefined && reason === undefined;
      return { c, keep, outcome: (keep ? 'kept' : have.certPem !== undefined ? 'reissued' : 'created') as Outcome, reason };
    }),
  );
  const blocked = leafStates.filter((s) => !s.keep && cas.get(s.c.ca)!.external);
  if (blocked.length) {
    throw new KubeinstallError(
      `cannot issue ${blocked.map((s) => `${s.c.id} (${s.reason ?? 'new'})`).join(', ')}: ` +
        `the CA ${[...new Set(blocked.map((s) => s.c.ca))].join(', ')} is external (its certificate is here without its key); ` +
        'issue them with that CA and place them at the paths docs/pki.md lists',
    );
  }
  const leafMaterial = new Map<string, Promise<Issued>>();
  for (const s of leafStates) {
    const have = found.get(s.c.id)!;
    leafMaterial.set(
      s.c.id,
      s.keep
        ? Promise.resolve({ certPem: have.certPem!, keyPem: have.keyPem! })
        : handled(issue(s.c, newKey(), cas.get(s.c.ca)!.material.then((m) => m.signer!), opts.now)),
    );
  }
  const [saKey, caCerts, issuedLeaves] = await Promise.all([
    sa && serviceAccountKey(sa, newKey),
    Promise.all([...cas].map(async ([name, st]) => [name, await st.material] as const)).then((e) => new Map(e)),
    Promise.all([...leafMaterial].map(async ([id, p]) => [id, await p] as const)).then((e) => new Map(e)),
  ]);
  const material = (c: CertInstance): Issued => (c.spec.ca === 'self' ? caCerts.get(c.ca)! : issuedLeaves.get(c.id)!);

  const changed = new Set([
    ...[...cas].filter(([, st]) => st.outcome !== 'kept').map(([name]) => name as string),
    ...leafStates.filter((s) => !s.keep).map((s) => s.c.id),
  ]);
  const certFiles = plan.certs
    .filter((c) => c.files && changed.has(c.id))
    .flatMap((c): OutputFile[] => [
      { path: c.files!.crt, data: material(c).certPem, mode: CERT_MODE },
      { path: c.files!.key, data: material(c).keyPem, mode: SECRET_MODE },
    ]);
  const byId = new Map(plan.certs.map((c) => [c.id, c]));
  const kubeconfigFiles = plan.kubeconfigs.map((k): OutputFile => {
    const cert = byId.get(k.certId)!;
    const m = material(cert);
    return {
      path: k.file,
      mode: SECRET_MODE,
      data: renderKubeconfig({ clusterName: k.clusterName, server: k.server, user: cert.subject.cn, caPem: caCerts.get(cert.ca)!.certPem, certPem: m.certPem, keyPem: m.keyPem }),
    };
  });
  const saFiles: OutputFile[] = [
    ...(saKey?.outcome === 'created' ? [{ path: SERVICE_ACCOUNT_FILES.key, data: saKey.pem, mode: SECRET_MODE }] : []),
    ...(saKey && saKey.outcome !== 'kept' ? [{ path: SERVICE_ACCOUNT_FILES.pub, data: publicKeyPem(saKey.key), mode: SECRET_MODE }] : []),
  ];
  // Issued files are new by definition; kubeconfigs are rendered every time and written when they differ.
  const [issuedPaths, kubeconfigPaths] = await Promise.all([writeAll(dir, [...certFiles, ...saFiles]), writeChanged(dir, kubeconfigFiles)]);
  const written = [...issuedPaths, ...kubeconfigPaths];

  return {
    certs: [
      ...[...cas].map(([name, st]) => ({ id: name, outcome: st.outcome, reason: st.reason })),
      ...leafStates.map((s) => ({ id: s.c.id, outcome: s.outcome, reason: s.outcome === 'reissued' ? s.reason : undefined })),
    ],
    serviceAccount: saKey?.outcome ?? 'kept',
    written,
  };
};

/** sa.key is never rotated by a re-run (every issued token would die); a missing sa.pub is re-derived. */
const serviceAccountKey = async (
  sa: { key?: KeyObject; pub?: string },
  newKey: () => Promise<GeneratedKey>,
): Promise<{ key: KeyObject; pem: string; outcome: Outcome }> => {
  if (sa.key && keyAlgorithm(sa.key) !== undefined) return { key: sa.key, pem: '', outcome: sa.pub === publicKeyPem(sa.key) ? 'kept' : 'reissued' };
  const { pem } = await newKey();
  return { key: parsePrivateKey(pem)!, pem, outcome: 'created' };
};
