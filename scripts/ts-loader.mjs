// Lets `node --import ./scripts/ts-loader.mjs file.ts` run TypeScript directly (benchmarks), via tsx.
import { register } from 'tsx/esm/api';

register();
