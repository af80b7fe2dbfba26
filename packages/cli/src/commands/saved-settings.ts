/** What eval and generate learn from a training checkpoint: its folder and the run's settings. */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readTrainerState, resolveCheckpoint, TRAINER_STATE_FILE } from '@galore-ts/core';
import type { RunSettings } from './train-settings.js';

/** A folder with config.json as it is (a checkpoint or any Hugging Face folder); else a run folder's latest checkpoint. */
export async function resolveModelFolder(path: string): Promise<string> {
  const hasConfig = await stat(join(path, 'config.json')).then(
    (s) => s.isFile(),
    () => false,
  );
  return hasConfig ? path : resolveCheckpoint(path);
}

/** The run settings a training checkpoint recorded; {} for a plain Hugging Face folder. */
export async function savedSettings(folder: string): Promise<Partial<RunSettings>> {
  const isCheckpoint = await stat(join(folder, TRAINER_STATE_FILE)).then(
    () => true,
    () => false,
  );
  if (!isCheckpoint) return {};
  const state = await readTrainerState(folder);
  return ((state.metadata as { settings?: Partial<RunSettings> }).settings ?? {}) as Partial<RunSettings>;
}
