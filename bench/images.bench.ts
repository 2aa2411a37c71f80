// `npm run bench:images [-- --mib 200]`
// Reading <binariesDir>/images/ before every deploy: a docker archive of MIB MiB (one layer of random bytes) indexed
// by kubeinstall (names, digests, the archive's sha256, in one pass), cold and from the cache, beside the baseline
// measured in the same run: `sha256sum` of the same file, the least any tool that checks the archive must do.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { imageCacheFile, indexImages } from '../src/images/load.js';

const { values: args } = parseArgs({ options: { mib: { type: 'string', default: '200' }, runs: { type: 'string', default: '3' } } });
const MIB = Number(args.mib);
const RUNS = Number(args.runs);

const timed = async (work: () => unknown): Promise<number> => {
  const best: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    await work();
    best.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return Math.min(...best);
};

const main = async (): Promise<void> => {
  const dir = await mkdtemp(join(tmpdir(), 'ki-bench-images-'));
  try {
    const src = join(dir, 'src');
    await mkdir(join(src, 'layer'), { recursive: true });
    const layer = Buffer.concat(Array.from({ length: MIB }, () => randomBytes(1048576)));
    await writeFile(join(src, 'layer/layer.tar'), layer);
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(layer).digest('hex')}`] },
    });
    await writeFile(join(src, 'config.json'), config);
    await writeFile(join(src, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['bench.example/big:1'], Layers: ['layer/layer.tar'] }]));
    const binaries = join(dir, 'binaries');
    await mkdir(join(binaries, 'images'), { recursive: true });
    const archive = join(binaries, 'images/big.tar');
    execFileSync('tar', ['-C', src, '-cf', archive, 'config.json', 'manifest.json', 'layer']);

    const baseline = await timed(() => execFileSync('sha256sum', [archive]));
    const cold = await timed(() => indexImages(binaries));
    const cache = imageCacheFile(join(dir, 'cluster'));
    await indexImages(binaries, cache);
    const cached = await timed(() => indexImages(binaries, cache));
    const row = (what: string, ms: number): string => `${what.padEnd(36)} ${ms.toFixed(1).padStart(9)} ms  ${(ms / baseline).toFixed(3)}x`;
    console.log(`a ${MIB} MiB docker archive, best of ${RUNS}`);
    console.log(row('sha256sum (baseline)', baseline));
    console.log(row('kubeinstall index, cold', cold));
    console.log(row('kubeinstall index, from the cache', cached));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

await main();
