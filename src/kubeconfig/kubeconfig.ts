// Kubeconfig files with embedded credentials, shaped as client-go writes them (kubeadm CreateBasic).
import yaml from 'js-yaml';

export interface KubeconfigContent {
  readonly clusterName: string;
  readonly server: string;
  /** The user name is the client certificate's CN; the context is `<user>@<cluster>`. */
  readonly user: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

export const contextName = (user: string, clusterName: string): string => `${user}@${clusterName}`;

export const renderKubeconfig = (k: KubeconfigContent): string => {
  const context = contextName(k.user, k.clusterName);
  return yaml.dump(
    {
      apiVersion: 'v1',
      clusters: [{ cluster: { 'certificate-authority-data': b64(k.caPem), server: k.server }, name: k.clusterName }],
      contexts: [{ context: { cluster: k.clusterName, user: k.user }, name: context }],
      'current-context': context,
      kind: 'Config',
      preferences: {},
      users: [{ name: k.user, user: { 'client-certificate-data': b64(k.certPem), 'client-key-data': b64(k.keyPem) } }],
    },
    { lineWidth: -1, noRefs: true },
  );
};

/** Reads back what `renderKubeconfig` writes, following current-context. Throws a message naming what is missing. */
export const parseKubeconfig = (text: string): KubeconfigContent => {
  const doc = yaml.load(text) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object') throw new Error('not a kubeconfig (not a YAML mapping)');
  const named = (list: unknown, name: unknown, what: string): Record<string, string> => {
    const entry = Array.isArray(list) ? list.find((e) => e?.name === name) : undefined;
    const body = entry?.[what];
    if (!body || typeof body !== 'object') throw new Error(`no ${what} named "${String(name)}"`);
    return body as Record<string, string>;
  };
  const current = doc['current-context'];
  if (typeof current !== 'string' || !current) throw new Error('current-context is not set');
  const context = named(doc.contexts, current, 'context');
  const cluster = named(doc.clusters, context.cluster, 'cluster');
  const user = named(doc.users, context.user, 'user');
  const data = (body: Record<string, string>, key: string): string => {
    if (typeof body[key] !== 'string') throw new Error(`${key} is missing`);
    return Buffer.from(body[key], 'base64').toString();
  };
  return {
    clusterName: String(context.cluster),
    server: String(cluster.server ?? ''),
    user: String(context.user),
    caPem: data(cluster, 'certificate-authority-data'),
    certPem: data(user, 'client-certificate-data'),
    keyPem: data(user, 'client-key-data'),
  };
};
