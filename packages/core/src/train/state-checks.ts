/**
 * Checks of a checkpoint against the run about to continue it, made before anything is loaded, so
 * a wrong or damaged file is named with the entry at fault instead of failing steps later (or
 * silently re-zeroing a moment): the model's config.json, and the optimizer's state tensors
 * against those a fresh optimizer of this run allocates.
 */
import { createMetaBackend } from '../backends/meta/index.js';
import type { DType } from '../dtype.js';
import { getBackend, setBackend } from '../engine.js';
import { CONFIG_FILE, readPretrainedConfig } from '../models/llama/pretrained.js';
import { zeros } from '../ops/creation.js';
import type { Tensor } from '../tensor.js';
import { CheckpointError } from './errors.js';
import type { OptimizerFactory, OptimizerSetup, TrainableOptimizer } from './interfaces.js';

/** The optimizer's type, and the shape and dtype of each state tensor by state-dict key (`state.<i>.<name>`). */
export interface StateLayout {
  type: string;
  tensors: Map<string, { shape: readonly number[]; dtype: DType }>;
}

/** Refuses a checkpoint whose config.json is unreadable or describes another model than `config`. */
export async function checkModelConfig(dir: string, config: object): Promise<void> {
  const saved = await readPretrainedConfig(dir).catch((error: Error) => {
    throw new CheckpointError(dir, `${CONFIG_FILE} cannot be read: ${error.message}`);
  });
  const model = config as Record<string, unknown>;
  const stored = saved as unknown as Record<string, unknown>;
  // The model's own settings must match; the weights' dtype is checked when they load.
  const keys = Object.keys(model).filter((k) => k !== 'torch_dtype' && model[k] !== undefined);
  const differences = keys
    .filter((k) => JSON.stringify(model[k]) !== JSON.stringify(stored[k]))
    .map((k) => `${k} ${JSON.stringify(stored[k])} in the checkpoint, ${JSON.stringify(model[k])} in the model`);
  if (differences.length > 0) {
    throw new CheckpointError(
      dir,
      `${CONFIG_FILE} does not match the model being trained (${differences.join('; ')}); resume with the model the checkpoint was trained with`,
    );
  }
}

/**
 * The state tensors the optimizer that `factory` builds holds after one step over parameters shaped
 * as `named`: found by a step on the meta backend, which allocates and computes nothing.
 */
export async function optimizerStateLayout(
  factory: OptimizerFactory,
  named: readonly [string, Tensor][],
): Promise<StateLayout> {
  const meta = createMetaBackend();
  const previous = getBackend();
  setBackend(meta);
  const params = named.map(([name, p]) => {
    const probe = zeros(p.shape, { dtype: p.dtype, backend: meta }).requiresGrad_();
    probe.grad = zeros(p.shape, { dtype: p.dtype, backend: meta });
    return [name, probe] as [string, Tensor];
  });
  const built = factory(params);
  const { optimizer, layerwise } = ('optimizer' in built ? built : { optimizer: built }) as OptimizerSetup;
  try {
    // Layerwise optimizers step from backward hooks; one plain step allocates the same state.
    await (optimizer as TrainableOptimizer).step();
    const { tensors, json } = optimizer.stateDict();
    const layout: StateLayout = { type: json.type, tensors: new Map() };
    for (const [key, t] of Object.entries(tensors)) layout.tensors.set(key, { shape: t.shape, dtype: t.dtype });
    return layout;
  } finally {
    layerwise?.dispose?.();
    optimizer.dispose?.();
    for (const [, p] of params) {
      p.zeroGrad();
      p.dispose();
    }
    setBackend(previous);
  }
}

/** Refuses saved optimizer tensors that are missing, unexpected, or of another shape or dtype than `layout`. */
export function checkOptimizerTensors(
  dir: string,
  file: string,
  saved: { type: string; tensors: Record<string, Tensor> },
  layout: StateLayout,
  paramNames: readonly string[],
): void {
  if (saved.type !== layout.type) {
    throw new CheckpointError(
      dir,
      `its optimizer state does not fit this optimizer: the state is for ${saved.type}, this optimizer is ${layout.type}`,
    );
  }
  const tensors = saved.tensors;
  // A checkpoint taken before the first step holds no state at all, which is consistent.
  if (Object.keys(tensors).length === 0) return;
  const entry = (key: string) => {
    const index = Number(/^state\.(\d+)\./.exec(key)?.[1]);
    const name = paramNames[index];
    return name ? `${key} (of ${name})` : key;
  };
  const problems: string[] = [];
  for (const [key, want] of layout.tensors) {
    const got = tensors[key];
    if (!got) problems.push(`${entry(key)} is missing`);
    else if (got.shape.join('x') !== want.shape.join('x') || got.dtype !== want.dtype) {
      problems.push(
        `${entry(key)} is ${got.dtype} [${got.shape.join(', ')}], expected ${want.dtype} [${want.shape.join(', ')}]`,
      );
    }
  }
  for (const key of Object.keys(tensors))
    if (!layout.tensors.has(key)) problems.push(`${entry(key)} is not a state of this optimizer`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new CheckpointError(dir, `${file} does not fit this optimizer: ${shown}`);
  }
}
