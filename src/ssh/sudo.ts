// Privileged commands for non-root users: `sudo -n` where no password is needed, otherwise the
// password on stdin (`sudo -k -S -p ''`: -k makes sudo always read it, so it can never spill into the
// command's own stdin). Never in argv, never logged.
import { quote } from '../util/shell.js';

export type SudoMode = { readonly kind: 'none' } | { readonly kind: 'passwordless' } | { readonly kind: 'password'; readonly password: string };

export const PROBE_PASSWORDLESS = 'sudo -n true';

export interface Wrapped {
  readonly command: string;
  readonly stdin?: string | Buffer;
}

export const wrapForSudo = (mode: SudoMode, command: string, stdin?: string | Buffer): Wrapped => {
  switch (mode.kind) {
    case 'none':
      return { command, stdin };
    case 'passwordless':
      return { command: `sudo -n -- sh -c ${quote(command)}`, stdin };
    case 'password':
      return { command: `sudo -k -S -p '' -- sh -c ${quote(command)}`, stdin: Buffer.concat([Buffer.from(`${mode.password}\n`), Buffer.from(stdin ?? '')]) };
  }
};

const HINTS: readonly [RegExp, string][] = [
  [/a (password|terminal) is required/i, 'sudo wants a password: set ssh.sudoPasswordEnv to an environment variable holding it'],
  [/incorrect password|Sorry, try again/i, 'sudo refused the password from ssh.sudoPasswordEnv'],
  [/is not in the sudoers file|not allowed to (run|execute)/i, 'the SSH user may not use sudo on this host: grant it sudo rights or connect as root'],
];

/** What to tell the user when sudo itself (not the command) failed. */
export const sudoHint = (stderr: string): string | undefined => HINTS.find(([re]) => re.test(stderr))?.[1];
