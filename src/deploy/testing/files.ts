// A planned file with inline content, as render would plan it, for tests that build a HostPlan by hand.
import type { PlannedFile } from '../../render/types.js';

export const inlineFile = (path: string, text: string): PlannedFile => ({
  path,
  mode: 0o644,
  owner: 'root:root',
  size: text.length,
  sha256: 'x',
  restarts: [],
  content: { kind: 'inline', data: Buffer.from(text) },
});
