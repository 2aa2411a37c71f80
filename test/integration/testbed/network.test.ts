// The networked test bed: every host in its own network namespace on a bridge of its own, as the HA,
// load-balancer and pod-network tests need. Checked from outside with the real tools (ip, sysctl files)
// and from inside the hosts.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestbed, type Testbed } from '../../../src/lab/index.js';
import { run } from '../../../src/lab/proc.js';

const network = { name: 'net-test', subnet: '198.18.10.0/24' };
const hosts = [
  { name: 'a', address: '198.18.10.2' },
  { name: 'b', address: '198.18.10.3' },
];

const sshBanner = (address: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: address, port: 22, timeout: 5000 });
    socket.once('data', (d: Buffer) => (socket.destroy(), resolve(d.toString())));
    socket.once('timeout', () => (socket.destroy(), reject(new Error(`no banner from ${address}`))));
    socket.once('error', reject);
  });
const procSys = (path: string): string => readFileSync(`/proc/sys/${path}`, 'utf8').trim();
const linkExists = async (name: string): Promise<boolean> => (await run('ip', ['link', 'show', 'dev', name], { allowFailure: true })).code === 0;

describe('test bed with a network per host', () => {
  let tb: Testbed;
  const outerForwarding = procSys('net/ipv4/ip_forward');
  beforeAll(async () => {
    tb = await startTestbed({ hosts, network });
  });
  afterAll(async () => {
    await tb?.stop();
  });

  it('puts the runner on the bridge, answering only there', async () => {
    expect(tb.network).toEqual({ bridge: 'kitb-net-test', gateway: '198.18.10.1' });
    const addr = await run('ip', ['-o', '-4', 'addr', 'show', 'dev', 'kitb-net-test']);
    expect(addr.stdout).toContain('198.18.10.1/24');
    expect(procSys('net/ipv4/conf/kitb-net-test/rp_filter')).toBe('1');
    expect(procSys('net/ipv6/conf/kitb-net-test/disable_ipv6')).toBe('1');
    // nothing but the hosts' veths is on the bridge: no uplink
    const ports = await run('ip', ['-o', 'link', 'show', 'master', 'kitb-net-test']);
    expect(ports.stdout.trim().split('\n')).toHaveLength(hosts.length);
  });

  it('reaches each host on its own address, and hosts reach each other', async () => {
    for (const h of hosts) expect(await sshBanner(h.address)).toMatch(/^SSH-2\.0-/);
    const fromA = await tb.hostExec('a', `bash -c 'exec 3<>/dev/tcp/198.18.10.3/22 && head -c 8 <&3'`, { timeoutMs: 10_000 });
    expect(fromA.stdout).toBe('SSH-2.0-');
  });

  it('gives each host its own addresses and no default route', async () => {
    const addrs = await tb.hostExec('a', 'ip -o -4 addr show');
    expect(addrs.stdout).toContain('198.18.10.2/24');
    expect(addrs.stdout).not.toContain('198.18.10.3');
    expect((await tb.hostExec('a', 'ip route show default')).stdout.trim()).toBe('');
  });

  it('has /proc/sys/net per host and writable there; the machine is untouched', async () => {
    // hostExec must run in the host's network namespace, or the write below would change this machine
    const outerNs = (await run('readlink', ['/proc/self/ns/net'])).stdout.trim();
    expect((await tb.hostExec('a', 'readlink /proc/self/ns/net')).stdout.trim()).not.toBe(outerNs);
    await tb.hostExec('a', 'echo 1 > /proc/sys/net/ipv4/ip_forward');
    expect((await tb.hostExec('a', 'cat /proc/sys/net/ipv4/ip_forward')).stdout.trim()).toBe('1');
    expect((await tb.hostExec('b', 'cat /proc/sys/net/ipv4/ip_forward')).stdout.trim()).toBe('0');
    expect(procSys('net/ipv4/ip_forward')).toBe(outerForwarding);
  });

  it('keeps the address across a reboot', async () => {
    await tb.reboot('b');
    expect(await sshBanner('198.18.10.3')).toMatch(/^SSH-2\.0-/);
  });

  it('refuses a second test bed on the same bridge and leaves the first one running', async () => {
    await expect(startTestbed({ hosts: [{ name: 'c', address: '198.18.10.9' }], network })).rejects.toThrow(/bridge kitb-net-test exists already/);
    expect(await linkExists('kitb-net-test')).toBe(true);
    expect(await sshBanner('198.18.10.2')).toMatch(/^SSH-2\.0-/);
  });

  it('refuses addresses outside 198.18.0.0/15 or outside the subnet', async () => {
    await expect(startTestbed({ hosts: [{ name: 'x', address: '198.18.11.2' }], network })).rejects.toThrow(/not a host address of 198\.18\.10\.0\/24/);
    await expect(startTestbed({ hosts: [{ name: 'x', address: '198.20.7.2' }], network: { name: 'bad', subnet: '198.20.7.0/24' } })).rejects.toThrow(
      /outside 198\.18\.0\.0\/15/,
    );
  });

  it('removes the bridge by name when it stops', async () => {
    await tb.stop();
    expect(await linkExists('kitb-net-test')).toBe(false);
  });
});
