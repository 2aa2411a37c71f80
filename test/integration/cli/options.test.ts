// Every numeric or duration option of every command, given a bad value, exits 2 with commander's own
// message naming the option, before anything else runs (no inventory needed).
import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli/main.js';
import { kubeinstall } from '../kubeinstall.js';

/** Options whose value is a number, a count or a duration, by the name of their value. */
const NUMERIC_VALUE = /<(n|count|days|seconds|duration|port|\w*timeout)>/;

const walk = (cmd: Command, path: string[] = []): [string, Option][] =>
  cmd.commands.flatMap((sub) => [...sub.options.map((o): [string, Option] => [[...path, sub.name()].join(' '), o]), ...walk(sub, [...path, sub.name()])]);

/** [command path, option flags as commander prints them], read from the program itself: a new option is covered as it is added. */
const NUMERIC_OPTIONS = walk(buildProgram())
  .filter(([, o]) => NUMERIC_VALUE.test(o.flags))
  .map(([path, o]): [string, string] => [path, o.flags]);

const BAD_VALUES = ['abc', '1.5', '-1', '2x', ''];

describe('numeric and duration options', () => {
  it('are found in the program: at least those of init, deploy and verify-certs', () => {
    expect(NUMERIC_OPTIONS).toEqual(
      expect.arrayContaining([
        ['init inventory', '--masters <n>'],
        ['init inventory', '--nodes <n>'],
        ['init inventory', '--etcd <n>'],
        ['deploy', '--concurrency <n>'],
        ['deploy', '--health-timeout <duration>'],
        ['verify-certs', '--warn-within <days>'],
      ]),
    );
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
