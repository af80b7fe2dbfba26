/** Temporary folders for tests that read and write files; shared by the core, galore and CLI tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

/** A folder made by a hook: read `path` inside tests and later hooks, not at module load. */
export interface TempDir {
  readonly path: string;
}

/**
 * A fresh folder under the OS temp folder, made before the file's tests (before each test with
 * `each: true`) and removed after them. Hooks run in the order they are declared, so a `beforeAll`
 * declared after this call may already write into the folder.
 */
export function useTempDir(prefix: string, options: { each?: boolean } = {}): TempDir {
  const dir = { path: '' };
  const [before, after] = options.each ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    dir.path = await makeTempDir(prefix);
  });
  after(async () => {
    await removeDir(dir.path);
  });
  return dir;
}

/** Runs `fn` with a fresh temporary folder and removes the folder afterwards, also when `fn` throws. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix = 'galore-test-'): Promise<T> {
  const dir = await makeTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    await removeDir(dir);
  }
}

const makeTempDir = (prefix: string) => mkdtemp(join(tmpdir(), prefix));
const removeDir = (dir: string) => rm(dir, { recursive: true, force: true });
