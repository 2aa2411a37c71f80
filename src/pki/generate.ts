// `certs`: bring the cluster folder's PKI in line with the inventory. CAs are reused, leaves that still
// match their spec are kept, the rest are issued; every key is generated concurrently, CA keys first.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { holdsVip, type ClusterModel } from '../inventory/model.js';
import { KubeinstallError, UsageError } from '../util/errors.js';
import { renderKubeconfig } from '../kubeconfig/kubeconfig.js';
import { ALGORITHMS } from './algorithms.js';
import { caDefects, certProblems } from './checks.js';
import { encryptionKeyFile } from './encryption.js';
import { vrrpPasswordFile } from './vrrp.js';
import { podSubnetHosts, podSubnetsFile } from '../network/pod-subnets.js';
import { generateKey, keyAlgorithm, keyQueue, publicKeyPem, spkiOf, type GeneratedKey } from './keys.js';
import type { RenewSelector } from './renew.js';
import { ROTATION_SA_FILES, ROTATION_STATE_FILE, ROTATION_STEPS, rotationCaFiles, trustBundle, type RotationRequest, type RotationState } from './rotation.js';
import { expandPki, keyUsagesOf, PROFILES, SERVICE_ACCOUNT_FILES, type CaName, type CertInstance } from './specs.js';
import {
  CERT_MODE,
  changedFiles,
  commitFiles,
  readMaterial,
  besidePublicKey,
  readRotationState,
  readServiceAccount,
  recoverInterrupted,
  rotationStateText,
  SECRET_MODE,
  StagingDropped,
  tightenModes,
  unsafeFolderProblems,
  type Material,
  type OutputFile,
  type ServiceAccountFound,
} from './store.js';
import { EMPTY_RECORD, fileChecker, ISSUED_RECORD, nextRecord, readRecord, recordedReuse, sha256, writeRecord } from './record.js';
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
  /** What the user should know although nothing failed: capped validity, CA defects kept, modes fixed. */
  readonly warnings: readonly string[];
  /** The rotation step this run wrote, if any. */
  readonly rotation?: RotationRequest;
}

export interface CertsOptions {
  /** Replace the CAs (and so every leaf). */
  readonly forceCa?: boolean;
  readonly now?: Date;
  /** `certs renew`: re-issue the leaves this selects (with a new key each, as kubeadm's renew makes), keep every other
   * leaf whatever its expiry, and create no CA. */
  readonly renew?: RenewSelector;
  /** `certs rotate-ca`: write this step of a CA rotation (src/pki/rotation.ts). */
  readonly rotation?: RotationRequest;
  /** Ctrl-C: stop before anything is moved into place, or finish the move and then stop. */
  readonly signal?: AbortSignal;
}

/** Exit 130, as a shell reports a Ctrl-C. */
export class CertsInterrupted extends KubeinstallError {
  constructor(afterWriting: boolean) {
    super(
      afterWriting
        ? 'interrupted: the run had already written its files, so the PKI is complete'
        : 'interrupted: nothing was changed (a re-run starts over; keys generated so far were dropped)',
      130,
    );
  }
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
  /** When it expires: no leaf it signs may outlive it. */
  readonly notAfter: Date;
  /** What is wrong with a kept CA that `--force-ca` would fix (its leaves still verify). */
  readonly defects?: readonly string[];
  /** `cert` is read back only for a CA that was kept: a new CA's leaves are all issued anew. */
  readonly material: Promise<Issued & { readonly cert?: CertInfo; readonly signer?: Signer }>;
}

/** A CA read from disk as a signer: its subject, key and key identifier (the one it carries, else derived). */
const signerOf = (cert: CertInfo, privateKey: KeyObject): Signer => ({
  subject: cert.subject,
  privateKey,
  keyId: cert.subjectKeyId ?? keyIdentifier(spkiOf(cert.x509.publicKey)),
});

