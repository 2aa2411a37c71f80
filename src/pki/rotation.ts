// CA rotation (`certs rotate-ca`) as data: the three steps, where a rotation keeps its state and its second CA in the
// cluster folder, and the trust bundles each step yields. `certs` (generate.ts) writes a step's files; deploy rolls them.
//
// At every moment each CA has one signer (`pki/ca.crt|key`, as ever) and at most one more CA beside it,
// `pki/rotation/<ca>.crt`: the new CA in step 1 (its key beside it, not yet signing), the old one in step 2 (no key: it
// signs nothing again). Everything that trusts a CA trusts both (the bundle: signer first), so in every step both the
// certificates already rolled and those not yet rolled are accepted. The service-account key pair follows the same
// pattern: `sa.key` signs, `sa.pub` holds every key that verifies, `pki/rotation/sa.key` (step 1) or `sa.pub` (step 2)
// is the other one.
import { KubeinstallError, UsageError } from '../util/errors.js';
import type { CaName } from './specs.js';

export const ROTATION_DIR = 'pki/rotation';
export const ROTATION_STATE_FILE = `${ROTATION_DIR}/state.json`;

/** The CA beside a signer during a rotation (the new one in step 1, the old one in step 2), and its key (step 1 only). */
export const rotationCaFiles = (ca: CaName): { readonly crt: string; readonly key: string } => ({
  crt: `${ROTATION_DIR}/${ca}.crt`,
  key: `${ROTATION_DIR}/${ca}.key`,
});

/** The service-account key beside the signing one: the new private key in step 1, the old public key in step 2. */
export const ROTATION_SA_FILES = { key: `${ROTATION_DIR}/sa.key`, pub: `${ROTATION_DIR}/sa.pub` } as const;

export type RotationStep = 1 | 2 | 3;

/** Each step: what it is, what its files do (CAs, then the service-account key), and what is true once it is rolled out. */
export const ROTATION_STEPS: Readonly<
  Record<RotationStep, { readonly title: string; readonly wrote: string; readonly wroteSa: string; readonly done: string }>
> = {
  1: {
    title: 'trust the new CAs beside the old ones',
    wrote: `made the new CAs beside the signing ones (${ROTATION_DIR}/<ca>.crt, .key); every trust bundle holds both`,
    wroteSa: `made the new service-account key (${ROTATION_DIR}/sa.key); sa.pub holds both public keys`,
    done: 'every component trusts the old and the new CAs',
  },
  2: {
    title: 're-issue every certificate with the new CAs',
    wrote: 'the new CAs sign; the old ones stay beside them, trusted until step 3, their keys deleted',
    wroteSa: 'the new service-account key signs; the old public key stays in sa.pub until step 3',
    done: 'every certificate and kubeconfig is issued by the new CAs',
  },
  3: {
    title: 'drop the old CAs',
    wrote: 'removed the old CAs; every trust bundle holds the new ones alone',
    wroteSa: 'dropped the old service-account key from sa.pub',
    done: 'the old CAs are trusted nowhere',
  },
};

/** What a run of `certs` writes for a rotation: the step it prepares (step 1 makes the new CAs). */
export interface RotationRequest {
  readonly step: RotationStep;
  readonly cas: readonly CaName[];
  /** `--rotate-sa`: the service-account signing key rotates along. */
  readonly serviceAccount: boolean;
  readonly startedAt: string;
}

/** A rotation in progress, as `pki/rotation/state.json` holds it: the step last written, and whether it is rolled out. */
export interface RotationState extends RotationRequest {
  /** The step's files are written; whether a deploy has rolled them out to every host. */
  readonly rolled: boolean;
}

/** `--ca`'s names, as an operator says them, and the PKI's CA each means. */
export const ROTATABLE_CAS: Readonly<Record<string, CaName>> = { kubernetes: 'ca', etcd: 'etcd-ca', 'front-proxy': 'front-proxy-ca' };

/** `--ca kubernetes,etcd` or `all`, in the table's order whatever the order given. */
export const parseCaNames = (value: string): CaName[] => {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const known = Object.keys(ROTATABLE_CAS);
  const bad = names.filter((n) => n !== 'all' && !known.includes(n));
  if (!names.length || bad.length)
    throw new UsageError(`--ca: ${bad.length ? `unknown CA ${bad.map((b) => `"${b}"`).join(', ')}` : 'no CA given'}; CAs: ${known.join(', ')}, all`);
  const wanted = names.includes('all') ? known : names;
  return Object.entries(ROTATABLE_CAS)
    .filter(([n]) => wanted.includes(n))
    .map(([, ca]) => ca);
};

/** How an operator calls a CA of the PKI. */
export const caLabel = (ca: CaName): string => Object.entries(ROTATABLE_CAS).find(([, c]) => c === ca)![0];

export const parseRotationState = (text: string, path: string): RotationState => {
  try {
    const s = JSON.parse(text) as Partial<RotationState>;
    const cas = Object.values(ROTATABLE_CAS);
    if (
      Array.isArray(s.cas) &&
      s.cas.every((c) => cas.includes(c)) &&
      typeof s.serviceAccount === 'boolean' &&
      (s.step === 1 || s.step === 2 || s.step === 3) &&
      typeof s.rolled === 'boolean' &&
      typeof s.startedAt === 'string'
    )
      return s as RotationState;
  } catch {
    // reported below
  }
  throw new KubeinstallError(`${path} is not a CA rotation state kubeinstall wrote; restore it from a backup of the cluster folder`);
};

/** The next thing a rotation in this state does: roll its step out, prepare the next step, or finish. */
export const nextRotationAction = (state: RotationState): { readonly roll: RotationStep } | { readonly prepare: RotationStep } | 'finish' =>
  !state.rolled ? { roll: state.step } : state.step === 3 ? 'finish' : { prepare: (state.step + 1) as RotationStep };

/** A trust bundle: the signer first (tools that read one certificate see the CA that signs), then the CA beside it. */
export const trustBundle = (signerPem: string, besidePem: string | undefined): string =>
  besidePem === undefined ? signerPem : `${withNewline(signerPem)}${withNewline(besidePem)}`;

const withNewline = (pem: string): string => (pem.endsWith('\n') ? pem : `${pem}\n`);
