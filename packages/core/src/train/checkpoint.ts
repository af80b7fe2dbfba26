/**
 * One training checkpoint folder:
 *
 *   config.json, model.safetensors   the model as a Hugging Face folder (fromPretrained reads it)
 *   optimizer.safetensors            the optimizer's state tensors, keyed state.<param>.<name>
 *   trainer_state.json               everything else: step, optimizer JSON, schedule, RNG, data
 *                                    position, and the byte size of every other file
 *
 * trainer_state.json is written last and records the other files' sizes, so a folder whose writing
 * was cut short, or a file truncated later, is reported before anything is loaded.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RngState } from '../engine.js';
import { atomicWriteFile } from '../io/atomic-write.js';
import { loadTensors, loadTensorsInto, saveTensors } from '../io/tensors.js';
import { CONFIG_FILE, WEIGHTS_FILE } from '../models/llama/pretrained.js';
import type { LRSchedulerState } from '../optim/lr-scheduler.js';
import type { OptimizerStateDict } from '../optim/optimizer.js';
import { CheckpointError } from './errors.js';
import type { CausalLanguageModel, TrainableOptimizer } from './interfaces.js';
import { checkModelConfig, checkOptimizerTensors, type StateLayout } from './state-checks.js';

export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const CHECKPOINT_FORMAT = 'galore-ts-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** The JSON part of a checkpoint (trainer_state.json). */
export interface TrainerState {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** Optimizer steps completed. */
  step: number;
  /** Training tokens consumed so far. */
  tokensSeen: number;
  /** Training time so far, in seconds (checkpoints and evaluations excluded). */
  trainSeconds: number;
  optimizer: OptimizerStateDict['json'];
  scheduler: LRSchedulerState;
  rng: RngState;
  /** The data source's position (its state()). */
  data: unknown;
  /** Free-form JSON from the caller (the CLI stores its run settings here). */
  metadata: Record<string, unknown>;
  /** Byte size of every other file of the folder, checked before loading. */
  files: Record<string, number>;
}

/** What the caller supplies; the format, the optimizer's JSON and the file sizes are added when writing. */
export type TrainerStateInput = Omit<TrainerState, 'format' | 'version' | 'files' | 'optimizer'>;

/** Writes a complete checkpoint into `dir` (an existing, empty folder). */
export async function writeCheckpoint(
  dir: string,
  model: CausalLanguageModel,
  optimizer: TrainableOptimizer,
  state: TrainerStateInput,
): Promise<void> {
  await writing(join(dir, WEIGHTS_FILE), () => model.savePretrained(dir));
  const optimizerState = optimizer.stateDict();
  const optimizerFile = join(dir, OPTIMIZER_FILE);
  await writing(optimizerFile, () => saveTensors(optimizerFile, optimizerState.tensors, { format: 'pt' }));
  const files: Record<string, number> = {};
  for (const name of [CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE]) files[name] = (await stat(join(dir, name))).size;
  const full: TrainerState = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    ...state,
    optimizer: optimizerState.json,
    files,
  };
  const stateFile = join(dir, TRAINER_STATE_FILE);
  await writing(stateFile, () => atomicWriteFile(stateFile, `${JSON.stringify(full, null, 2)}\n`));
}

/** Runs `write`, naming `file` in a file-system error that does not name one (a failed write() does not). */
async function writing<T>(file: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code && !e.path) e.path = file;
    throw error;
  }
}

/**
 * Reads and checks trainer_state.json and the sizes of the files it lists; loads nothing else.
 * Throws a CheckpointError naming the problem (missing, truncated, not JSON, another format).
 */
