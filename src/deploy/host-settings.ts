// The kernel modules and sysctls a host needs, modules and sysctls read from the drop-ins the plan installs, so the
// plan stays the one place that says what they are.
import { posix } from 'node:path';
import { HOST_PATHS } from '../render/paths.js';
import type { HostPlan, PlannedFile } from '../render/types.js';

export interface Sysctl {
  readonly key: string;
  readonly value: string;
}

const inlineText = (f: PlannedFile): string => (f.content.kind === 'inline' ? f.content.data.toString('utf8') : '');

const meaningfulLines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';'));

/** The plan's `.conf` files in the folder of the drop-in render writes there. */
const dropIns = (hp: HostPlan, renderedDropIn: string): PlannedFile[] =>
  hp.files.filter((f) => posix.dirname(f.path) === posix.dirname(renderedDropIn) && f.path.endsWith('.conf'));

export const requiredModules = (hp: HostPlan): string[] => dropIns(hp, HOST_PATHS.modulesLoad).flatMap((f) => meaningfulLines(inlineText(f)));

export const parseSysctlDropIn = (text: string): Sysctl[] =>
  meaningfulLines(text)
    .map((l) => /^-?([\w./-]+)\s*=\s*(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ key: m[1]!.replace(/\//g, '.'), value: m[2]!.trim() }));

export const requiredSysctls = (hp: HostPlan): Sysctl[] => dropIns(hp, HOST_PATHS.sysctl).flatMap((f) => parseSysctlDropIn(inlineText(f)));
