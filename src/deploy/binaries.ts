// Local checks of the binaries folder: SHA256SUMS, the architecture an ELF file was built for, and
// the version a binary reports.
import { execFile } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

/** ELF e_machine values and the `uname -m` names of the same architectures. */
const ELF_MACHINES: ReadonlyMap<number, string> = new Map([
  [62, 'x86_64'],
  [183, 'aarch64'],
  [40, 'armv7l'],
  [21, 'ppc64le'],
  [22, 's390x'],
  [243, 'riscv64'],
]);

/** The architecture of an ELF binary from its header, or undefined for anything else (scripts). */
export const elfArchitecture = (header: Buffer): string | undefined => {
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const littleEndian = header[5] === 1;
  const machine = littleEndian ? header.readUInt16LE(18) : header.readUInt16BE(18);
  return ELF_MACHINES.get(machine) ?? `elf-machine-${machine}`;
};

/** Node's `process.arch` as `uname -m` names it (the names ELF_MACHINES uses). */
const NODE_ARCHITECTURES: Readonly<Record<string, string>> = {
  x64: 'x86_64',
  arm64: 'aarch64',
  arm: 'armv7l',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};
export const LOCAL_ARCHITECTURE = NODE_ARCHITECTURES[process.arch] ?? process.arch;

/** The first `x.y.z` of a `--version` output: `etcd Version: 3.4.23`, `containerd github.com/containerd/containerd/v2 v2.1.4 ...`,
 * Debian's `containerd ... 1.6.20~ds1 ...` (1.6.20). */
export const parseVersion = (output: string): string | undefined => /(?:^|[\s:])v?(\d+\.\d+\.\d+)/.exec(output)?.[1];

const VERSION_TIMEOUT_MS = 10_000;

/** Runs `<path> --version` here; the caller makes sure the binary is built for this machine. */
export const readBinaryVersion = async (path: string): Promise<string> => {
  const { stdout, stderr } = await promisify(execFile)(path, ['--version'], { timeout: VERSION_TIMEOUT_MS });
  const version = parseVersion(`${stdout}\n${stderr}`);
  if (!version) throw new Error(`${path} --version printed no version: ${JSON.stringify(`${stdout}${stderr}`.slice(0, 200))}`);
  return version;
};

export const readElfArchitecture = async (path: string): Promise<string | undefined> => {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(20);
    const { bytesRead } = await handle.read(header, 0, 20, 0);
    return elfArchitecture(header.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
};

/** `sha256sum` output format: `<hex>  <name>` (or ` *<name>` in binary mode). */
export const parseSha256Sums = (text: string): Map<string, string> =>
  new Map(
    text
      .split('\n')
      .map((line) => /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [basename(m[2]!), m[1]!.toLowerCase()] as [string, string]),
  );

export const readSha256Sums = async (binariesDir: string): Promise<Map<string, string> | undefined> => {
  try {
    return parseSha256Sums(await readFile(join(binariesDir, 'SHA256SUMS'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};