export async function readTrainerState(dir: string): Promise<TrainerState> {
  const path = join(dir, TRAINER_STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CheckpointError(
        dir,
        `has no ${TRAINER_STATE_FILE} (not a checkpoint folder, or its writing was interrupted)`,
      );
    }
    throw new CheckpointError(dir, `cannot read ${TRAINER_STATE_FILE}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(
      dir,
      `${TRAINER_STATE_FILE} is not valid JSON (truncated or corrupt?): ${(error as Error).message}`,
    );
  }
  const state = checkTrainerState(dir, parsed);
  for (const [name, expected] of Object.entries(state.files)) {
    const actual = await stat(join(dir, name)).then(
      (s) => s.size,
      () => undefined,
    );
    if (actual === undefined) throw new CheckpointError(dir, `${name} is missing`);
    if (actual !== expected) {
      const how = actual < expected ? 'truncated' : 'corrupt';
      throw new CheckpointError(dir, `${name} is ${actual} bytes, but ${expected} were written (the file is ${how})`);
    }
  }
  return state;
}

function checkTrainerState(dir: string, value: unknown): TrainerState {
  const s = value as Partial<TrainerState> | null;
  if (typeof s !== 'object' || s === null || s.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      dir,
      `${TRAINER_STATE_FILE} is not a ${CHECKPOINT_FORMAT} file (format ${JSON.stringify(s?.format)})`,
    );
  }
  if (s.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      dir,
      `${TRAINER_STATE_FILE} has version ${JSON.stringify(s.version)}; this build reads version ${CHECKPOINT_VERSION}`,
    );
  }
  const problems: string[] = [];
  if (!Number.isSafeInteger(s.step) || (s.step as number) < 0) problems.push(`step ${JSON.stringify(s.step)}`);
  if (typeof s.tokensSeen !== 'number') problems.push('tokensSeen');
  if (typeof s.trainSeconds !== 'number') problems.push('trainSeconds');
  for (const key of ['optimizer', 'scheduler', 'rng', 'files', 'metadata'] as const) {
    if (typeof s[key] !== 'object' || s[key] === null) problems.push(key);
  }
  if (problems.length === 0) problems.push(...inconsistencies(s as TrainerState));
  if (problems.length > 0)
    throw new CheckpointError(dir, `${TRAINER_STATE_FILE} has missing or invalid fields: ${problems.join(', ')}`);
  return s as TrainerState;
}

/** Entries that are present but cannot be true of a checkpoint this code wrote. */
function inconsistencies(s: TrainerState): string[] {
  const problems: string[] = [];
  const { seed, offset } = s.rng as Partial<RngState>;
  if (typeof seed !== 'string' || !/^\d+$/.test(seed)) problems.push(`rng.seed ${JSON.stringify(seed)}`);
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) problems.push(`rng.offset ${JSON.stringify(offset)}`);
  // The schedule advances once per optimizer step, so the two counts agree in every checkpoint.
  if (s.scheduler.step !== s.step)
    problems.push(`step ${s.step} (the schedule is at step ${JSON.stringify(s.scheduler.step)})`);
  return problems;
}

/**
 * Loads a checkpoint's weights into `model` and its state into `optimizer` (both built as for the
 * run that saved it) and returns the trainer state. Everything is checked before the model changes:
 * config.json against the model's config (when the model has one), and the optimizer's tensors
 * against `optimizerState` (the layout a fresh optimizer of this run allocates) when given.
 */
export async function loadCheckpoint(
  dir: string,
  model: CausalLanguageModel,
  optimizer: TrainableOptimizer,
  options: { optimizerState?: StateLayout } = {},
): Promise<TrainerState> {
  const state = await readTrainerState(dir);
  const config = (model as { config?: object }).config;
  if (config) await checkModelConfig(dir, config);
  const optimizerTensors = await wrapped(dir, OPTIMIZER_FILE, () =>
    loadTensors(join(dir, OPTIMIZER_FILE), { backend: model.backend }),
  );
  try {
    if (options.optimizerState) {
      const names = [...model.namedParameters()].map(([name]) => name);
      checkOptimizerTensors(
        dir,
        OPTIMIZER_FILE,
        { type: state.optimizer.type, tensors: optimizerTensors },
        options.optimizerState,
        names,
      );
    }
    await wrapped(dir, WEIGHTS_FILE, () =>
      loadTensorsInto(join(dir, WEIGHTS_FILE), model.stateDict(), { aliases: model.parameterAliases() }),
    );
    try {
      optimizer.loadStateDict({ tensors: optimizerTensors, json: state.optimizer });
    } catch (error) {
      throw new CheckpointError(dir, `its optimizer state does not fit this optimizer: ${(error as Error).message}`);
    }
  } finally {
    for (const t of Object.values(optimizerTensors)) t.dispose();
  }
  return state;
}

async function wrapped<T>(dir: string, file: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    throw new CheckpointError(dir, `cannot load ${file}: ${(error as Error).message}`);
  }
}
