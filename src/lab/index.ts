// The test bed: real Debian hosts (systemd + sshd) on 127.x addresses, or each in its own network
// namespace on a bridge of the test bed's own (198.18.0.0/15), for integration tests and benchmarks.
// Each caller starts its own hosts and stops them; they are also torn down (by process id, the bridge by
// its exact name) when the test process exits or is interrupted.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunOptions, type RunResult } from './proc.js';
import { ensureBaseImage, SUDO_USER } from './image.js';
import {
  assertAddressFree,
  bootHost,
  createHostRoot,
  hostExec,
  provisionHost,
  removeHost,
  removeHostNow,
  shutdownHost,
  waitForSsh,
  type HostSpec,
  type HostState,
} from './host.js';
import { assertTestNetwork, bridgeName, createBridge, gatewayAddress, removeBridge, removeBridgeNow, throttleAddress, type TestbedNetwork } from './network.js';

export type { HostSpec } from './host.js';
export type { TestbedNetwork } from './network.js';

export interface TestbedOptions {
  readonly hosts: readonly HostSpec[];
  /** Debian packages beyond the base set (a different package list is a different cached image). */
  readonly extraPackages?: readonly string[];
  /** Each host in its own network namespace on this bridge (host addresses from its subnet); without
   * it the hosts share this machine's namespace on 127.x addresses. */
  readonly network?: TestbedNetwork;
  /** Hosts that can run real containers with containerd and runc (keyctl allowed, writable cgroup controllers,
   * /var/lib/containerd off the overlay root). */
  readonly containers?: boolean;
}

export interface TestbedHost {
  readonly name: string;
  readonly address: string;
  readonly root: string;
  readonly leaderPid: number;
}

export interface Testbed {
  readonly hosts: readonly TestbedHost[];
  /** The bridge and the runner's address on it, when the hosts have their own networks. */
  readonly network?: { readonly bridge: string; readonly gateway: string };
  /** Private key (ed25519, no passphrase) authorized for root and the sudo user on every host. */
  readonly privateKeyPath: string;
  /** A non-root user on every host, in the sudo group, whose sudo asks for this password. */
  readonly sudoUser: { readonly name: string; readonly password: string };
  /** Run a shell command inside a host (nsenter, not ssh), for assertions from outside. */
  hostExec(name: string, command: string, opts?: RunOptions): Promise<RunResult>;
  /** The host's current public host keys, one `type base64` line each. */
  hostKeys(name: string): Promise<string[]>;
  /** known_hosts lines for every host, as `ssh-keyscan` would print them. */
  knownHosts(): Promise<string>;
  /** New host keys, picked up by sshd at once (a "changed host key"). */
  regenerateHostKeys(name: string): Promise<void>;
  /** `systemctl reboot` inside, then boot again; resolves when sshd answers. */
  reboot(name: string): Promise<void>;
  /** Caps the runner's traffic to a networked host at `kbit` kbit/s; resolves to the undo. */
  throttle(name: string, kbit: number): Promise<() => Promise<void>>;
  stopHost(name: string): Promise<void>;
  startHost(name: string): Promise<void>;
  stop(): Promise<void>;
}

interface LiveTestbed {
  readonly hosts: HostState[];
  /** Set once this test bed has made its bridge: only then is the bridge its to remove. */
  network?: TestbedNetwork;
}
/** Every running test bed of this process: its folder, hosts and network, torn down if the process exits first. */
const live = new Map<string, LiveTestbed>();
let exitHooked = false;
const tearDownAllNow = (): void => {
  for (const [dir, { hosts, network }] of live) {
    hosts.forEach(removeHostNow);
    if (network) removeBridgeNow(network);
    rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
};
const hookExit = (): void => {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', tearDownAllNow);
  for (const [signal, number] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
    ['SIGHUP', 1],
  ] as const) {
    process.once(signal, () => {
      tearDownAllNow();
      process.exit(128 + number);
    });
  }
};

export const startTestbed = async (opts: TestbedOptions): Promise<Testbed> => {
  const names = new Set(opts.hosts.map((h) => h.name));
  if (names.size !== opts.hosts.length) throw new Error('test-bed host names must be unique');
  const { network } = opts;
  // A network of its own is checked as a whole (its bridge must not exist yet); shared loopback addresses one by one.
  if (network)
    assertTestNetwork(
      network,
      opts.hosts.map((h) => h.address),
    );
  else await Promise.all(opts.hosts.map((h) => assertAddressFree(h.address)));
  const base = await ensureBaseImage(opts.extraPackages);
  const dir = await mkdtemp('/var/tmp/kubeinstall-testbed-');
  const privateKeyPath = join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kubeinstall-testbed', '-f', privateKeyPath]);
  const authorizedKey = await readFile(`${privateKeyPath}.pub`, 'utf8');
  const sudoUser = { name: SUDO_USER, password: randomBytes(12).toString('base64url') };
  hookExit();

  const states: HostState[] = [];
  const entry: LiveTestbed = { hosts: states };
  live.set(dir, entry);
  const byName = (name: string): HostState => {
    const h = states.find((s) => s.name === name);
    if (!h) throw new Error(`no test-bed host named ${name}`);
    return h;
  };
  const stop = async (): Promise<void> => {
    await Promise.all(states.map(removeHost));
    if (entry.network) await removeBridge(entry.network);
    await rm(dir, { recursive: true, force: true });
    live.delete(dir);
  };
  try {
    if (network) {
      await createBridge(network); // refuses a bridge that exists: another test bed's is never taken over
      entry.network = network;
    }
    await Promise.all(
      opts.hosts.map(async (spec) => {
        const h = await createHostRoot(spec, base, dir, network, opts.containers);
        states.push(h);
        await provisionHost(h, opts.hosts, authorizedKey, sudoUser.password);
        await bootHost(h);
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const hostKeys = async (name: string): Promise<string[]> => {
    const sshDir = join(byName(name).root, 'etc/ssh');
    const pubs = (await readdir(sshDir)).filter((f) => /^ssh_host_.*_key\.pub$/.test(f)).sort();
    return Promise.all(pubs.map(async (f) => (await readFile(join(sshDir, f), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ')));
  };
  return {
    hosts: states,
    ...(network && { network: { bridge: bridgeName(network), gateway: gatewayAddress(network) } }),
    privateKeyPath,
    sudoUser,
    hostExec: (name, command, runOpts) => hostExec(byName(name), command, runOpts),
    hostKeys,
    knownHosts: async () => `${(await Promise.all(states.map(async (h) => (await hostKeys(h.name)).map((k) => `${h.address} ${k}`)))).flat().join('\n')}\n`,
    regenerateHostKeys: async (name) => {
      const h = byName(name);
      await hostExec(h, 'rm -f /etc/ssh/ssh_host_* && ssh-keygen -A && systemctl restart ssh');
      await waitForSsh(h);
    },
    reboot: async (name) => {
      const h = byName(name);
      const exited = new Promise((resolve) => h.nspawn?.once('exit', resolve));
      await hostExec(h, 'systemctl reboot');
      await exited;
      await bootHost(h);
    },
    throttle: async (name, kbit) => {
      if (!network) throw new Error('throttle needs hosts with networks of their own');
      return throttleAddress(network, byName(name).address, kbit);
    },
    stopHost: (name) => shutdownHost(byName(name)),
    startHost: (name) => bootHost(byName(name)),
    stop,
  };
};
