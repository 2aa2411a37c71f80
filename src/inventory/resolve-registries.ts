// cluster.registries: CA paths made absolute, credentials named by both variables or by none.
import type { Registry } from './model.js';
import { expandPath, type RegistryInput, type Report } from './input.js';

export const resolveRegistries = (input: readonly RegistryInput[], baseDir: string, report: Report): Registry[] =>
  input.map((r, i) => {
    const at = ['cluster', 'registries', i] as const;
    if (Boolean(r.usernameEnv) !== Boolean(r.passwordEnv)) {
      const missing = r.usernameEnv ? 'passwordEnv' : 'usernameEnv';
      report.error([...at, missing], `${r.host}: credentials need both usernameEnv and passwordEnv (${missing} is missing)`);
    }
    if (r.caFile && r.mirrors.every((m) => m.startsWith('http://'))) {
      report.warn([...at, 'caFile'], `${r.host}: every mirror is plain http://, so caFile is not used`);
    }
    return {
      host: r.host,
      mirrors: r.mirrors,
      ...(r.caFile ? { caFile: expandPath(r.caFile, baseDir) } : {}),
      ...(r.usernameEnv && r.passwordEnv ? { credentials: { usernameEnv: r.usernameEnv, passwordEnv: r.passwordEnv } } : {}),
    };
  });