/** Keep, replace or create one CA; a CA cert without its key is an external CA, kept as it is. */
const decideCa = (
  c: CertInstance,
  found: Material,
  opts: { readonly forceCa: boolean; readonly now: Date; readonly renewing: boolean },
  issueCa: () => Promise<Issued & { signer: Signer }>,
): CaState => {
  const { crt, key } = c.files!;
  if (opts.renewing && found.certPem === undefined)
    throw new KubeinstallError(`no CA ${crt}: renewal re-issues leaves only; create the PKI with \`kubeinstall certs\``);
  const fresh = { notAfter: new Date(opts.now.getTime() + c.validityDays * DAY_MS) };
  if (opts.forceCa) {
    const defects = found.cert ? caDefects(found.cert) : [];
    const reason = `replaced (--force-ca)${defects.length ? `; it had: ${defects.join('; ')}` : ''}`;
    return { ...fresh, outcome: found.certPem ? 'reissued' : 'created', reason, material: handled(issueCa()) };
  }
  if (found.certPem === undefined) {
    if (found.keyPem !== undefined) throw new KubeinstallError(`${key} exists without ${crt}: restore the certificate or remove the key`);
    return { ...fresh, outcome: 'created', material: handled(issueCa()) };
  }
  const cert = found.cert;
  if (!cert) throw new KubeinstallError(`${crt}: ${found.certError}; restore it, or replace every CA with --force-ca`);
  if (cert.notAfter <= opts.now) throw new KubeinstallError(`CA ${crt} expired on ${cert.notAfter.toISOString()}; replace the CAs with --force-ca`);
  if (found.keyPem !== undefined && !found.key) throw new KubeinstallError(`${key} is not a readable private key`);
  if (found.key && !cert.x509.checkPrivateKey(found.key)) throw new KubeinstallError(`${key} does not belong to ${crt}`);
  const signer = found.key && signerOf(cert, found.key);
  const material = Promise.resolve({ certPem: found.certPem, keyPem: found.keyPem ?? '', cert, signer });
  return { outcome: 'kept', external: !signer, notAfter: cert.notAfter, defects: signer ? caDefects(cert) : [], material };
};

/** Marks a promise as handled now; whoever awaits it later still sees the rejection. */
const handled = <T>(p: Promise<T>): Promise<T> => {
  p.catch(() => undefined);
  return p;
};

/** When a leaf issued now expires: its own validity, cut at its CA's expiry. */
const leafNotAfter = (c: CertInstance, now: Date, ca: CaState): Date => new Date(Math.min(now.getTime() + c.validityDays * DAY_MS, ca.notAfter.getTime()));

const templateOf = (c: CertInstance, model: ClusterModel, now: Date, notAfter: Date): CertTemplate => ({
  subject: c.subject,
  isCa: c.spec.profile === 'ca',
  keyUsage: keyUsagesOf(c.spec.profile, ALGORITHMS[model.keyAlgorithm].type),
  extKeyUsage: PROFILES[c.spec.profile].extKeyUsage,
  dnsNames: c.altNames.dnsNames,
  ipAddresses: c.altNames.ipAddresses,
  notBefore: new Date(now.getTime() - BACKDATE_MS),
  notAfter,
});

const issue = async (template: CertTemplate, key: Promise<GeneratedKey>, signer: Promise<Signer>): Promise<Issued> => {
  const [{ pem, spki }, by] = await Promise.all([key, signer]);
  return { certPem: issueCertificate(template, spki, by), keyPem: pem };
};

/** A new CA signs its own certificate, then every leaf under it. */
const issueCa = async (c: CertInstance, model: ClusterModel, key: Promise<GeneratedKey>, now: Date): Promise<Issued & { signer: Signer }> => {
  const { pem, spki } = await key;
  const signer = { subject: c.subject, privateKey: createPrivateKey(pem), keyId: keyIdentifier(spki) };
  const template = templateOf(c, model, now, new Date(now.getTime() + c.validityDays * DAY_MS));
  return { ...(await issue(template, key, Promise.resolve(signer))), signer };
};

