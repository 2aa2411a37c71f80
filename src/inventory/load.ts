// The edge: read an inventory file and return the resolved model, or every problem in it.
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InventoryError, type Problem } from '../util/errors.js';
import { parseYaml, YamlSyntaxError } from './parse.js';
import { inventorySchema } from './schema.js';
import { pathText, validateAgainstSchema, type FieldProblem } from './validate.js';
import { resolveInventory, type ResolveOptions } from './resolve.js';
import type { InventoryInput } from './input.js';
import type { ClusterModel } from './model.js';

/** Inventories are small; anything larger is a mistake, and refusing it early avoids a slow parse. */
export const MAX_INVENTORY_BYTES = 1024 * 1024;
/** Beyond this many problems the rest are summarised, so a garbage file cannot flood the terminal. */
const MAX_PROBLEMS = 50;

export interface LoadedInventory {
  readonly model: ClusterModel;
  readonly warnings: readonly Problem[];
}

const fail = (file: string, message: string, line?: number, column?: number): never => {
  throw new InventoryError([{ severity: 'error', file, path: '', line, column, message }]);
};

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Parses, validates and resolves inventory text. Throws InventoryError listing every problem. */
export const loadInventoryText = (text: string, file: string, opts: ResolveOptions = {}): LoadedInventory => {
  const absolute = resolve(file);
  if (text.length > MAX_INVENTORY_BYTES) fail(file, `the file is ${(text.length / 1048576).toFixed(1)} MiB; an inventory is at most 1 MiB`);
  if (text.includes('\u0000')) fail(file, 'the file contains NUL bytes: it is not a YAML text file');
  let parsed: ReturnType<typeof parseYaml>;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    if (err instanceof YamlSyntaxError) return fail(file, `YAML syntax error: ${err.message}`, err.line, err.column);
    throw err;
  }
  const toProblem = (p: FieldProblem): Problem => ({
    severity: p.severity,
    file,
    path: pathText(p.path),
    line: parsed.lineOf(p.path),
    message: p.message,
  });
  const structural = validateAgainstSchema(inventorySchema, parsed.data);
  let problems = structural.problems;
  let model: ClusterModel | undefined;
  if (structural.value && !problems.some((p) => p.severity === 'error')) {
    // Free of errors, the value has the shape the schema describes, defaults applied.
    const resolved = resolveInventory(structural.value as unknown as InventoryInput, absolute, { pathExists: existsSync, readText, ...opts });
    problems = [...problems, ...resolved.problems];
    model = resolved.model;
  }
  const all = problems.map(toProblem);
  if (!model || all.some((p) => p.severity === 'error')) {
    const shown = all.slice(0, MAX_PROBLEMS);
    if (all.length > MAX_PROBLEMS) shown.push({ severity: 'error', file, path: '', message: `…and ${all.length - MAX_PROBLEMS} more problems` });
    throw new InventoryError(shown);
  }
  return { model, warnings: all };
};

export const loadInventory = async (file: string, opts: ResolveOptions = {}): Promise<LoadedInventory> => {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return fail(file, 'cannot read the inventory: no such file (create one with `kubeinstall init inventory`)');
  }
  if (size > MAX_INVENTORY_BYTES) fail(file, `the file is ${(size / 1048576).toFixed(1)} MiB; an inventory is at most 1 MiB`);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => fail(file, `cannot read the inventory: ${err.code ?? err.message}`));
  return loadInventoryText(text, file, opts);
};
