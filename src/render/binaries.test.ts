import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROLE_BINARIES, renderRoleBinariesMarkdown } from './binaries.js';

describe('README.md', () => {
  it('lists the binaries each role needs as the table says (npm run docs:inventory)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.split('<!-- role-binaries:start -->\n')[1]?.split('\n<!-- role-binaries:end -->')[0];
    expect(section).toBe(renderRoleBinariesMarkdown());
    for (const specs of Object.values(ROLE_BINARIES)) for (const b of specs) expect(section).toContain(`\`${b.name}\``);
  });
});