interface LeafDecision {
  readonly c: CertInstance;
  readonly outcome: Outcome;
  /** Why it is (re-)issued; undefined for a new or kept one. */
  readonly reason?: string;
}

/** Keep a leaf that still matches its spec under a kept CA; otherwise issue it, saying why. */
const decideLeaf = (
  c: CertInstance,
  have: Material,
  ca: CaState,
  caCert: CertInfo | undefined,
  model: ClusterModel,
  now: Date,
  renew: RenewSelector | undefined,
): LeafDecision => {
  if (have.certPem === undefined) return { c, outcome: 'created' };
  if (ca.outcome !== 'kept') return { c, outcome: 'reissued', reason: `CA ${c.ca} was ${ca.outcome === 'created' ? 'created' : 'replaced'}` };
  const renewal = renew?.(c, have.cert, now);
  if (renewal) return { c, outcome: 'reissued', reason: renewal };
  if (!have.cert) return { c, outcome: 'reissued', reason: have.certError };
  // A leaf capped at its CA's expiry is judged by the validity it could get, or it would be re-issued every run.
  const validityDays = Math.floor((leafNotAfter(c, now, ca).getTime() - now.getTime()) / DAY_MS);
  const [reason] = certProblems(c, have.cert, have.key, caCert, {
    now,
    // A renewal re-issues what it selected; the expiry of any other leaf is left to the operator's choice of targets.
    renewWithinDays: renew ? 0 : renewWithinDays(validityDays),
    expiry: !renew,
    sans: 'exact',
    algorithm: model.keyAlgorithm,
  });
  return reason === undefined ? { c, outcome: 'kept' } : { c, outcome: 'reissued', reason };
};

/** Whether a leaf valid until `notAfter` is due for renewal: the window `decideLeaf` applies. */
const renewalDue = (c: CertInstance, notAfter: Date, cas: ReadonlyMap<CaName, CaState>, now: Date): boolean => {
  const validityDays = Math.floor((leafNotAfter(c, now, cas.get(c.ca)!).getTime() - now.getTime()) / DAY_MS);
  return notAfter <= now || Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS) < renewWithinDays(validityDays);
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

interface ServiceAccountOutput {
  readonly outcome: Outcome;
  readonly files: readonly OutputFile[];
  readonly remove: readonly string[];
}

/**
 * sa.key is never replaced by a re-run (every issued token would die), only by a rotation's step 2, after step 1 made
 * every API server accept tokens of the new key too; sa.pub holds every key that verifies: the signing one first,
 * then the rotation's other one. A missing sa.pub is derived again.
 */
const serviceAccountFiles = async (
  sa: ServiceAccountFound,
  beside: ServiceAccountFound & { readonly pubOnDisk?: string },
  step: RotationRequest['step'] | undefined,
  newKey: () => Promise<GeneratedKey>,
): Promise<ServiceAccountOutput> => {
  const file = (path: string, data: string): OutputFile => ({ path, data, mode: SECRET_MODE });
  const verifying = (signing: KeyObject, other: string | undefined): OutputFile => file(SERVICE_ACCOUNT_FILES.pub, trustBundle(publicKeyPem(signing), other));
  if (!sa.key || keyAlgorithm(sa.key) === undefined) {
    const { pem } = await newKey();
    return { outcome: 'created', files: [file(SERVICE_ACCOUNT_FILES.key, pem), verifying(createPrivateKey(pem), undefined)], remove: [] };
  }
  if (step === 1) {
    const { pem } = await newKey();
    return { outcome: 'reissued', files: [file(ROTATION_SA_FILES.key, pem), verifying(sa.key, publicKeyPem(createPrivateKey(pem)))], remove: [] };
  }
  if (step === 2) {
    if (!beside.key || !beside.keyPem) throw new KubeinstallError(`${ROTATION_SA_FILES.key}: the rotation's new service-account key is missing or unreadable`);
    const old = publicKeyPem(sa.key);
    return {
      outcome: 'reissued',
      files: [file(SERVICE_ACCOUNT_FILES.key, beside.keyPem), file(ROTATION_SA_FILES.pub, old), verifying(beside.key, old)],
      remove: [ROTATION_SA_FILES.key],
    };
  }
  const pub = verifying(sa.key, step === 3 ? undefined : beside.pubOnDisk);
  return { outcome: sa.pub === pub.data ? 'kept' : 'reissued', files: sa.pub === pub.data ? [] : [pub], remove: step === 3 ? [ROTATION_SA_FILES.pub] : [] };
};

