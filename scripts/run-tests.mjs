#!/usr/bin/env node
// The one test command: every unit and integration test, then a closing line
// "N passed, N failed, N skipped" that CI can read whatever the runner.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'kubeinstall-test-'));
const report = join(dir, 'vitest.json');
const run = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
let summary = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 };
try {
  summary = JSON.parse(readFileSync(report, 'utf8'));
} catch {
  console.error('the test runner wrote no report');
}
rmSync(dir, { recursive: true, force: true });
const skipped = summary.numPendingTests + summary.numTodoTests;
console.log(`\n${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${skipped} skipped`);
const code = run.status ?? 1;
process.exit(code !== 0 ? code : summary.numPassedTests === 0 ? 1 : 0);
