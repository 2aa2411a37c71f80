// Local files the executor reads that may not exist (known_hosts, ~/.ssh/config).
import { readFile } from 'node:fs/promises';

export const readIfExists = async (file: string): Promise<string> => {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
};