/** `--force-ca` would replace the CAs a rotation is moving between: it waits for the rotation to finish. */
export const refuseDuringRotation = (current: RotationState | undefined): void => {
  if (current)
    throw new UsageError(
      `a CA rotation is in progress (${ROTATION_STATE_FILE}, step ${current.step} of 3): finish it with \`kubeinstall certs rotate-ca\` first`,
    );
};

/** A rotation's steps go in order, each after the last was rolled out; a new one waits for the last to finish. */
const checkRotationOrder = (current: RotationState | undefined, wanted: RotationRequest): void => {
  const expected = current === undefined ? 1 : current.rolled ? current.step + 1 : undefined;
  if (wanted.step === expected) return;
  throw new UsageError(
    current === undefined
      ? `no CA rotation is in progress: step ${wanted.step} cannot be written`
      : `the CA rotation in ${ROTATION_STATE_FILE} is at step ${current.step} (${ROTATION_STEPS[current.step].title}), ` +
          `${current.rolled ? 'rolled out' : 'not yet rolled out'}: step ${wanted.step} cannot be written now`,
  );
};

/** Stops at Ctrl-C: whatever is still being generated is dropped, nothing has been written yet. */
const unlessInterrupted = <T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> =>
  !signal
    ? work
    : Promise.race([
        work,
        new Promise<never>((_, reject) => {
          const stop = (): void => reject(new CertsInterrupted(false));
          if (signal.aborted) stop();
          signal.addEventListener('abort', stop, { once: true });
          void work.finally(() => signal.removeEventListener('abort', stop)).catch(() => undefined);
        }),
      ]);

/** Kinds with their counts: `kubelet-client (500)`. */
const kindCounts = (ids: readonly string[]): string => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id.split('/')[0]!, (counts.get(id.split('/')[0]!) ?? 0) + 1);
  return [...counts].map(([kind, n]) => (n > 1 ? `${kind} (${n})` : kind)).join(', ');
};

/** Step 2: the CA made in step 1 becomes the signer; checked first, as a kept CA is. */
const rotatedIn = (c: CertInstance, found: Material): CaState => {
  const { crt, key } = rotationCaFiles(c.ca);
  const { cert, certPem, keyPem } = found;
  if (!cert || !certPem)
    throw new KubeinstallError(`${crt}: the rotation's new CA is ${found.certError ?? 'unreadable'}; restore the cluster folder from a backup`);
  if (!found.key || !keyPem) throw new KubeinstallError(`${key}: the rotation's new CA key is missing or unreadable; restore the cluster folder from a backup`);
  if (!cert.x509.checkPrivateKey(found.key)) throw new KubeinstallError(`${key} does not belong to ${crt}`);
  const signer = signerOf(cert, found.key);
  return {
    outcome: 'reissued',
    reason: 'rotated: the new CA signs from step 2 of the rotation on',
    notAfter: cert.notAfter,
    material: Promise.resolve({ certPem, keyPem, cert, signer }),
  };
};

