#!/usr/bin/env node
// Biome formats to `formatter.lineWidth` but cannot break a long string: this check fails on any source
// line longer than that width, naming each, so no line over it lands. The width is read from biome.jsonc.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const config = JSON.parse(readFileSync('biome.jsonc', 'utf8').replace(/^\s*\/\/.*$/gm, ''));
const width = config.formatter.lineWidth;
const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs'], { encoding: 'utf8' });
const files = [...new Set(listed.split('\n').filter(Boolean))]; // a file being merged is listed once a stage
const long = files.flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.length > width ? [`${file}:${i + 1}: ${line.length} characters`] : [])),
);
if (long.length) {
  console.error(`lines over the configured width of ${width} (biome.jsonc):\n  ${long.join('\n  ')}`);
  process.exit(1);
}
