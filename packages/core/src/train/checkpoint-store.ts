/**
 * The checkpoints of one run, as folders `step-00000010`, `step-00000020`, ... under one root,
 * plus a `latest` file naming the newest. A checkpoint is written into a hidden temporary folder
 * and renamed into place only when complete, and `latest` is replaced atomically after that, so a
 * crash at any moment leaves the previous checkpoint whole and `latest` pointing at a whole one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from '../io/atomic-write.js';
import { diskErrorCode } from '../io/disk-errors.js';
import { TRAINER_STATE_FILE } from './checkpoint.js';
import { CheckpointError } from './errors.js';

export const LATEST_FILE = 'latest';
const STEP_DIR = /^step-(\d+)$/;
const TEMP_DIR = /^\.step-\d+\.(tmp|old)-/;
/** The temporary file of an atomic write (`latest.tmp-<pid>-<hex>`) that a kill interrupted. */
const TEMP_FILE = /\.tmp-\d+-[0-9a-f]+$/;

export function checkpointDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

export interface CheckpointStoreOptions {
  /**
   * Checkpoints older than the newest `keep` are deleted (default 2; 0 keeps all): before a save
   * those beyond `keep - 1` (never the newest, so one intact checkpoint always remains), so the
   * disk needs room for `keep` checkpoints, not `keep + 1`; after it the rest.
   */
  keep?: number;
}

export class CheckpointStore {
  readonly keep: number;

  constructor(
    readonly root: string,
    options: CheckpointStoreOptions = {},
  ) {
    this.keep = options.keep ?? 2;
    if (!Number.isInteger(this.keep) || this.keep < 0) {
      throw new RangeError(`CheckpointStore: keep must be an integer >= 0, got ${String(options.keep)}`);
    }
  }

  /**
   * Writes the checkpoint of `step` through `write(tempDir)`, publishes it, prunes old ones, and
   * returns its folder. If `write` throws, nothing visible changes.
   */
  async save(step: number, write: (dir: string) => Promise<void>): Promise<string> {
    if (!Number.isSafeInteger(step) || step < 0)
      throw new RangeError(`CheckpointStore.save: step must be an integer >= 0, got ${step}`);
    const name = checkpointDirName(step);
    try {
      await mkdir(this.root, { recursive: true });
      await this.removeLeftovers();
      await this.prune(step, Math.max(this.keep - 1, 1));
      return await this.publish(step, name, write);
    } catch (error) {
      throw await this.describeDiskError(error, name);
    }
  }

  private async publish(step: number, name: string, write: (dir: string) => Promise<void>): Promise<string> {
    const temp = join(this.root, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(temp);
    try {
      await write(temp);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
    const final = join(this.root, name);
    // A checkpoint of the same step from an abandoned run (before a resume) is replaced whole.
    const old = (await isDirectory(final)) ? join(this.root, `.${name}.old-${process.pid}`) : undefined;
    if (old) await rename(final, old);
    await rename(temp, final);
    await syncDirectory(this.root);
    await atomicWriteFile(join(this.root, LATEST_FILE), `${name}\n`);
    if (old) await rm(old, { recursive: true, force: true });
    await this.prune(step, this.keep - 1);
    return final;
  }

  /** A disk error, with the file it hit and the checkpoint a resume would find intact. */
  private async describeDiskError(error: unknown, name: string): Promise<unknown> {
    const code = diskErrorCode(error);
    if (!code) return error;
    const { path } = error as NodeJS.ErrnoException;
    const intact = await this.latest().catch(() => null);
    const where = path ? ` (${path})` : '';
    const kept = intact ? `the last intact checkpoint is ${intact}` : 'no earlier checkpoint exists';
    return new CheckpointError(
      join(this.root, name),
      `cannot be written: ${code}${where}: ${(error as Error).message}; ${kept}`,
    );
  }

  /** The newest complete checkpoint folder, or null when there is none. */
  async latest(): Promise<string | null> {
    const named = await readFile(join(this.root, LATEST_FILE), 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    );
    if (named && STEP_DIR.test(named) && (await isFile(join(this.root, named, TRAINER_STATE_FILE)))) {
      return join(this.root, named);
    }
    // No usable pointer (an older layout, or it was deleted): the highest complete step folder.
    const steps = await this.list();
    for (const { dir } of steps.reverse()) if (await isFile(join(dir, TRAINER_STATE_FILE))) return dir;
    return null;
  }

  /** Checkpoint folders by ascending step. */
  async list(): Promise<{ step: number; dir: string }[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory() && STEP_DIR.test(e.name))
      .map((e) => ({ step: Number(STEP_DIR.exec(e.name)![1]), dir: join(this.root, e.name) }))
      .sort((a, b) => a.step - b.step);
  }

  /**
   * Deletes checkpoints older than `current` beyond the newest `olderKept` of them. Newer ones,
   * left by an abandoned run that was resumed from an earlier step, are not touched.
   */
  private async prune(current: number, olderKept: number): Promise<void> {
    if (this.keep === 0) return;
    const older = (await this.list()).filter((c) => c.step < current);
    const excess = older.length - olderKept;
    for (const { dir } of older.slice(0, Math.max(0, excess))) await rm(dir, { recursive: true, force: true });
  }

  /** Temporary folders and files of writes that a crash or a kill interrupted. */
  private async removeLeftovers(): Promise<void> {
    const entries = await readdir(this.root, { withFileTypes: true });
    for (const e of entries) {
      const leftover = e.isDirectory() ? TEMP_DIR.test(e.name) : TEMP_FILE.test(e.name);
      if (leftover) await rm(join(this.root, e.name), { recursive: true, force: true });
    }
  }
}

/**
 * The checkpoint folder meant by `path`: a checkpoint folder itself, a folder of checkpoints (its
 * latest), or a run folder with a `checkpoints` subfolder (its latest).
 */
export async function resolveCheckpoint(path: string): Promise<string> {
  if (!(await isDirectory(path))) throw new CheckpointError(path, 'no such folder');
  if (await isFile(join(path, TRAINER_STATE_FILE))) return path;
  for (const root of [path, join(path, 'checkpoints')]) {
    const latest = await new CheckpointStore(root).latest();
    if (latest) return latest;
  }
  throw new CheckpointError(
    path,
    `holds no checkpoint: expected a checkpoint folder (with ${TRAINER_STATE_FILE}), a folder of step-* checkpoints, or a run folder with checkpoints/`,
  );
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Makes a rename in `dir` durable; some platforms cannot fsync a folder, which is fine. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  await handle
    .sync()
    .catch(() => undefined)
    .finally(() => handle.close().catch(() => undefined));
}
