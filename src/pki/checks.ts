// Does a certificate on disk still match its spec? One list of checks serves `certs` (keep or re-issue)
// and `verify-certs` (report).
import type { KeyObject } from 'node:crypto';
import type { KeyAlgorithm } from '../inventory/model.js';
import { keyAlgorithm, spkiOf } from './keys.js';
import { keyUsagesOf, PROFILES, type CertInstance, type Profile } from './specs.js';
import { keyIdentifier, type CertInfo } from './x509.js';

const DAY_MS = 86_400_000;

export interface CheckOptions {
  readonly now: Date;
  /** Report (or re-issue) a certificate whose remaining validity is shorter than this. */
  readonly renewWithinDays: number;
  /**
   * `exact`: the SANs are those the spec lists (certs re-issues a cert naming an address that is gone);
   * `cover`: every SAN the spec lists is there (verify-certs accepts extra names); `skip`: no inventory.
   */
  readonly sans: 'exact' | 'cover' | 'skip';
  /** Whether an expired (or soon expiring) certificate is a problem; default true. */
  readonly expiry?: boolean;
  /** The key algorithm the inventory asks for; undefined accepts any. */
  readonly algorithm?: KeyAlgorithm;
  /** An external CA's key is kept elsewhere, so there is no key to check. */
  readonly keyElsewhere?: boolean;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => [...a].sort().join('\n') === [...b].sort().join('\n');

const diff = (label: string, want: readonly string[], have: readonly string[], extraAllowed = false): string | undefined => {
  const missing = want.filter((w) => !have.includes(w));
  const extra = extraAllowed ? [] : have.filter((h) => !want.includes(h));
  if (!missing.length && !extra.length) return undefined;
  const parts = [...(missing.length ? [`missing ${missing.join(', ')}`] : []), ...(extra.length ? [`unexpected ${extra.join(', ')}`] : [])];
  return `${label} differ: ${parts.join('; ')}`;
};

/** Days left before `notAfter`, rounded down. */
export const daysLeft = (cert: CertInfo, now: Date): number => Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);

/** A CA whose SKI is not its key's (RFC 5280 method 1): leaves name their issuer by it, so a bundle of an old
 * and a new CA (a rotation) is ambiguous to verifiers. */
const keyIdProblem = (cert: CertInfo): string | undefined => {
  const want = keyIdentifier(spkiOf(cert.x509.publicKey));
  const have = cert.subjectKeyId;
  return have?.equals(want) ? undefined : `subject key identifier ${have ? hex(have) : '(none)'} does not match its key (${hex(want)})`;
};
const usageProblem = (profile: Profile, cert: CertInfo): string | undefined =>
  diff('key usages', keyUsagesOf(profile, cert.x509.publicKey.asymmetricKeyType), cert.keyUsage);

/** What can be wrong with a CA that still signs (so `certs` keeps it, saying `--force-ca` fixes it). */
export const caDefects = (cert: CertInfo): string[] => [usageProblem('ca', cert), keyIdProblem(cert)].filter((p): p is string => p !== undefined);

const hex = (b: Buffer): string => b.toString('hex').toUpperCase().match(/../g)!.join(':');

/** Every way `cert` (with `key`, signed by `ca`) departs from `spec`; empty when it is right. */
export const certProblems = (spec: CertInstance, cert: CertInfo, key: KeyObject | undefined, ca: CertInfo | undefined, opts: CheckOptions): string[] => {
  const profile = PROFILES[spec.spec.profile];
  const problems: (string | undefined)[] = [
    cert.subject.cn !== spec.subject.cn ? `CN is "${cert.subject.cn}", expected "${spec.subject.cn}"` : undefined,
    !sameList(cert.subject.o, spec.subject.o) ? `O is [${cert.subject.o.join(', ')}], expected [${spec.subject.o.join(', ')}]` : undefined,
    cert.isCa !== (spec.spec.profile === 'ca') ? (cert.isCa ? 'is a CA certificate, expected a leaf' : 'is not a CA certificate') : undefined,
    ...(spec.spec.profile === 'ca' ? caDefects(cert) : [usageProblem(spec.spec.profile, cert)]),
    diff('extended key usages', profile.extKeyUsage, cert.extKeyUsage),
    opts.sans !== 'skip' ? diff('DNS SANs', spec.altNames.dnsNames, cert.dnsNames, opts.sans === 'cover') : undefined,
    opts.sans !== 'skip' ? diff('IP SANs', spec.altNames.ipAddresses, cert.ipAddresses, opts.sans === 'cover') : undefined,
    opts.keyElsewhere
      ? undefined
      : !key
        ? 'private key is missing or unreadable'
        : !cert.x509.checkPrivateKey(key)
          ? 'private key does not match the certificate'
          : undefined,
    key && opts.algorithm && keyAlgorithm(key) !== opts.algorithm
      ? `key is ${keyAlgorithm(key) ?? 'of an unsupported type'}, the inventory asks for ${opts.algorithm}`
      : undefined,
    !ca
      ? `signing CA ${spec.ca} is missing or unreadable`
      : !cert.x509.verify(ca.x509.publicKey)
        ? `not signed by ${spec.ca} (${spec.ca === spec.spec.name ? 'self-signature' : 'signature'} does not verify)`
        : undefined,
    ca && cert.notAfter > ca.notAfter
      ? `valid until ${cert.notAfter.toISOString()}, after its CA ${spec.ca} expires (${ca.notAfter.toISOString()})`
      : undefined,
    cert.notBefore > opts.now ? `not valid before ${cert.notBefore.toISOString()}` : undefined,
    opts.expiry === false
      ? undefined
      : cert.notAfter <= opts.now
        ? `expired on ${cert.notAfter.toISOString()}`
        : daysLeft(cert, opts.now) < opts.renewWithinDays
          ? `expires within ${opts.renewWithinDays} days (${cert.notAfter.toISOString()})`
          : undefined,
  ];
  return problems.filter((p): p is string => p !== undefined);
};
