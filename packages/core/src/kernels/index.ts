/** Kernel declarations: core's, the API packages use to add their own, and the erf every backend's GELU shares. */
export * from './checks.js';
export { BINARY_OPS, REDUCE_OPS, UNARY_OPS } from './core-kernels.js';
export { DATA_ERROR, type DataErrorCode, dataError } from './data-errors.js';
export { ERF_RATIONALS } from './erf.js';
export {
  declaredKernels,
  defineKernel,
  implementKernel,
  type KernelDeclaration,
  kernelDeclaration,
} from './registry.js';
