/**
 * Glue between Tensors and the raw safetensors reader and writer: save a name -> Tensor record,
 * load a file (or some of its tensors) onto a backend, or stream a file into existing tensors
 * (model parameters) one tensor at a time, so loading never holds the checkpoint twice.
 */
import type { Backend } from '../backend.js';
import { getBackend, keep, noGrad } from '../engine.js';
import {
  assertKeysMatch,
  assertNoMismatches,
  compareKeys,
  describeMismatch,
  formatNames,
  type KeyComparison,
} from '../nn/state-dict.js';
import { fromRaw } from '../ops/creation.js';
import type { Tensor } from '../tensor.js';
import { type LoadedTensor, SafetensorsFile, writeSafetensors } from './safetensors.js';

/**
 * Writes `tensors` to a safetensors file at `path`, atomically. Each tensor is downloaded only when
 * its turn comes. A tensor listed under two names is written twice; drop aliases first if unwanted.
 */
export async function saveTensors(
  path: string,
  tensors: Readonly<Record<string, Tensor>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const entries = Object.entries(tensors).map(([name, t]) => {
    if (t.isDisposed) throw new Error(`saveTensors: tensor '${name}' was disposed before it could be saved`);
    return { name, dtype: t.dtype, shape: t.shape, bytes: () => t.backend.read(t.storage) };
  });
  await writeSafetensors(path, entries, metadata);
}

export interface LoadTensorsOptions {
  /** Backend to create the tensors on (default: the active one). */
  backend?: Backend;
  /** Load only these names (all must exist); default every tensor, in file order. */
  names?: readonly string[];
}

/**
 * Yields the tensors of a file one at a time as [name, tensor]; each tensor belongs to the caller
 * (dispose it when done). The file is closed when the iteration ends, early or not.
 */
export async function* streamTensors(path: string, options: LoadTensorsOptions = {}): AsyncGenerator<[string, Tensor]> {
  const backend = options.backend ?? getBackend();
  const file = await SafetensorsFile.open(path);
  try {
    const names = options.names ?? [...file.tensors.keys()];
    const absent = names.filter((name) => !file.tensors.has(name));
    if (absent.length > 0) {
      throw new Error(
        `loadTensors: ${path} has no tensor named ${formatNames(absent)}; it holds ${formatNames([...file.tensors.keys()])}`,
      );
    }
    for (const name of names) {
      const loaded = await file.read(name);
      yield [name, keep(fromRaw(loaded.data, loaded.shape, loaded.dtype, backend))];
    }
  } finally {
    await file.close();
  }
}

/** Loads the tensors of a file (or the named ones) into a name -> Tensor record the caller owns. */
export async function loadTensors(path: string, options: LoadTensorsOptions = {}): Promise<Record<string, Tensor>> {
  const out: Record<string, Tensor> = {};
  try {
    for await (const [name, t] of streamTensors(path, options)) out[name] = t;
  } catch (error) {
    for (const t of Object.values(out)) t.dispose();
    throw error;
  }
  return out;
}

export interface LoadIntoResult extends KeyComparison {
  /** Every tensor name the file holds, in file order. */
  fileKeys: string[];
}

export interface LoadIntoOptions {
  /** Require the file's names to match the targets exactly (default true). */
  strict?: boolean;
  /** Other names of the same tensor (tied weights): a name is not missing when an alias is present. */
  aliases?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Reads a file into existing tensors (e.g. a model's state dict) in place, one tensor at a time.
 * Every name, shape and dtype is checked against the header before any data is read; floating
 * dtypes are converted (a BF16 file fills float32 parameters).
 */
export async function loadTensorsInto(
  path: string,
  targets: Readonly<Record<string, Tensor>>,
  options: LoadIntoOptions = {},
): Promise<LoadIntoResult> {
  const file = await SafetensorsFile.open(path);
  try {
    const keys = compareKeys(Object.keys(targets), file.tensors.keys(), options.aliases);
    if (options.strict ?? true) assertKeysMatch(`loading ${path}`, keys);
    const names = [...file.tensors.keys()].filter((name) => targets[name] !== undefined);
    const mismatches = names.flatMap((name) => describeMismatch(name, targets[name]!, file.info(name)) ?? []);
    assertNoMismatches(`loading ${path}`, mismatches);
    const filled = new Set<Tensor>();
    for (const name of names) {
      const target = targets[name]!;
      if (filled.has(target)) continue; // a tied weight already read under another name
      writeInto(target, await file.read(name));
      filled.add(target);
    }
    return { ...keys, fileKeys: [...file.tensors.keys()] };
  } finally {
    await file.close();
  }
}

/** Overwrites `target`'s storage with loaded values, converting the dtype on the backend if needed. */
function writeInto(target: Tensor, loaded: LoadedTensor): void {
  const backend = target.backend;
  if (loaded.dtype === target.dtype) {
    backend.write(target.storage, loaded.data);
    return;
  }
  noGrad(() => {
    const staged = fromRaw(loaded.data, loaded.shape, loaded.dtype, backend);
    try {
      backend.run('cast', { x: staged.storage, out: target.storage }, {});
    } finally {
      staged.dispose();
    }
  });
}
