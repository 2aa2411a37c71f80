#!/usr/bin/env node
// Checks assets/flags/<minor>/<component>.txt against the Go sources that register the flags, read from bare git
// mirrors of the Kubernetes staging repositories at the minor's tag (staging tag v0.X.0 = Kubernetes 1.X.0).
// Only part of each component's flags lives in a staging repository; the rest is registered in kubernetes/kubernetes
// (cmd/<component>/app/options, pkg/kubeapiserver/options, ...), which is not read here, so a table flag that no file
// below registers at any supported minor is reported as "not checked", never as wrong.
// Usage: node scripts/check-flag-tables.mjs [mirror-root]   (mirror root default /work/.mirror; needs the mirrors,
// so no test runs it: tests pin its findings on the committed tables instead).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MINORS = ['1.32', '1.33', '1.34', '1.35'];

// The files each component composes its flag set from, by staging repository. A file listed here may register
// flags the component does not expose (e.g. the delegating authn/authz flags of authentication.go are not
// kube-apiserver's): those only show up as "in source, not in table" and are judged by hand.
const CB = 'kubernetes/component-base';
const APISERVER = 'kubernetes/apiserver';
const COMMON = {
  [CB]: [
    'featuregate/feature_gate.go',
    'featuregate/registry.go',
    'compatibility/registry.go',
    'logs/api/v1/options.go',
    'metrics/options.go',
    'version/verflag/verflag.go',
    'cli/globalflag/globalflags.go',
  ],
};
const LEADER_ELECTION = 'config/options/leaderelectionconfig.go';
const SERVING_DELEGATING = ['pkg/server/options/serving.go', 'pkg/server/options/authentication.go', 'pkg/server/options/authorization.go'];
const SOURCES = {
  'kube-apiserver': {
    ...COMMON,
    [APISERVER]: [
      'admission',
      'api_enablement',
      'audit',
      'authentication',
      'egress_selector',
      'etcd',
      'feature',
      'server_run_options',
      'serving',
      'tracing',
    ].map((f) => `pkg/server/options/${f}.go`),
  },
  'kube-controller-manager': {
    [CB]: [...COMMON[CB], LEADER_ELECTION],
    [APISERVER]: SERVING_DELEGATING,
    'kubernetes/controller-manager': ['options/generic.go', 'options/debugging.go', 'pkg/leadermigration/options/options.go'],
    'kubernetes/cloud-provider': ['options/kubecloudshared.go', 'options/cloudprovider.go', 'options/servicecontroller.go'],
  },
  'kube-scheduler': { [CB]: [...COMMON[CB], LEADER_ELECTION], [APISERVER]: SERVING_DELEGATING },
  // The kubelet and kube-proxy register --help and their global flags in kubernetes/kubernetes; the kubelet also marks its
  // config-file flags (--logging-format, ...) deprecated there, so a "deprecation mark differs" for those is expected.
  kubelet: { [CB]: ['logs/api/v1/options.go', 'version/verflag/verflag.go'] },
  'kube-proxy': { [CB]: ['logs/api/v1/options.go', 'version/verflag/verflag.go'] },
};

const PFLAG_TYPES =
  'Bool|String|Int|Int8|Int16|Int32|Int64|Uint|Uint8|Uint16|Uint32|Uint64|Float32|Float64|Duration|IP|IPNet|IPMask|Count|StringSlice|StringArray|StringToString|StringToInt|StringToInt64|IntSlice|Int32Slice|Int64Slice|UintSlice|Float32Slice|Float64Slice|DurationSlice|BoolSlice|IPSlice|BytesHex|BytesBase64';
// pflag registrations and MarkDeprecated on any receiver, plus verflag's own Version(name, ...) for --version.
const CALL = new RegExp(`(?:\\b\\w+\\.(?:(${PFLAG_TYPES})(Var)?P?|(Var)(?:P|PF)?|(MarkDeprecated))|\\bVersion)\\(`, 'g');

/** The top-level comma-separated arguments of the call whose "(" ends at `start`. */
const callArgs = (src, start) => {
  const args = [];
  let depth = 0,
    current = '',
    i = start;
  for (; i < src.length; i++) {
    const c = src[i];
    if (c === '"' || c === '`') {
      const end = c === '`' ? src.indexOf('`', i + 1) : src.slice(i + 1).search(/(?<!\\)"/) + i + 1;
      current += src.slice(i, end + 1);
      i = end;
    } else if ('([{'.includes(c)) {
      depth++;
      current += c;
    } else if (')]}'.includes(c)) {
      if (depth === 0) break;
      depth--;
      current += c;
    } else if (c === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
    } else current += c;
  }
  args.push(current.trim());
  return args;
};

/** Flag name (or, for fmt.Sprintf names, a RegExp) an argument expression evaluates to; null when not a literal. */
const nameOf = (expr, constants) => {
  const literal = /^"([^"]*)"$/.exec(expr);
  if (literal) return literal[1];
  if (constants.has(expr)) return constants.get(expr);
  const sprintf = /^fmt\.Sprintf\("([^"]*)"/.exec(expr);
  if (sprintf) return new RegExp(`^${sprintf[1].replace(/%s/g, '[a-z]+')}$`);
  return null;
};

