// `verify-certs --remote`: the certificates each host actually holds (they drift from the cluster folder
// when a renewal was not deployed yet, or a file was changed on the host), read over SSH with one command
// per host, hosts in parallel up to a bound, and checked for expiry and against the cluster folder.
import type { ClusterModel, Host } from '../inventory/model.js';
import { parseKubeconfig } from '../kubeconfig/kubeconfig.js';
import { daysLeft } from '../pki/checks.js';
import { expandPki } from '../pki/specs.js';
import type { VerifyRow } from '../pki/verify.js';
import { parseCertificate, type CertInfo } from '../pki/x509.js';
import { certificatesOn, type PlacedCertificate } from '../render/pki-files.js';
import type { ClusterFiles } from '../render/types.js';
import type { Executor } from '../ssh/types.js';
import { mapLimit } from '../util/semaphore.js';
import { quote } from '../util/shell.js';

const MARK = '### kubeinstall ';
const MISSING = '!missing';

/** For each path a marker line, then the certificate as PEM: a `.crt` as it is, a kubeconfig's client certificate
 * only (its key never leaves the host), or a line saying the file is missing. */
export const readCertificatesScript = (placed: readonly PlacedCertificate[]): string =>
  placed
    .map((p) => {
      const path = quote(p.to);
      const read = p.embedded ? `sed -n 's/^ *client-certificate-data: *//p' ${path} | base64 -d` : `cat ${path}`;
      return `echo ${quote(`${MARK}${p.to}`)}; if [ -e ${path} ]; then ${read}; echo; else echo ${MISSING}; fi`;
    })
    .join('\n');

/** The script's output: host path -> PEM text, or undefined where the file is missing. */
export const parseCertificatesOutput = (stdout: string): Map<string, string | undefined> => {
  const found = new Map<string, string | undefined>();
  for (const part of stdout.split(`\n${MARK}`).map((p, i) => (i === 0 ? p.replace(MARK, '') : p))) {
    const newline = part.indexOf('\n');
    const path = part.slice(0, newline < 0 ? undefined : newline);
    const body = newline < 0 ? '' : part.slice(newline + 1).trim();
    if (path) found.set(path, body === MISSING ? undefined : body);
  }
  return found;
};

const serial = (c: CertInfo): string => c.x509.serialNumber;

/** The PEM the cluster folder holds for a placement: the file, or the client certificate of the kubeconfig. */
const localPem = (p: PlacedCertificate, files: ClusterFiles): string | undefined => {
  const data = files.get(p.from)?.toString();
  if (data === undefined || !p.embedded) return data;
  try {
    return parseKubeconfig(data).certPem;
  } catch {
    return undefined;
  }
};

const parsed = (pem: string | undefined): CertInfo | undefined => {
  try {
    return pem ? parseCertificate(pem) : undefined;
  } catch {
    return undefined;
  }
};

/** One row per certificate a host holds: expired or due within `warnWithinDays`, missing, unreadable, or not the cluster folder's. */
export const deployedRows = (
  host: string,
  placed: readonly PlacedCertificate[],
  got: ReadonlyMap<string, string | undefined>,
  files: ClusterFiles,
  opts: { readonly now: Date; readonly warnWithinDays: number },
): VerifyRow[] =>
  placed.map((p) => {
    const there = got.get(p.to);
    const cert = parsed(there);
    const local = parsed(localPem(p, files));
    const problems = [
      !got.has(p.to) ? 'not read' : there === undefined ? 'missing on the host' : !cert ? 'not a readable certificate' : undefined,
      cert && local && serial(cert) !== serial(local)
        ? `differs from the cluster folder's ${p.from} (serial ${serial(cert)} here, ${serial(local)} there)`
        : undefined,
      cert && !local ? `the cluster folder has no certificate at ${p.from}` : undefined,
      cert && cert.notAfter <= opts.now ? `expired on ${cert.notAfter.toISOString()}` : undefined,
    ].filter((x): x is string => x !== undefined);
    const kind = p.id === p.ca ? 'ca' : p.embedded ? 'kubeconfig' : 'certificate';
    const status = problems.length ? 'invalid' : cert && daysLeft(cert, opts.now) < opts.warnWithinDays ? 'expiring' : 'ok';
    return {
      host,
      name: p.id,
      kind,
      file: p.to,
      ca: p.ca,
      ...(cert ? { expires: cert.notAfter.toISOString(), residualSeconds: Math.floor((cert.notAfter.getTime() - opts.now.getTime()) / 1000) } : {}),
      ...(kind === 'ca' ? { externallyManaged: false } : {}),
      status,
      problems,
    };
  });

/** Reads every host's certificates (at most `concurrency` hosts at once) and checks them; a host that cannot be
 * read gets one row saying why. */
export const verifyDeployed = async (
  model: ClusterModel,
  executor: Executor,
  files: ClusterFiles,
  opts: { readonly now: Date; readonly warnWithinDays: number; readonly concurrency: number },
): Promise<VerifyRow[]> => {
  const plan = expandPki(model);
  const perHost = await mapLimit(model.hosts, opts.concurrency, async (host: Host): Promise<VerifyRow[]> => {
    const placed = certificatesOn(plan, host);
    try {
      const { stdout } = await executor.exec(host, readCertificatesScript(placed), { step: 'read certificates', sudo: true });
      return deployedRows(host.name, placed, parseCertificatesOutput(stdout), files, opts);
    } catch (err) {
      return [{ host: host.name, name: '-', kind: 'certificate', file: '-', status: 'invalid', problems: [`not read: ${(err as Error).message}`] }];
    }
  });
  return perHost.flat();
};
