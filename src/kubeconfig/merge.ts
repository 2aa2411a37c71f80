// A cluster's credentials as three named entries (cluster, user, context), merged into a user's own
// kubeconfig: ours are added or replaced in place, every other key and entry is left as it was.
import { X509Certificate } from 'node:crypto';
import yaml from 'js-yaml';
import { contextName, type KubeconfigContent } from './kubeconfig.js';

type Mapping = Record<string, unknown>;
interface Named extends Mapping {
  name: string;
}

const KINDS = { cluster: 'clusters', user: 'users', context: 'contexts' } as const;
type Kind = keyof typeof KINDS;

/** Loaded and dumped with the core schema: no timestamps or merge keys, so other entries keep their meaning. */
const YAML_OPTIONS = { schema: yaml.CORE_SCHEMA } as const;

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const unb64 = (value: unknown): string => (typeof value === 'string' ? Buffer.from(value, 'base64').toString() : '');

const certificate = (pem: string): X509Certificate | undefined => {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
};

/** Our cluster, user and context, named `<context>`, `<user>@<context>` and `<context>`. */
export const clusterEntries = (k: KubeconfigContent, context: string): Readonly<Record<Kind, Named>> => {
  const user = contextName(k.user, context);
  return {
    cluster: { name: context, cluster: { 'certificate-authority-data': b64(k.caPem), server: k.server } },
    user: { name: user, user: { 'client-certificate-data': b64(k.certPem), 'client-key-data': b64(k.keyPem) } },
    context: { name: context, context: { cluster: context, user } },
  };
};

/**
 * An entry of the same name is ours (replaced without asking) when it belongs to the same cluster: the
 * cluster entry trusts the same CA, the user's certificate is signed by that CA, the context joins our
 * two names. Anything else is somebody else's entry.
 */
const isOurs = (kind: Kind, existing: Mapping, k: KubeconfigContent, ours: Readonly<Record<Kind, Named>>): boolean => {
  const body = existing[kind] as Mapping | undefined;
  if (!body || typeof body !== 'object') return false;
  if (kind === 'context') return body.cluster === ours.cluster.name && body.user === ours.user.name;
  const ca = certificate(k.caPem);
  if (!ca) return false;
  if (kind === 'cluster') return certificate(unb64(body['certificate-authority-data']))?.fingerprint256 === ca.fingerprint256;
  return certificate(unb64(body['client-certificate-data']))?.verify(ca.publicKey) === true;
};

export interface MergeRequest {
  readonly content: KubeconfigContent;
  readonly context: string;
  /** Replace entries of the same name that are not this cluster's. */
  readonly force?: boolean;
}

export interface MergeResult {
  readonly text: string;
  /** `cluster "prod"`, for each of our entries that was already there. */
  readonly replaced: readonly string[];
}

export class KubeconfigClash extends Error {
  constructor(readonly clashes: readonly string[]) {
    super(`already has ${clashes.join(', ')} not belonging to this cluster`);
  }
}

const listOf = (doc: Mapping, key: string): Mapping[] => {
  const list = doc[key] ?? [];
  if (!Array.isArray(list)) throw new Error(`not a kubeconfig: ${key} is not a list`);
  return list as Mapping[];
};

/**
 * Our entries merged into `existing` (a kubeconfig's text, or undefined for a new file). current-context
 * is set only when the file has none. Throws `KubeconfigClash` for a foreign entry of one of our names.
 */
export const mergeKubeconfig = (existing: string | undefined, req: MergeRequest): MergeResult => {
  const loaded = existing === undefined ? undefined : yaml.load(existing, YAML_OPTIONS);
  if (loaded !== undefined && loaded !== null && (typeof loaded !== 'object' || Array.isArray(loaded)))
    throw new Error('not a kubeconfig (not a YAML mapping)');
  const doc: Mapping = { ...(loaded as Mapping | null) };
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  const ours = clusterEntries(req.content, req.context);
  const lists = Object.fromEntries(Object.values(KINDS).map((key) => [key, listOf(doc, key)])) as Record<(typeof KINDS)[Kind], Mapping[]>;
  const found = (Object.keys(KINDS) as Kind[]).map((kind) => ({ kind, index: lists[KINDS[kind]].findIndex((e) => e?.name === ours[kind].name) }));
  const clashes = found.filter(({ kind, index }) => index >= 0 && !isOurs(kind, lists[KINDS[kind]][index]!, req.content, ours));
  if (clashes.length && !req.force) throw new KubeconfigClash(clashes.map(({ kind }) => `a ${kind} "${ours[kind].name}"`));
  for (const { kind, index } of found) {
    const list = lists[KINDS[kind]];
    if (index >= 0) list[index] = ours[kind];
    else list.push(ours[kind]);
    doc[KINDS[kind]] = list;
  }
  if (!doc['current-context']) doc['current-context'] = ours.context.name;
  return {
    text: yaml.dump(doc, { ...YAML_OPTIONS, lineWidth: -1, noRefs: true }),
    replaced: found.filter(({ index }) => index >= 0).map(({ kind }) => `${kind} "${ours[kind].name}"`),
  };
};
