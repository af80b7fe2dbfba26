import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** How a file's documents are laid out: a whole text file is one document; JSONL has one per line. */
export type DataFormat = 'text' | 'jsonl';

export interface DataFile {
  readonly path: string;
  /** The name recorded in loader states (the file name, or the path given for a single file). */
  readonly name: string;
  readonly format: DataFormat;
  readonly gzip: boolean;
}

const SUFFIXES: readonly [string, DataFormat, boolean][] = [
  ['.jsonl.gz', 'jsonl', true],
  ['.json.gz', 'jsonl', true],
  ['.txt.gz', 'text', true],
  ['.jsonl', 'jsonl', false],
  ['.json', 'jsonl', false],
  ['.txt', 'text', false],
];

export const SUPPORTED_DATA_SUFFIXES = SUFFIXES.map(([suffix]) => suffix);

/** The format of a data file from its name, or undefined if the name has no supported suffix. */
export function dataFormatOf(path: string): { format: DataFormat; gzip: boolean } | undefined {
  const lower = path.toLowerCase();
  const match = SUFFIXES.find(([suffix]) => lower.endsWith(suffix));
  return match && { format: match[1], gzip: match[2] };
}

/**
 * The files of a dataset: `path` itself, or the supported files directly inside the folder `path`,
 * sorted by name (code-unit order, the same on every machine). Hidden files are skipped.
 * `.json` and `.json.gz` are read as JSON Lines, as C4's `c4-train.00000-of-01024.json.gz` shards are.
 */
export async function listDataFiles(path: string): Promise<DataFile[]> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new Error(`dataset ${JSON.stringify(path)} does not exist`);
  const expected = `expected ${SUPPORTED_DATA_SUFFIXES.join(', ')}`;
  if (info.isFile()) {
    const kind = dataFormatOf(path);
    if (kind === undefined)
      throw new Error(`dataset file ${JSON.stringify(path)} has an unsupported type; ${expected}`);
    return [{ path, name: basename(path), ...kind }];
  }
  const names = (await readdir(path))
    .filter((name) => !name.startsWith('.'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: DataFile[] = [];
  for (const name of names) {
    const kind = dataFormatOf(name);
    const full = join(path, name);
    if (kind !== undefined && (await stat(full)).isFile()) files.push({ path: full, name, ...kind });
  }
  if (files.length === 0) {
    const seen =
      names.length === 0 ? 'it is empty' : `it holds ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}`;
    throw new Error(`dataset folder ${JSON.stringify(path)} has no data files (${expected}); ${seen}`);
  }
  return files;
}
