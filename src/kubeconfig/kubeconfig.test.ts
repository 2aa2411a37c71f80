import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { parseKubeconfig, renderKubeconfig, type KubeconfigContent } from './kubeconfig.js';

const content: KubeconfigContent = {
  clusterName: 'prod',
  server: 'https://[2001:db8::1]:6443',
  user: 'system:node:n1',
  caPem: 'CA PEM\n',
  certPem: 'CERT PEM\n',
  keyPem: 'KEY PEM\n',
};

describe('kubeconfig', () => {
  it('names the context <user>@<cluster> and embeds the credentials as base64', () => {
    const doc = yaml.load(renderKubeconfig(content)) as Record<string, unknown>;
    expect(doc).toMatchObject({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'system:node:n1@prod',
      contexts: [{ name: 'system:node:n1@prod', context: { cluster: 'prod', user: 'system:node:n1' } }],
      clusters: [{ name: 'prod', cluster: { server: 'https://[2001:db8::1]:6443', 'certificate-authority-data': Buffer.from('CA PEM\n').toString('base64') } }],
      users: [{ name: 'system:node:n1', user: { 'client-key-data': Buffer.from('KEY PEM\n').toString('base64') } }],
    });
  });

  it('reads back what it writes', () => {
    expect(parseKubeconfig(renderKubeconfig(content))).toEqual(content);
  });

  it('says what is missing in a broken kubeconfig', () => {
    expect(() => parseKubeconfig('- a list')).toThrow('current-context is not set');
    expect(() => parseKubeconfig(renderKubeconfig(content).replace('current-context: system:node:n1@prod', 'current-context: other'))).toThrow(
      'no context named "other"',
    );
    expect(() => parseKubeconfig(renderKubeconfig(content).replace(/client-key-data: .*/, 'token: x'))).toThrow('client-key-data is missing');
  });
});
