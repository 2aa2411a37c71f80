// Registry mirrors as containerd reads them (config_path): one hosts.toml per registry host under
// /etc/containerd/certs.d/<host>/, its mirrors in order, the CA beside it, basic-auth credentials as an
// Authorization header (hosts.toml has no other place for them), so that file is 0600 when it holds them.
import type { Registry } from '../inventory/model.js';
import { HOST_PATHS } from './paths.js';
import { textFile, type RenderedFile } from './rendered.js';

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** What the registries need from outside the inventory, read at the I/O edge (render/load.ts), by registry host. */
export interface RegistryInputs {
  readonly cas: ReadonlyMap<string, Buffer>;
  readonly credentials: ReadonlyMap<string, RegistryCredentials>;
}

export const NO_REGISTRY_INPUTS: RegistryInputs = { cas: new Map(), credentials: new Map() };

export const registryDir = (host: string): string => `${HOST_PATHS.containerdCertsDir}/${host}`;
export const hostsTomlPath = (host: string): string => `${registryDir(host)}/hosts.toml`;
export const registryCaPath = (host: string): string => `${registryDir(host)}/ca.crt`;

/** TOML basic strings escape as JSON strings do. */
const s = (value: string): string => JSON.stringify(value);

const basicAuth = (c: RegistryCredentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

export const renderHostsToml = (r: Registry, hasCa: boolean, credentials: RegistryCredentials | undefined): string =>
  [
    `# kubeinstall: mirrors of ${r.host} (cluster.registries), tried in order before ${r.host} itself.`,
    ...r.mirrors.flatMap((m) => [
      '',
      `[host.${s(m)}]`,
      '  capabilities = ["pull", "resolve"]',
      ...(hasCa && m.startsWith('https://') ? [`  ca = ${s(registryCaPath(r.host))}`] : []),
      ...(credentials ? [`  [host.${s(m)}.header]`, `    Authorization = ${s(basicAuth(credentials))}`] : []),
    ]),
    '',
  ].join('\n');

/** The files of every registry whose inputs are there; `missing` names the environment variables that are not. */
export const renderRegistries = (
  registries: readonly Registry[],
  inputs: RegistryInputs,
): { files: RenderedFile[]; missing: { path: string; from: string }[] } => {
  const files: RenderedFile[] = [];
  const missing: { path: string; from: string }[] = [];
  for (const r of registries) {
    const ca = inputs.cas.get(r.host);
    const credentials = inputs.credentials.get(r.host);
    if (r.credentials && !credentials) {
      missing.push({ path: hostsTomlPath(r.host), from: `environment ${r.credentials.usernameEnv}, ${r.credentials.passwordEnv}` });
      continue;
    }
    // containerd reads these on every pull: nothing restarts
    files.push(textFile(hostsTomlPath(r.host), renderHostsToml(r, ca !== undefined, credentials), [], credentials ? 0o600 : 0o644));
    if (ca) files.push({ path: registryCaPath(r.host), mode: 0o644, data: ca, restarts: [] });
  }
  return { files, missing };
};
