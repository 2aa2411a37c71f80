// The options several commands share, and the one parser of numeric option values: a bad value is a
// commander InvalidArgumentError, so every command exits 2 with commander's message naming the option.
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONCURRENCY } from '../ssh/types.js';
import { parseMaxUnavailable, type MaxUnavailable } from '../deploy/roll.js';

export const DEFAULT_INVENTORY = './inventory.yaml';

export const inventoryOption = (): Option => new Option('-i, --inventory <file>', 'inventory file').env('KUBEINSTALL_INVENTORY').default(DEFAULT_INVENTORY);

/** A comma-separated option value (`--hosts a,b`): its items, trimmed, empty ones left out. */
export const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A whole number of at least `min`: `--concurrency 10`. */
export const wholeNumber =
  (min = 0) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    return n;
  };

/** Whole days, with or without the unit: `30d`, `30`. */
export const days = (value: string): number => {
  const m = /^(\d+)d?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a number of days, such as 30d');
  return Number(m[1]);
};

const UNIT_SECONDS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600 };

/** `--concurrency N` of every command that works on the hosts. */
export const concurrencyOption = (): Option =>
  new Option('--concurrency <n>', 'hosts worked on at once').argParser(wholeNumber(1)).default(DEFAULT_CONCURRENCY);

/** A duration of at least one second, in seconds or with a unit (`90`, `90s`, `2m`, `1h`); the value is in milliseconds. */
export const duration = (value: string): number => {
  const m = /^(\d+)(s|m|h)?$/.exec(value.trim());
  const ms = m ? Number(m[1]) * UNIT_SECONDS[m[2] ?? '']! * 1000 : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1000)
    throw new InvalidArgumentError('expected a duration of at least 1 second: seconds, or a number with s, m or h (90, 90s, 2m)');
  return ms;
};

/** `--max-unavailable`: a whole number of at least 1, or a percentage from 1% to 100%. */
export const maxUnavailable = (value: string): MaxUnavailable => {
  const parsed = parseMaxUnavailable(value);
  if (!parsed) throw new InvalidArgumentError('expected a whole number of at least 1 (2), or a percentage from 1% to 100% (25%)');
  return parsed;
};

/** Deploy (and the commands that run its verify phase) end with every kubelet host's Node Ready, unless this is given. */
export const allowNotReadyOption = (): Option =>
  new Option('--allow-not-ready', 'report Nodes that are not Ready as warnings and exit 0 (e.g. until a pod network is applied)');
