// `certs`: bring the cluster folder's PKI in line with the inventory. CAs are reused, leaves that still
// match their spec are kept, the rest are issued; every key is generated concurrently, CA keys first.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { ClusterModel } from '../inventory/model.js';
import { KubeinstallError } from '../util/errors.js';
import { renderKubeconfig } from '../kubeconfig/kubeconfig.js';
import { certProblems } from './checks.js';
import { encryptionKeyFile } from './encryption.js';
import { generateKey, keyAlgorithm, publicKeyPem, spkiOf, type GeneratedKey } from './keys.js';
import { expandPki, PROFILES, SERVICE_ACCOUNT_FILES, type CaName, type CertInstance } from './specs.js';
import { CERT_MODE, readMaterial, readServiceAccount, SECRET_MODE, writeAll, writeChanged, type Material, type OutputFile } from './store.js';
import { issueCertificate, keyIdentifier, type CertInfo, type CertTemplate, type Signer } from './x509.js';

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

const templateOf = (c: CertInstance, now: Date): CertTemplate => ({
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

interface LeafDecision {
  readonly c: CertInstance;
  readonly outcome: Outcome;
  /** Why it is (re-)issued; undefined for a new or kept one. */
  readonly reason?: string;
}

/** Keep a leaf that still matches its spec under a kept CA; otherwise issue it, saying why. */
const decideLeaf = (c: CertInstance, have: Material, ca: CaState, caCert: CertInfo | undefined, model: ClusterModel, now: Date): LeafDecision => {
  if (have.certPem === undefined) return { c, outcome: 'created' };
  if (ca.outcome !== 'kept') return { c, outcome: 'reissued', reason: `CA ${c.ca} was ${ca.outcome === 'created' ? 'created' : 'replaced'}` };
  if (!have.cert) return { c, outcome: 'reissued', reason: have.certError };
  const [reason] = certProblems(c, have.cert, have.key, caCert, { now, renewWithinDays: renewWithinDays(c.validityDays), sans: 'exact', algorithm: model.keyAlgorithm });
  return reason === undefined ? { c, outcome: 'kept' } : { c, outcome: 'reissued', reason };
};

/** An external CA cannot sign: stop before any key is made, naming every certificate that needs it. */
const refuseExternalIssues = (decisions: readonly LeafDecision[], cas: ReadonlyMap<CaName, CaState>): void => {
  const blocked = decisions.filter((d) => d.outcome !== 'kept' && cas.get(d.c.ca)!.external);
  if (!blocked.length) return;
  throw new KubeinstallError(
    `cannot issue ${blocked.map((d) => `${d.c.id} (${d.reason ?? 'new'})`).join(', ')}: ` +
      `the CA ${[...new Set(blocked.map((d) => d.c.ca))].join(', ')} is external (its certificate is here without its key); ` +
      'issue them with that CA and place them at the paths docs/pki.md lists',
  );
};

/** sa.key is never rotated by a re-run (every issued token would die); a missing sa.pub is derived again. */
const serviceAccountFiles = async (sa: { key?: KeyObject; pub?: string }, newKey: () => Promise<GeneratedKey>): Promise<{ outcome: Outcome; files: OutputFile[] }> => {
  const pub = (key: KeyObject): OutputFile => ({ path: SERVICE_ACCOUNT_FILES.pub, data: publicKeyPem(key), mode: SECRET_MODE });
  if (sa.key && keyAlgorithm(sa.key) !== undefined) {
    return sa.pub === publicKeyPem(sa.key) ? { outcome: 'kept', files: [] } : { outcome: 'reissued', files: [pub(sa.key)] };
  }
  const { pem } = await newKey();
  return { outcome: 'created', files: [{ path: SERVICE_ACCOUNT_FILES.key, data: pem, mode: SECRET_MODE }, pub(createPrivateKey(pem))] };
};

export const generatePki = async (model: ClusterModel, dir: string, options: CertsOptions = {}): Promise<CertsReport> => {
  const opts = { forceCa: options.forceCa ?? false, now: options.now ?? new Date() };
  const plan = expandPki(model);
  const [found, sa] = await Promise.all([readMaterial(dir, plan), plan.serviceAccount ? readServiceAccount(dir) : undefined]);
  const encryptionKey = model.hosts.some((h) => h.roles.includes('master')) ? [await encryptionKeyFile(dir)] : [];
  const newKey = (): Promise<GeneratedKey> => generateKey(model.keyAlgorithm);

  // CA keys are requested first: the pool runs jobs in order, and every leaf waits for its CA.
  const cas = new Map<CaName, CaState>();
  for (const c of plan.certs.filter((c) => c.spec.ca === 'self')) {
    cas.set(c.ca, decideCa(c, found.get(c.id)!, opts, () => issueCa(c, newKey(), opts.now)));
  }
  const keptCaCerts = new Map(await Promise.all([...cas].map(async ([name, st]) => [name, st.outcome === 'kept' ? (await st.material).cert : undefined] as const)));
  const decisions = plan.certs
    .filter((c) => c.spec.ca !== 'self')
    .map((c) => decideLeaf(c, found.get(c.id)!, cas.get(c.ca)!, keptCaCerts.get(c.ca), model, opts.now));
  refuseExternalIssues(decisions, cas);

  const leafMaterial = decisions.map(({ c, outcome }) => {
    const have = found.get(c.id)!;
    const signer = (): Promise<Signer> => cas.get(c.ca)!.material.then((m) => m.signer!);
    return outcome === 'kept' ? Promise.resolve({ certPem: have.certPem!, keyPem: have.keyPem! }) : handled(issue(c, newKey(), signer(), opts.now));
  });
  const [saOutput, caIssued, leavesIssued] = await Promise.all([
    sa && serviceAccountFiles(sa, newKey),
    Promise.all([...cas].map(async ([name, st]) => [name, await st.material] as const)).then((e) => new Map(e)),
    Promise.all(leafMaterial).then((all) => new Map(all.map((m, i) => [decisions[i]!.c.id, m]))),
  ]);
  const material = (c: CertInstance): Issued => (c.spec.ca === 'self' ? caIssued.get(c.ca)! : leavesIssued.get(c.id)!);

  const results: CertResult[] = [
    ...[...cas].map(([name, st]) => ({ id: name, outcome: st.outcome, reason: st.reason })),
    ...decisions.map(({ c, outcome, reason }) => ({ id: c.id, outcome, reason: outcome === 'reissued' ? reason : undefined })),
  ];
  const changed = new Set(results.filter((r) => r.outcome !== 'kept').map((r) => r.id));
  const certFiles = plan.certs
    .filter((c) => c.files && changed.has(c.id))
    .flatMap((c): OutputFile[] => [
      { path: c.files!.crt, data: material(c).certPem, mode: CERT_MODE },
      { path: c.files!.key, data: material(c).keyPem, mode: SECRET_MODE },
    ]);
  const byId = new Map(plan.certs.map((c) => [c.id, c]));
  const kubeconfigFiles = plan.kubeconfigs.map((k): OutputFile => {
    const cert = byId.get(k.certId)!;
    const { certPem, keyPem } = material(cert);
    const caPem = caIssued.get(cert.ca)!.certPem;
    return { path: k.file, mode: SECRET_MODE, data: renderKubeconfig({ clusterName: k.clusterName, server: k.server, user: cert.subject.cn, caPem, certPem, keyPem }) };
  });
  // Issued files are new by definition; kubeconfigs (and the encryption key) are written when they differ.
  const [issuedPaths, kubeconfigPaths] = await Promise.all([writeAll(dir, [...certFiles, ...(saOutput?.files ?? [])]), writeChanged(dir, [...kubeconfigFiles, ...encryptionKey])]);
  return { certs: results, serviceAccount: saOutput?.outcome ?? 'kept', written: [...issuedPaths, ...kubeconfigPaths] };
};
