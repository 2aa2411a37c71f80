// The test bed's base root filesystem: a debootstrap'd Debian bookworm with systemd and sshd,
// cached as a zstd tarball keyed by its package list and extracted once into a shared base folder.
// Building and extracting run under one flock, so test files starting together build it once.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc.js';

export const CACHE_DIR = process.env.KUBEINSTALL_TESTBED_CACHE ?? '/var/cache/kubeinstall-testbed';
export const SUITE = 'bookworm';
// haproxy and keepalived: the node-local load balancer and the VIP come from the hosts' OS packages.
export const BASE_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'iproute2',
  'procps',
  'sudo',
  'ca-certificates',
  'python3',
  'kmod',
  'haproxy',
  'keepalived',
] as const;
/** The non-root user every host has, with sudo behind a password set per test bed. */
export const SUDO_USER = 'kitest';
/** Bump when the recipe below changes in a way the package list does not show. */
const RECIPE_VERSION = 1;

export const packageList = (extra: readonly string[] = []): string[] => [...new Set([...BASE_PACKAGES, ...extra])].sort();

export const imageKey = (packages: readonly string[]): string =>
  createHash('sha256')
    .update(JSON.stringify({ suite: SUITE, packages, recipe: RECIPE_VERSION }))
    .digest('hex')
    .slice(0, 16);

/** The Debian mirror of the machine's own apt sources (deb822 or one-line format). */
export const mirrorFromSources = (texts: readonly string[]): string | undefined => {
  for (const text of texts) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (uri && suites.includes(SUITE)) return uri;
    }
    const line = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${SUITE}\\s`, 'm').exec(text);
    if (line) return line[1];
  }
  return undefined;
};

const APT_SOURCES = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];

const machineMirror = (): string => {
  const mirror = mirrorFromSources(APT_SOURCES.filter(existsSync).map((f) => readFileSync(f, 'utf8')));
  if (!mirror) throw new Error(`no ${SUITE} mirror found in ${APT_SOURCES.join(' or ')}`);
  return mirror;
};

// Runs under the lock. Every output appears under its final name only when complete (build in a
// temp name, then rename), so a build killed half way leaves nothing a later run would trust; the temp
// folders a SIGKILLed build could not remove are removed by the next one (no other builder holds the lock).
const BUILD_SCRIPT = `
set -eu
cache=$1 key=$2 mirror=$3 packages=$4 user=$5
rm -rf "$cache"/build-* "$cache"/extract-*
tarball=$cache/base-$key.tar.zst base=$cache/base-$key
if [ ! -f "$tarball" ]; then
  tmp=$(mktemp -d "$cache/build-$key.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  debootstrap --variant=minbase --include="$packages" ${SUITE} "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -n 30 "$tmp/debootstrap.log" >&2; exit 1; }
  chroot "$tmp/root" useradd --create-home --shell /bin/bash --groups sudo "$user"
  # Each host gets its own machine-id and host keys; none may come from the shared base.
  rm -f "$tmp/root/etc/machine-id" "$tmp/root/var/lib/dbus/machine-id" "$tmp/root"/etc/ssh/ssh_host_*
  rm -rf "$tmp/root/var/cache/apt/archives"/*.deb "$tmp/root/var/lib/apt/lists"/*
  tar -C "$tmp/root" --numeric-owner -cf - . | zstd -q -T0 -o "$tmp/base.tar.zst"
  mv "$tmp/base.tar.zst" "$tarball"
fi
if [ ! -d "$base" ]; then
  tmp=$(mktemp -d "$cache/extract-$key.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  zstd -q -d -c "$tarball" | tar -C "$tmp" --numeric-owner -xf -
  mv "$tmp" "$base"
fi
`;

/** The extracted base root filesystem for this package list, built on first use. */
export const ensureBaseImage = async (extraPackages: readonly string[] = []): Promise<string> => {
  const packages = packageList(extraPackages);
  const key = imageKey(packages);
  const base = join(CACHE_DIR, `base-${key}`);
  if (existsSync(base)) return base;
  await run('mkdir', ['-p', CACHE_DIR]);
  await run('flock', [join(CACHE_DIR, '.lock'), 'sh', '-c', BUILD_SCRIPT, 'build-base', CACHE_DIR, key, machineMirror(), packages.join(','), SUDO_USER], {
    timeoutMs: 15 * 60_000,
  });
  return base;
};
