// What each role renderer returns before render/plan.ts hashes it into PlannedFiles.
import type { PlannedService } from './types.js';

export interface RenderedFile {
  readonly path: string;
  readonly mode: number;
  readonly data: Buffer;
  readonly restarts: readonly string[];
  readonly reloads?: readonly string[];
}

/** What a role renderer needs beside the model and the host. */
export interface RenderInputs {
  /** containerd's CNI bin_dir: where the plugins were uploaded, or the OS package's folder. */
  readonly cniBinDir: string;
}

export interface RoleRender {
  readonly files: readonly RenderedFile[];
  readonly services: readonly PlannedService[];
}

export const textFile = (path: string, text: string, restarts: readonly string[], mode = 0o644): RenderedFile => ({
  path,
  mode,
  data: Buffer.from(text),
  restarts,
});
