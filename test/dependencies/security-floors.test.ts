// The version floors in package.json decide what `npm install` without our lockfile may pick: they must
// sit past every security fix we know of for the libraries that parse untrusted input (certificates,
// inventories). One row per fix; a new advisory is a new row.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface SecurityFix {
  readonly name: string;
  readonly fixedIn: string;
  readonly advisory: string;
}

const FIXES: readonly SecurityFix[] = [
  { name: 'node-forge', fixedIn: '1.3.2', advisory: 'CVE-2025-12816 ASN.1 validator desynchronisation (also CVE-2025-66030/66031)' },
  { name: 'js-yaml', fixedIn: '4.1.1', advisory: 'CVE-2025-64718 prototype pollution through the merge key' },
];

const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
const parts = (version: string): number[] => version.split('.').map(Number);
const atLeast = (version: string, floor: string): boolean => {
  const [a, b] = [parts(version), parts(floor)];
  const diff = a.map((n, i) => n - (b[i] ?? 0)).find((d) => d !== 0);
  return diff === undefined || diff > 0;
};
/** The lowest version a caret or tilde range admits ("^1.4.3" -> "1.4.3"). */
const floorOf = (range: string): string => {
  const match = /^[\^~]?(\d+\.\d+\.\d+)$/.exec(range);
  if (!match) throw new Error(`unsupported range "${range}": use ^x.y.z`);
  return match[1]!;
};

const manifest = readJson('../../package.json') as { dependencies: Record<string, string> };

describe('dependency floors past known security fixes', () => {
  for (const fix of FIXES) {
    it(`${fix.name} >= ${fix.fixedIn} (${fix.advisory})`, () => {
      const range = manifest.dependencies[fix.name];
      expect(range, `${fix.name} is not a dependency`).toBeDefined();
      expect(atLeast(floorOf(range!), fix.fixedIn), `package.json allows ${fix.name} ${range}`).toBe(true);
      const installed = readJson(`../../node_modules/${fix.name}/package.json`) as { version: string };
      expect(atLeast(installed.version, fix.fixedIn), `installed ${fix.name} ${installed.version}`).toBe(true);
    });
  }
});
