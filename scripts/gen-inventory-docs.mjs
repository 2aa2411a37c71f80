#!/usr/bin/env node
// Rewrites the inventory reference in README.md from the schema table (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderInventoryReference } from '../dist/inventory/template.js';

const START = '<!-- inventory-reference:start -->';
const END = '<!-- inventory-reference:end -->';
const readme = readFileSync('README.md', 'utf8');
const [head, rest] = readme.split(START);
const [, tail] = rest.split(END);
writeFileSync('README.md', `${head}${START}\n${renderInventoryReference()}\n${END}${tail}`);
