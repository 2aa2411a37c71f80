// Structural validation against the schema table: types, required fields, unknown keys,
// formats, ranges. Returns every problem found and the data with defaults applied.
import type { Field, Format, ObjectField } from './schema.js';
import type { PathSegment } from './parse.js';
import { didYouMean } from '../util/suggest.js';
import { isHostname, isIpAddress, parseCidr } from '../util/ip.js';
import { parseEndpoint } from './endpoint.js';

export interface FieldProblem {
  readonly severity: 'error' | 'warning';
  readonly path: readonly PathSegment[];
  readonly message: string;
}

export const pathText = (path: readonly PathSegment[]): string =>
  path.reduce<string>((acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');

const describe = (value: unknown): string => {
  if (value === null || value === undefined) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value} ${String(value)}`;
};

const WILDCARD_DNS = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

// node:net accepts an IPv6 zone id (fe80::1%eth0), but a certificate's IP SAN cannot carry one: it would be lost.
const zoneIdError = (v: string): string | undefined =>
  isIpAddress(v) && v.includes('%')
    ? `"${v}" has an IPv6 zone id (${v.slice(v.indexOf('%'))}), which a certificate cannot name: give the address without it`
    : undefined;

// Kubernetes' qualified names (IsQualifiedName, IsValidLabelValue): [prefix/]name, a name of at most 63
// alphanumerics, '-', '_' and '.', starting and ending alphanumeric; the prefix a DNS subdomain.
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelKeyError = (v: string): string | undefined => {
  const slash = v.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : v.slice(0, slash);
  const name = v.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !isHostname(prefix)))
    return `"${v}" is not a valid label key: its prefix "${prefix}" is not a DNS subdomain`;
  if (!LABEL_NAME.test(name))
    return `"${v}" is not a valid label key: "${name}" must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  return undefined;
};

const IMAGE_REPOSITORY = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

const formatChecks: Record<Format, (v: string) => string | undefined> = {
  ip: (v) => zoneIdError(v) ?? (isIpAddress(v) ? undefined : `"${v}" is not a valid IPv4 or IPv6 address`),
  host: (v) => zoneIdError(v) ?? (isIpAddress(v) || isHostname(v) ? undefined : `"${v}" is neither a valid IP address nor a valid host name`),
  hostname: (v) => (isHostname(v) ? undefined : `"${v}" is not a valid name (RFC 1123: lower-case letters, digits, '-' and '.', at most 63 per label)`),
  cidr: (v) => {
    const c = parseCidr(v);
    return typeof c === 'string' ? c : undefined;
  },
  endpoint: (v) => {
    const e = parseEndpoint(v);
    return typeof e === 'string' ? e : undefined;
  },
  version: (v) => (/^v?\d+\.\d+\.\d+$/.test(v) ? undefined : `"${v}" is not a version of the form x.y.z (e.g. 1.34.2)`),
  envName: (v) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) ? undefined : `"${v}" is not an environment variable name`),
  path: (v) => (v.trim() ? undefined : 'an empty path'),
  labelKey: labelKeyError,
  labelValue: (v) =>
    v === '' || LABEL_NAME.test(v)
      ? undefined
      : `"${v}" is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (or empty)`,
  // The distribution reference grammar's domain[:port] followed by lower-case path components, no tag or digest.
  'image-repository': (v) =>
    IMAGE_REPOSITORY.test(v)
      ? undefined
      : `"${v}" is not an image repository: a registry host[:port] and optional lower-case path, no tag (e.g. registry.k8s.io, mirror.example.com:5000/k8s)`,
  san: (v) => zoneIdError(v) ?? (isIpAddress(v) || WILDCARD_DNS.test(v) ? undefined : `"${v}" is neither an IP address nor a DNS name`),
};

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Walks `value` against `field`; returns the value with defaults applied. */
const check = (field: Field, value: unknown, path: PathSegment[], out: FieldProblem[]): unknown => {
  const problem = (message: string, at: PathSegment[] = path): void => {
    out.push({ severity: 'error', path: at, message });
  };
  switch (field.kind) {
    case 'object': {
      if (!isMapping(value)) {
        problem(`expected a mapping (key: value), got ${describe(value)}`);
        return undefined;
      }
      const result: Record<string, unknown> = {};
      const known = Object.keys(field.fields);
      for (const key of Object.keys(value)) {
        if (!known.includes(key)) problem(`unknown key "${key}"${didYouMean(key, known)}`, [...path, key]);
      }
      for (const [key, sub] of Object.entries(field.fields)) {
        const v = value[key];
        if (v === undefined || v === null) {
          if (sub.required) problem(`"${key}" is required: ${sub.doc}`, [...path, key]);
          // A section left out entirely still gets its defaults, unless it has required keys (an optional bastion).
          else if (sub.kind === 'object' && !Object.values(sub.fields).some((f) => f.required)) result[key] = check(sub, {}, [...path, key], out);
          else if ('default' in sub && sub.default !== undefined) result[key] = sub.default;
          continue;
        }
        const checked = check(sub, v, [...path, key], out);
        if (checked !== undefined) result[key] = checked;
      }
      return result;
    }
    case 'list': {
      if (!Array.isArray(value)) {
        problem(`expected a list, got ${describe(value)}`);
        return undefined;
      }
      if (field.minItems && value.length < field.minItems) problem(`needs at least ${field.minItems} item(s), got ${value.length}`);
      const items = value.map((item, i) => check(field.of, item, [...path, i], out));
      if (field.unique) {
        const seen = new Set<unknown>();
        items.forEach((item, i) => {
          if (item === undefined) return;
          if (seen.has(item)) problem(`"${String(item)}" is listed twice`, [...path, i]);
          seen.add(item);
        });
      }
      if (field.uniqueBy) {
        const seen = new Map<string, number>();
        items.forEach((item, i) => {
          if (!isMapping(item)) return;
          const id = JSON.stringify(field.uniqueBy!.map((k) => item[k]));
          const first = seen.get(id);
          if (first !== undefined) problem(`same ${field.uniqueBy!.join(' and ')} as item ${first}`, [...path, i]);
          else seen.set(id, i);
        });
      }
      return items;
    }
    case 'map': {
      if (!isMapping(value)) {
        problem(`expected a mapping (key: value), got ${describe(value)}`);
        return undefined;
      }
      const result: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const keyError = formatChecks[field.key](key);
        if (keyError) problem(keyError, [...path, key]);
        // A bare `key:` is an empty value, as kubectl label key= sets it.
        const checked = check(field.of, v ?? '', [...path, key], out);
        if (!keyError && checked !== undefined) result[key] = checked;
      }
      return result;
    }
    case 'string': {
      if (typeof value !== 'string') {
        const hint = typeof value === 'number' ? ` (quote it: "${String(value)}")` : '';
        problem(`expected a string, got ${describe(value)}${hint}`);
        return undefined;
      }
      const formatError = field.format ? formatChecks[field.format](value) : undefined;
      if (formatError) {
        problem(formatError);
        return undefined;
      }
      return value;
    }
    case 'int': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        problem(`expected a whole number, got ${describe(value)}`);
        return undefined;
      }
      if (value < field.min || value > field.max) {
        problem(`${value} is out of range (${field.min} to ${field.max})`);
        return undefined;
      }
      return value;
    }
    case 'bool': {
      if (typeof value !== 'boolean') {
        problem(`expected true or false, got ${describe(value)}`);
        return undefined;
      }
      return value;
    }
    case 'enum': {
      if (typeof value !== 'string' || !field.values.includes(value)) {
        const suggestion = typeof value === 'string' ? didYouMean(value, field.values) : '';
        problem(`${describe(value)} is not one of ${field.values.join(', ')}${suggestion}`);
        return undefined;
      }
      return value;
    }
  }
};

export const validateAgainstSchema = (schema: ObjectField, data: unknown): { value: Record<string, unknown> | undefined; problems: FieldProblem[] } => {
  const problems: FieldProblem[] = [];
  if (!isMapping(data)) {
    problems.push({
      severity: 'error',
      path: [],
      message:
        data === undefined || data === null
          ? 'the inventory is empty; run `kubeinstall init inventory` for a starter file'
          : `the inventory must be a mapping with keys cluster, ssh and hosts, got ${describe(data)}`,
    });
    return { value: undefined, problems };
  }
  const value = check(schema, data, [], problems) as Record<string, unknown> | undefined;
  return { value, problems };
};
