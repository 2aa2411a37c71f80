// How a connection runs privileged commands, probed once per connection: passwordless sudo when
// `sudo -n true` works or no password is configured (sudo's own error then says what is missing),
// otherwise the password from the environment, handed to the redactor before any use.
import type { Host } from '../inventory/model.js';
import { UsageError } from '../util/errors.js';
import type { RawResult } from './channel.js';
import type { Connection } from './connection.js';
import type { Redactor } from './redact.js';
import { PROBE_PASSWORDLESS, type SudoMode } from './sudo.js';
import type { HostTarget } from './target.js';

/** Runs the probe command unprivileged on the connection. */
export type RunProbe = (host: Host, conn: Connection, command: string) => Promise<RawResult>;

export const createSudoProbe = (env: NodeJS.ProcessEnv, redactor: Redactor, runProbe: RunProbe) => {
  const modes = new WeakMap<Connection, Promise<SudoMode>>();
  const probe = async (host: Host, conn: Connection): Promise<SudoMode> => {
    const result = await runProbe(host, conn, PROBE_PASSWORDLESS);
    if (result.code === 0 || !host.ssh.sudoPasswordEnv) return { kind: 'passwordless' };
    const password = env[host.ssh.sudoPasswordEnv];
    if (!password) throw new UsageError(`${host.name}: the sudo password is read from $${host.ssh.sudoPasswordEnv}, which is not set`);
    redactor.add(password);
    return { kind: 'password', password };
  };
  return (host: Host, target: HostTarget, conn: Connection): Promise<SudoMode> => {
    if (!target.sudo) return Promise.resolve({ kind: 'none' });
    let mode = modes.get(conn);
    if (!mode) modes.set(conn, (mode = probe(host, conn)));
    return mode;
  };
};
