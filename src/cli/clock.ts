// The clock of the PKI commands. KUBEINSTALL_NOW is for tests only: it lets `certs`, `certs renew` and
// `verify-certs` act as of another time (e.g. a PKI issued a year ago), while the hosts keep their own
// clocks; deploy and every other command ignore it. An absolute time (ISO 8601) or an offset from now in
// days (`-350d`, `+400d`).
import { UsageError } from '../util/errors.js';

export const CLOCK_ENV = 'KUBEINSTALL_NOW';
const DAY_MS = 86_400_000;

export const parseClock = (value: string, realNow: Date = new Date()): Date => {
  const offset = /^([+-]\d+)d$/.exec(value.trim());
  const at = offset ? new Date(realNow.getTime() + Number(offset[1]) * DAY_MS) : /^\d{4}-\d\d-\d\d/.test(value) ? new Date(value) : undefined;
  if (!at || Number.isNaN(at.getTime())) throw new UsageError(`${CLOCK_ENV}=${value}: expected an ISO 8601 time or an offset in days such as -350d or +400d`);
  return at;
};

/** Now, or the time KUBEINSTALL_NOW names. */
export const pkiNow = (env: NodeJS.ProcessEnv = process.env): Date => {
  const value = env[CLOCK_ENV];
  return value ? parseClock(value) : new Date();
};