/** A rotation step's own files: the CAs beside the signers it adds or drops, and its state (not yet rolled out). */
const rotationFiles = (
  rotation: RotationRequest,
  caFound: ReadonlyMap<string, Material>,
  newCas: ReadonlyMap<CaName, Issued>,
): { files: OutputFile[]; remove: string[] } => {
  const perCa = rotation.cas.map((ca) => ({ ca, ...rotationCaFiles(ca) }));
  const state: RotationState = { ...rotation, rolled: false };
  const stateFile: OutputFile = { path: ROTATION_STATE_FILE, data: rotationStateText(state), mode: SECRET_MODE };
  switch (rotation.step) {
    case 1:
      return {
        files: [
          ...perCa.flatMap(({ ca, crt, key }) => [
            { path: crt, data: newCas.get(ca)!.certPem, mode: CERT_MODE },
            { path: key, data: newCas.get(ca)!.keyPem, mode: SECRET_MODE },
          ]),
          stateFile,
        ],
        remove: [],
      };
    case 2:
      // the old CA stays beside the new signer, trusted until step 3; its key signs nothing again and goes
      return {
        files: [...perCa.map(({ ca, crt }) => ({ path: crt, data: caFound.get(ca)!.certPem!, mode: CERT_MODE })), stateFile],
        remove: perCa.map((f) => f.key),
      };
    case 3:
      return { files: [stateFile], remove: perCa.map((f) => f.crt) };
  }
};

