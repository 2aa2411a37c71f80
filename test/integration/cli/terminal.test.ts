// What an operator sees at a real terminal: `deploy` on 1 master + 2 nodes run in tmux panes of
// 80x24 and 160x45. The scrollback must hold the final tree (one line per phase, collapsed) and the
// summary, not one copy of the tree per spinner frame; colours follow NO_COLOR and --no-color.
// Test-bed hosts 198.18.24.50-52, each with its own network.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PHASES } from '../../../src/deploy/phases/index.js';
import { run } from '../../../src/lab/proc.js';
import { startSetting, TESTBED_DEPLOY_FLAGS, type Setting } from '../deploy/fixtures.js';
import { KUBEINSTALL_BIN } from '../kubeinstall.js';

const HOSTS = [
  { name: 'm1', address: '198.18.24.50', roles: ['etcd', 'master'] as const },
  { name: 'n1', address: '198.18.24.51', roles: ['node'] as const },
  { name: 'n2', address: '198.18.24.52', roles: ['node'] as const },
].map((h) => ({ ...h, roles: [...h.roles] }));
/** Its own tmux server, removed by this exact name. */
const TMUX_SOCKET = `kubeinstall-terminal-test-${process.pid}`;
const EXIT_MARK = 'KUBEINSTALL-EXIT:';
const SPINNER_FRAMES = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences of colours are what this test looks for
const COLOUR = /\x1b\[(?:3[0-9]|9[0-7])(?:;[0-9]+)*m/;

const tmux = (...args: string[]): Promise<{ stdout: string }> => run('tmux', ['-L', TMUX_SOCKET, '-f', '/dev/null', ...args]);

interface Screen {
  /** The whole scrollback and screen, as text. */
  readonly text: string;
  /** The same with the escape sequences of colours and styles kept. */
  readonly styled: string;
  readonly code: number;
}

/** Runs the command in a fresh tmux pane of that size, waits for it to end, and reads the pane. */
const inTerminal = async (cols: number, rows: number, command: string, env: Record<string, string> = {}): Promise<Screen> => {
  const exports = Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  // CI=true makes the CLI print plain lines; a person's terminal has no CI variable.
  const shell = `env -u CI ${exports} ${command}; echo ${EXIT_MARK}$?; sleep 600`;
  await tmux('new-session', '-d', '-s', 'term', '-x', String(cols), '-y', String(rows), 'sh', '-c', shell);
  try {
    await tmux('set-option', '-t', 'term', 'history-limit', '50000');
    const deadline = Date.now() + 120_000;
    for (;;) {
      const text = (await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'term')).stdout;
      const exit = new RegExp(`^${EXIT_MARK}(\\d+)$`, 'm').exec(text);
      if (exit) {
        const styled = (await tmux('capture-pane', '-p', '-e', '-J', '-S', '-', '-t', 'term')).stdout;
        return { text: text.slice(0, exit.index), styled, code: Number(exit[1]) };
      }
      if (Date.now() > deadline) throw new Error(`the command did not finish in the ${cols}x${rows} terminal:\n${text}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await tmux('kill-server').catch(() => undefined);
  }
};

/** The lines above the summary must be the final tree: one collapsed line per phase, nothing else. */
const expectOnlyFinalTree = (screen: Screen): void => {
  expect(screen.code).toBe(0);
  expect(screen.text).not.toMatch(SPINNER_FRAMES);
  const lines = screen.text.split('\n');
  const summaryAt = lines.findIndex((l) => l.startsWith('Deploy complete'));
  expect(summaryAt, screen.text).toBeGreaterThan(0);
  // a title longer than the terminal goes on in indented lines of its own
  const tree = lines.slice(0, summaryAt).filter((l) => l.trim() !== '' && !/^\s/.test(l));
  expect(
    tree.map((l) => l.replace(/[:[].*$/, '').trim()),
    screen.text,
  ).toEqual(PHASES.map((p) => `✔ ${p.title}`));
  expect(lines.filter((l) => l.startsWith('Deploy complete'))).toHaveLength(1);
};

let s: Setting;
const deployCommand = (...extra: string[]): string =>
  [process.execPath, KUBEINSTALL_BIN, 'deploy', '-i', s.inventory, ...TESTBED_DEPLOY_FLAGS, ...extra].join(' ');

beforeAll(async () => {
  s = await startSetting({ name: 'terminal', subnet: '198.18.24.0/24' }, HOSTS);
});
afterAll(async () => {
  await s?.stop();
});

describe('deploy at a terminal', () => {
  it('80x24, first deploy: the scrollback holds the final tree and the summary only, in colour', async () => {
    const screen = await inTerminal(80, 24, deployCommand());
    expectOnlyFinalTree(screen);
    expect(screen.text).toMatch(/Deploy complete: \d+ file\(s\) uploaded/);
    expect(screen.styled).toMatch(COLOUR);
  });

  it('160x45, with NO_COLOR: the same, without colours', async () => {
    const screen = await inTerminal(160, 45, deployCommand(), { NO_COLOR: '1' });
    expectOnlyFinalTree(screen);
    expect(screen.text).toContain('Deploy complete: nothing changed');
    expect(screen.styled).not.toMatch(COLOUR);
  });

  it('160x45, with --no-color: without colours', async () => {
    const screen = await inTerminal(160, 45, deployCommand('--no-color'));
    expectOnlyFinalTree(screen);
    expect(screen.styled).not.toMatch(COLOUR);
  });
});