/** Registered and deprecated flag names in one Go source file. */
export const flagsInGo = (src) => {
  const constants = new Map([...src.matchAll(/\b(\w+)\s*(?:string\s*)?=\s*"([a-z][a-z0-9-]*)"/g)].map((m) => [m[1], m[2]]));
  const registered = [],
    deprecated = [],
    unresolved = [];
  for (const m of src.matchAll(CALL)) {
    const args = callArgs(src, m.index + m[0].length);
    if (args.length < 2) continue; // a getter such as .String(), not a registration
    const isVar = m[2] !== undefined || m[3] !== undefined;
    const expr = args[m[4] ? 0 : isVar ? 1 : 0] ?? '';
    const name = nameOf(expr, constants);
    if (name === null) unresolved.push(expr);
    else (m[4] ? deprecated : registered).push(name);
  }
  return { registered, deprecated, unresolved };
};

const gitShow = (dir, tag, path) => {
  try {
    return execFileSync('git', ['-C', dir, 'show', `${tag}:${path}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null; // the file does not exist at that tag
  }
};

const matches = (name, flag) => (typeof name === 'string' ? name === flag : name.test(flag));

const parseTable = (text) =>
  new Map(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const [n, d] = l.split(' ');
        return [n, d === 'deprecated'];
      }),
  );

const main = (mirrorRoot) => {
  for (const [component, repos] of Object.entries(SOURCES)) {
    const byMinor = new Map(
      MINORS.map((minor) => {
        const tag = `v0.${minor.split('.')[1]}.0`;
        const found = { registered: [], deprecated: [], unresolved: [], files: [] };
        for (const [repo, paths] of Object.entries(repos)) {
          const dir = `${mirrorRoot}/${repo.replace('/', '+')}/repo`;
          for (const path of paths) {
            const src = gitShow(dir, tag, path);
            if (src === null) continue;
            const f = flagsInGo(src);
            found.registered.push(...f.registered.map((n) => ({ n, at: `${repo}@${tag}:${path}` })));
            found.deprecated.push(...f.deprecated);
            found.unresolved.push(...f.unresolved.map((e) => `${path}: ${e}`));
            found.files.push(`${repo}@${tag}:${path}`);
          }
        }
        return [minor, found];
      }),
    );
    const everRegistered = [...byMinor.values()].flatMap((f) => f.registered.map((r) => r.n));
    for (const minor of MINORS) {
      const found = byMinor.get(minor);
      const table = parseTable(readFileSync(`assets/flags/${minor}/${component}.txt`, 'utf8'));
      const reachable = [...table.keys()].filter((flag) => everRegistered.some((n) => matches(n, flag)));
      const absent = reachable.filter((flag) => !found.registered.some((r) => matches(r.n, flag)));
      const deprecatedAtTag = (flag) => found.deprecated.some((n) => matches(n, flag));
      const markMismatch = reachable.filter((flag) => !absent.includes(flag) && table.get(flag) !== deprecatedAtTag(flag));
      const missing = [
        ...new Set(
          found.registered
            .filter((r) => typeof r.n === 'string' && !table.has(r.n))
            .map((r) => `${r.n}${deprecatedAtTag(r.n) ? ' deprecated' : ''} (${r.at.split(':')[1]})`),
        ),
      ];
      console.log(`\n== ${component} ${minor}: ${table.size} in table, ${reachable.length} checked, ${table.size - reachable.length} not checked`);
      console.log(`  absent at tag: ${absent.join(' ') || '-'}`);
      console.log(`  deprecation mark differs: ${markMismatch.map((f) => `${f}(table ${table.get(f)})`).join(' ') || '-'}`);
      console.log(`  in source, not in table: ${missing.join(' ') || '-'}`);
      if (found.unresolved.length) console.log(`  unresolved names: ${found.unresolved.join(' | ')}`);
      console.log(`  not checked: ${[...table.keys()].filter((f) => !reachable.includes(f)).join(' ')}`);
    }
  }
};

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv[2] ?? '/work/.mirror');
