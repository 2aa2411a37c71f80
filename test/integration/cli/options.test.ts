// Every numeric or duration option of every command, given a bad value, exits 2 with commander's own
// message naming the option, before anything else runs (no inventory needed).
import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli/main.js';
import { kubeinstall } from '../kubeinstall.js';

/** [command path, option flags as commander prints them]. */
const NUMERIC_OPTIONS: readonly (readonly [string, string])[] = [
  ['init inventory', '--masters <n>'],
  ['init inventory', '--nodes <n>'],
  ['init inventory', '--etcd <n>'],
  ['deploy', '--concurrency <n>'],
  ['deploy', '--health-timeout <duration>'],
  ['verify-certs', '--warn-within <days>'],
];

const BAD_VALUES = ['abc', '1.5', '-1', '2x', ''];

const walk = (cmd: Command, path: string[] = []): [string, Option][] =>
  cmd.commands.flatMap((sub) => [
    ...sub.options.map((o): [string, Option] => [[...path, sub.name()].join(' '), o]),
    ...walk(sub, [...path, sub.name()]),
  ]);

describe('numeric and duration options', () => {
  it('the table lists every option whose value is a number, a count or a duration', () => {
    const numeric = walk(buildProgram())
      .filter(([, o]) => /<(n|count|days|seconds|duration|port|\w*timeout)>/.test(o.flags))
      .map(([path, o]) => `${path} ${o.flags}`);
    expect(numeric.sort()).toEqual(NUMERIC_OPTIONS.map(([path, flags]) => `${path} ${flags}`).sort());
  });

  it.each(NUMERIC_OPTIONS)('%s %s: a bad value exits 2 naming the option', (path, flags) => {
    const flag = flags.split(' ')[0]!;
    for (const bad of BAD_VALUES) {
      const r = kubeinstall([...path.split(' '), `${flag}=${bad}`]);
      expect(r.code, `${flag}=${bad}: ${r.err}`).toBe(2);
      expect(r.err).toContain(`error: option '${flags}' argument '${bad}' is invalid.`);
      expect(r.out).toBe('');
    }
  });
});
