#!/usr/bin/env node
// Rewrites the generated sections of README.md from the tables the code uses (run after `npm run build`):
// the inventory reference (schema table) and the binaries each role needs (role binaries table).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderInventoryReference } from '../dist/inventory/template.js';
import { renderRoleBinariesMarkdown } from '../dist/render/binaries.js';

const replaceSection = (text, name, body) => {
  const [head, rest] = text.split(`<!-- ${name}:start -->`);
  const [, tail] = rest.split(`<!-- ${name}:end -->`);
  return `${head}<!-- ${name}:start -->\n${body}\n<!-- ${name}:end -->${tail}`;
};

let readme = readFileSync('README.md', 'utf8');
readme = replaceSection(readme, 'inventory-reference', renderInventoryReference());
readme = replaceSection(readme, 'role-binaries', renderRoleBinariesMarkdown());
writeFileSync('README.md', readme);
