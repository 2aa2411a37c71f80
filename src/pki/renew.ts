// `certs renew`: which leaves to re-issue. The rest of a renewal is `certs` itself (generate.ts) told to
// re-issue these whatever their state, and to keep every other leaf even when it is near its expiry.
import { UsageError } from '../util/errors.js';
import { daysLeft } from './checks.js';
import type { CertInstance, PkiPlan } from './specs.js';
import type { CertInfo } from './x509.js';

/** What to renew: the leaves due within some days, every leaf, or leaves by name. */
export type RenewTarget = { readonly withinDays: number } | { readonly all: true } | { readonly names: readonly string[] };

/** The default window, kubeadm's and `verify-certs --warn-within`'s: a month. */
export const DEFAULT_RENEW_WITHIN_DAYS = 30;

/** Why a leaf is re-issued, or undefined to leave it alone. */
export type RenewSelector = (c: CertInstance, cert: CertInfo | undefined, now: Date) => string | undefined;

const isLeaf = (c: CertInstance): boolean => c.spec.ca !== 'self';

/** The names `certs renew NAME...` accepts: each leaf's id (`etcd-server/m1`) and each kind (`etcd-server`: every host's). */
export const renewableNames = (plan: PkiPlan): string[] => [...new Set(plan.certs.filter(isLeaf).flatMap((c) => (c.host ? [c.spec.name, c.id] : [c.id])))];

/** The selector for a target; names the plan lacks (a CA among them: renewing a CA is a CA rotation) are a usage error. */
export const renewSelector = (plan: PkiPlan, target: RenewTarget): RenewSelector => {
  if ('all' in target) return (c) => (isLeaf(c) ? 'renewed (--all)' : undefined);
  if ('withinDays' in target) {
    return (c, cert, now) => {
      if (!isLeaf(c)) return undefined;
      if (!cert) return 'renewed (unreadable)';
      return daysLeft(cert, now) < target.withinDays ? `renewed: expires ${cert.notAfter.toISOString()}, within ${target.withinDays} days` : undefined;
    };
  }
  const known = new Set(renewableNames(plan));
  const unknown = target.names.filter((n) => !known.has(n));
  if (unknown.length) {
    const cas = plan.certs.filter((c) => !isLeaf(c)).map((c) => c.id);
    throw new UsageError(
      `certs renew: no leaf certificate named ${unknown.join(', ')}` +
        `${unknown.some((n) => cas.includes(n)) ? ` (${cas.join(', ')} are CAs: renewing one is a CA rotation, not a renewal)` : ''}; ` +
        `known: ${[...known].join(', ')}`,
    );
  }
  const wanted = new Set(target.names);
  return (c) => (isLeaf(c) && (wanted.has(c.id) || wanted.has(c.spec.name)) ? 'renewed (named)' : undefined);
};
