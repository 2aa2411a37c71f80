// Templates and data tables shipped in assets/, read once and cached. They are part of the program
// (like code), so reading them is not an I/O edge the renderer has to be kept apart from.
import { readFileSync } from 'node:fs';

const ASSETS = new URL('../../assets/', import.meta.url);
const cache = new Map<string, string>();

/** The text of `assets/<relative>`; throws naming the path when the asset is missing. */
export const readAsset = (relative: string): string => {
  let text = cache.get(relative);
  if (text === undefined) {
    try {
      text = readFileSync(new URL(relative, ASSETS), 'utf8');
    } catch (err) {
      throw new Error(`kubeinstall asset assets/${relative} is missing (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    cache.set(relative, text);
  }
  return text;
};
