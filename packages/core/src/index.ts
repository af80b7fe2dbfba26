/**
 * @galore-ts/core: tensors, autograd, ops, nn, optimizers, data and I/O, the Backend interface and
 * the CPU and meta backends.
 */
import { createCpuBackend } from './backends/cpu/index.js';
import { createMetaBackend } from './backends/meta/index.js';
import { registerBackend } from './engine.js';

registerBackend('cpu', createCpuBackend);
registerBackend('meta', createMetaBackend);

export type * from './backend.js';
export {
  BackendBase,
  type BackendBaseOptions,
  type KernelImpl,
  type KernelTable,
  StorageBase,
} from './backends/base.js';
export type { GemmChoice, GemmPath } from './backends/cpu/gemm-path.js';
export { CpuBackend, CpuStorage, createCpuBackend } from './backends/cpu/index.js';
export { createMetaBackend, MetaBackend } from './backends/meta/index.js';
export * from './data/index.js';
export * from './dtype.js';
export {
  BACKEND_NAMES,
  type BackendName,
  disposeBackends,
  getBackend,
  getBackendByName,
  getRngState,
  isGradEnabled,
  keep,
  manualSeed,
  noGrad,
  type RngState,
  registerBackend,
  setBackend,
  setRngState,
  tidy,
  useBackend,
  withCategory,
  withGradEnabled,
} from './engine.js';
export * from './io/index.js';
export * from './kernels/index.js';
export * from './memory.js';
export * from './models/index.js';
export * from './nn/index.js';
export * from './ops/index.js';
export * from './optim/index.js';
export * from './peft/index.js';
export * from './random.js';
export * from './shape.js';
export * from './tasks/index.js';
export { isTensor, type NumberArray, Tensor } from './tensor.js';
export * from './train/index.js';