export const generatePki = async (model: ClusterModel, dir: string, options: CertsOptions = {}): Promise<CertsReport> => {
  const opts = { forceCa: options.forceCa ?? false, now: options.now ?? new Date(), signal: options.signal, renewing: options.renew !== undefined };
  const rotation = options.rotation;
  const unsafe = await unsafeFolderProblems(dir);
  if (unsafe.length) throw new KubeinstallError(`refusing to use a folder others can change:\n  ${unsafe.join('\n  ')}`);
  const recovery = await recoverInterrupted(dir);
  const warnings: string[] = [
    ...(recovery && 'finished' in recovery ? [`finished writing the ${recovery.finished} files of an interrupted run`] : []),
    ...(recovery && 'discarded' in recovery ? ['discarded the staged files of an interrupted run (it had changed nothing)'] : []),
  ];
  const plan = expandPki(model);
  const current = await readRotationState(dir);
  if (opts.forceCa) refuseDuringRotation(current);
  if (rotation) checkRotationOrder(current, rotation);
  const rotating = new Set(rotation?.cas ?? []);
  const rotatingStep = (ca: CaName, step: RotationRequest['step']): boolean => rotation?.step === step && rotating.has(ca);
  const record = readRecord(dir);
  const checker = fileChecker(dir, record);
  const caCerts = plan.certs.filter((c) => c.spec.ca === 'self');
  const caFound = readMaterial(dir, { ...plan, certs: caCerts });
  // each CA's rotation files, read like the CA's own
  const besideFound = readMaterial(dir, { certs: caCerts.map((c) => ({ ...c, files: rotationCaFiles(c.ca) })), kubeconfigs: [] });
  const sa = plan.serviceAccount ? await readServiceAccount(dir) : undefined;
  const saBesideFound = plan.serviceAccount ? await readServiceAccount(dir, ROTATION_SA_FILES) : undefined;
  const saBeside = saBesideFound && { ...saBesideFound, pubOnDisk: besidePublicKey(saBesideFound) };
  const encryptionKey = model.hosts.some((h) => h.roles.includes('master')) ? [await encryptionKeyFile(dir)] : [];
  const vrrpPassword = model.hosts.some((h) => holdsVip(model, h)) ? [await vrrpPasswordFile(dir)] : [];
  // before any key is made: a full pod CIDR stops the run with nothing written
  const podSubnets = podSubnetHosts(model).length ? [await podSubnetsFile(model, dir)] : [];
  const queue = keyQueue(opts.signal, () => new CertsInterrupted(false));
  const newKey = (): Promise<GeneratedKey> => queue(() => generateKey(model.keyAlgorithm));

  // CA keys are requested first: the pool runs jobs in order, and every leaf waits for its CA.
  const cas = new Map<CaName, CaState>();
  for (const c of caCerts) {
    cas.set(
      c.ca,
      rotatingStep(c.ca, 2) ? rotatedIn(c, besideFound.get(c.id)!) : decideCa(c, caFound.get(c.id)!, opts, () => issueCa(c, model, newKey(), opts.now)),
    );
  }
  // step 1: the new CAs, beside the signers
  const newCas = new Map(caCerts.filter((c) => rotatingStep(c.ca, 1)).map((c) => [c.ca, handled(issueCa(c, model, newKey(), opts.now))] as const));
  const keptCaCerts = new Map(
    await Promise.all([...cas].map(async ([name, st]) => [name, st.outcome === 'kept' ? (await st.material).cert : undefined] as const)),
  );
  const caSha = new Map([...cas].filter(([, st]) => st.outcome === 'kept').map(([name]) => [name, sha256(caFound.get(name)!.certPem!)]));
  const reuse = recordedReuse({
    plan,
    algorithm: model.keyAlgorithm,
    // a renewal decides every leaf again: the record vouches for files, not for what this run is asked to re-issue;
    // during a CA rotation the trust bundles in the kubeconfigs change while the CAs it knows stay
    record: options.renew || rotation || current ? EMPTY_RECORD : record,
    checker,
    caSha,
    now: opts.now,
    renewalDue: (c, notAfter) => renewalDue(c, notAfter, cas, opts.now),
  });
  // Only what the record cannot vouch for is read and parsed: untrusted leaves and the certificates of kubeconfigs to render.
  const toRead = plan.certs.filter((c) => c.spec.ca !== 'self' && (!reuse.trusted.has(c.id) || reuse.renderFor.has(c.id)));
  const found = new Map([...caFound, ...readMaterial(dir, { ...plan, certs: toRead })]);
  const decisions = plan.certs
    .filter((c) => c.spec.ca !== 'self')
    .map((c) =>
      reuse.trusted.has(c.id)
        ? { c, outcome: 'kept' as const }
        : decideLeaf(c, found.get(c.id)!, cas.get(c.ca)!, keptCaCerts.get(c.ca), model, opts.now, options.renew),
    );
  refuseExternalIssues(decisions, cas);

  const issued = decisions.filter((d) => d.outcome !== 'kept');
  const capped = issued.filter(({ c }) => leafNotAfter(c, opts.now, cas.get(c.ca)!).getTime() < opts.now.getTime() + c.validityDays * DAY_MS);
  for (const [name, st] of cas) {
    const ids = capped.filter((d) => d.c.ca === name).map((d) => d.c.id);
    if (ids.length) warnings.push(`validity cut to the expiry of CA ${name} (${st.notAfter.toISOString()}): ${kindCounts(ids)}`);
    for (const d of st.defects ?? []) warnings.push(`kept CA ${name}, but its ${d}; \`certs --force-ca\` re-issues it and everything it signed`);
  }

  const leafMaterial = decisions.map(({ c, outcome }): Promise<Issued | undefined> => {
    const have = found.get(c.id);
    const ca = cas.get(c.ca)!;
    const signer = (): Promise<Signer> => ca.material.then((m) => m.signer!);
    return outcome === 'kept'
      ? Promise.resolve(have && { certPem: have.certPem!, keyPem: have.keyPem! })
      : handled(issue(templateOf(c, model, opts.now, leafNotAfter(c, opts.now, ca)), newKey(), signer()));
  });
  const [saOutput, caIssued, leavesIssued, newCaIssued] = await unlessInterrupted(
    Promise.all([
      sa && saBeside && serviceAccountFiles(sa, saBeside, rotation?.serviceAccount ? rotation.step : undefined, newKey),
      Promise.all([...cas].map(async ([name, st]) => [name, await st.material] as const)).then((e) => new Map(e)),
      Promise.all(leafMaterial).then((all) => new Map(all.map((m, i) => [decisions[i]!.c.id, m]))),
      Promise.all([...newCas].map(async ([name, m]) => [name, await m] as const)).then((e) => new Map(e)),
    ]),
    opts.signal,
  );
  // What each CA's trust bundle holds beside its signer: step 1's new CA, step 2's old one, nothing once step 3 drops
  // it; outside a rotation's own runs, what the rotation keeps on disk.
  const besidePem = (ca: CaName): string | undefined =>
    rotatingStep(ca, 1)
      ? newCaIssued.get(ca)!.certPem
      : rotatingStep(ca, 2)
        ? caFound.get(ca)!.certPem
        : rotatingStep(ca, 3)
          ? undefined
          : besideFound.get(ca)!.certPem;
  const trust = (ca: CaName): string => trustBundle(caIssued.get(ca)!.certPem, besidePem(ca));
  const rotationOutput = rotation ? rotationFiles(rotation, caFound, newCaIssued) : { files: [], remove: [] };
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
  // Kept keys keep their content, but never a mode that lets others read them (a trusted key's mode was seen by the record check).
  const loose = (path: string): boolean => ((checker.state(path)?.mode ?? 0) & ~SECRET_MODE) !== 0;
  const keptKeys = [
    ...plan.certs
      .filter((c) => c.files && !changed.has(c.id) && (reuse.trusted.has(c.id) ? loose(c.files.key) : found.get(c.id)!.keyPem !== undefined))
      .map((c) => ({ path: c.files!.key, mode: SECRET_MODE })),
    ...(sa && saOutput?.outcome === 'kept' ? Object.values(SERVICE_ACCOUNT_FILES).map((path) => ({ path, mode: SECRET_MODE })) : []),
  ];
  warnings.push(...(await tightenModes(dir, keptKeys)));
  const byId = new Map(plan.certs.map((c) => [c.id, c]));
  const kubeconfigFiles = plan.kubeconfigs
    .filter((k) => !reuse.freshKubeconfigs.has(k.file))
    .map((k): OutputFile => {
      const cert = byId.get(k.certId)!;
      const { certPem, keyPem } = material(cert);
      const caPem = trust(cert.ca);
      return {
        path: k.file,
        mode: SECRET_MODE,
        data: renderKubeconfig({ clusterName: k.clusterName, server: k.server, user: cert.subject.cn, caPem, certPem, keyPem }),
      };
    });
  // Issued files are new by definition; kubeconfigs (and the encryption key) are written when they differ.
  const files = [
    ...certFiles,
    ...(saOutput?.files ?? []),
    ...rotationOutput.files,
    ...(await changedFiles(dir, [...kubeconfigFiles, ...encryptionKey, ...vrrpPassword, ...podSubnets])),
  ];
  let written: string[];
  try {
    written = await commitFiles(dir, files, () => opts.signal?.aborted === true, [...rotationOutput.remove, ...(saOutput?.remove ?? [])]);
  } catch (err) {
    throw err instanceof StagingDropped ? new CertsInterrupted(false) : err;
  }
  if (opts.signal?.aborted) throw new CertsInterrupted(true);
  const next = nextRecord({
    plan,
    algorithm: model.keyAlgorithm,
    record,
    checker,
    caSha: new Map([...caIssued].map(([name, m]) => [name, sha256(m.certPem)])),
    validity: (c) => {
      const cert = found.get(c.id)?.cert;
      if (changed.has(c.id)) return { notBefore: new Date(opts.now.getTime() - BACKDATE_MS), notAfter: leafNotAfter(c, opts.now, cas.get(c.ca)!) };
      return cert && { notBefore: cert.notBefore, notAfter: cert.notAfter };
    },
    written: files,
  });
  // The record only saves work: failing to save it costs the next run time, not correctness.
  await writeRecord(dir, next, record).catch((err: Error) =>
    warnings.push(`could not save ${ISSUED_RECORD} (the next run checks every file again): ${err.message}`),
  );
  return { certs: results, serviceAccount: saOutput?.outcome ?? 'kept', written, warnings, ...(rotation ? { rotation } : {}) };
};
