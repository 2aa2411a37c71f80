// Credentials for one target, in the order they are offered: key files, then ssh-agent, then a
// password. Secrets come from environment variables (or a prompt on a terminal) and are handed to
// the redactor before anything could log them.
import { readFile } from 'node:fs/promises';
import ssh2, { type AnyAuthMethod } from 'ssh2';
import { UsageError } from '../util/errors.js';
import type { Redactor } from './redact.js';
import type { ResolvedTarget } from './target.js';

export interface AuthSources {
  readonly env: NodeJS.ProcessEnv;
  readonly redactor: Redactor;
  /** Asks for a key's passphrase; undefined where there is no terminal to ask on. */
  readonly promptPassphrase?: (keyFile: string) => Promise<string>;
  /** Keys already loaded, by file: hosts sharing a key ask for its passphrase once. */
  readonly keys: Map<string, Promise<Buffer>>;
}

const fromEnv = (sources: AuthSources, name: string, what: string, target: ResolvedTarget): string => {
  const value = sources.env[name];
  if (value === undefined || value === '') throw new UsageError(`${target.label}: ${what} is read from $${name}, which is not set`);
  sources.redactor.add(value);
  return value;
};

const needsPassphrase = (err: Error): boolean => /no passphrase given|bad passphrase|integrity check failed/i.test(err.message);

const loadKey = async (file: string, target: ResolvedTarget, sources: AuthSources): Promise<Buffer> => {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    throw new UsageError(`${target.label}: cannot read identity file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const plain = ssh2.utils.parseKey(data);
  if (!(plain instanceof Error)) return data;
  if (!needsPassphrase(plain)) throw new UsageError(`${target.label}: ${file} is not a private key ssh2 can read (${plain.message})`);
  const passphrase = target.passphraseEnv
    ? fromEnv(sources, target.passphraseEnv, `the passphrase of ${file}`, target)
    : sources.promptPassphrase
      ? await sources.promptPassphrase(file)
      : undefined;
  if (passphrase === undefined) throw new UsageError(`${target.label}: ${file} is encrypted; set ssh.passphraseEnv to a variable holding its passphrase`);
  sources.redactor.add(passphrase);
  const key = ssh2.utils.parseKey(data, passphrase);
  if (key instanceof Error) throw new UsageError(`${target.label}: the passphrase for ${file} is wrong`);
  // Hand ssh2 the decrypted key, so the passphrase need not travel further.
  return Buffer.from((Array.isArray(key) ? key[0] : key).getPrivatePEM());
};

export const authMethods = async (target: ResolvedTarget, sources: AuthSources): Promise<AnyAuthMethod[]> => {
  const username = target.user;
  const methods: AnyAuthMethod[] = [];
  for (const file of target.identityFiles) {
    let key = sources.keys.get(file);
    if (!key) {
      key = loadKey(file, target, sources);
      sources.keys.set(file, key);
      key.catch(() => sources.keys.delete(file));
    }
    methods.push({ type: 'publickey', username, key: await key });
  }
  const agent = sources.env.SSH_AUTH_SOCK;
  if (target.useAgent && agent) methods.push({ type: 'agent', username, agent });
  const password = target.passwordEnv ? fromEnv(sources, target.passwordEnv, 'the SSH password', target) : target.password;
  if (password !== undefined) {
    sources.redactor.add(password);
    methods.push({ type: 'password', username, password });
  }
  if (!methods.length) {
    throw new UsageError(`${target.label}: no SSH credentials: set ssh.identityFile, run an ssh-agent (SSH_AUTH_SOCK), or set ssh.passwordEnv`);
  }
  return methods;
};

/** Reads a passphrase from the terminal without echoing it. */
export const promptOnTerminal = async (keyFile: string): Promise<string> => {
  const { stdin, stderr } = process;
  stderr.write(`passphrase for ${keyFile}: `);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: Buffer): void => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            done(() => resolve(typed));
            return;
          }
          if (ch === '\u0003') {
            done(() => reject(new UsageError('passphrase prompt interrupted')));
            return;
          }
          typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
        }
      };
      const done = (then: () => void): void => {
        stdin.off('data', onData);
        then();
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    stderr.write('\n');
  }
};
