/**
 * The run folder `train` writes into, checked before any training starts: a folder that already
 * holds a run is continued (--resume), replaced (--overwrite) or refused, and a path that cannot
 * hold a run (a file where a folder must be) is reported now rather than at the first checkpoint.
 */
import { access, constants, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { diskErrorCode, pathExists } from '@galore-ts/core';

export const METRICS_FILE = 'metrics.jsonl';
export const RUN_FILE = 'run.json';
export const CHECKPOINTS_DIR = 'checkpoints';

/** The files of a run; a folder holding any of them is a run. */
const RUN_ENTRIES = [METRICS_FILE, RUN_FILE, CHECKPOINTS_DIR];

export interface RunFolderIntent {
  /** Continuing the run in the folder. */
  resume: boolean;
  /** Replacing a run in the folder (--overwrite). */
  overwrite: boolean;
}

/** Creates `runDir` when needed and makes sure a run can be written there as `intent` says. */
export async function prepareRunFolder(runDir: string, intent: RunFolderIntent): Promise<void> {
  if (intent.resume && intent.overwrite) {
    throw new Error('--overwrite replaces a run and --resume continues one: give one of them');
  }
  await expectFolder(runDir, '--out');
  await expectFolder(join(runDir, CHECKPOINTS_DIR), `the checkpoints folder of --out`);
  const existing = [];
  for (const name of RUN_ENTRIES) if (await pathExists(join(runDir, name))) existing.push(name);
  if (existing.length > 0 && !intent.resume) {
    if (!intent.overwrite) {
      throw new Error(
        `--out ${runDir} already holds a run (${existing.join(', ')}); continue it with --resume, choose a new --out folder, or pass --overwrite to replace it`,
      );
    }
    for (const name of existing) await rm(join(runDir, name), { recursive: true, force: true });
  }
  await mkdir(join(runDir, CHECKPOINTS_DIR), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot create the run folder ${runDir}: ${error.code ?? error.message}`);
  });
  await access(runDir, constants.W_OK).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`the run folder ${runDir} is not writable (${error.code ?? error.message})`);
  });
}

/** Throws when `path` exists and is not a folder. */
async function expectFolder(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info && !info.isDirectory()) {
    throw new Error(`${what}: ${path} is a file, not a folder; remove it or choose another --out`);
  }
}

/**
 * `error` from writing `file` of a run, saying which file and which checkpoint a resume finds
 * intact when the disk is full or read-only (other errors pass as they are).
 */
export function runFileError(error: unknown, file: string, intact: string | null): unknown {
  if (!diskErrorCode(error)) return error;
  const kept = intact ? `the last intact checkpoint is ${intact}` : 'no checkpoint was written yet';
  // Node's message starts with the code (ENOSPC: no space left on device, write).
  return new Error(`cannot write ${file}: ${(error as Error).message}; ${kept}`);
}
