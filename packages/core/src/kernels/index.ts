/** Kernel declarations: core's, and the API packages use to add their own. */
export * from './checks.js';
export { BINARY_OPS, REDUCE_OPS, UNARY_OPS } from './core-kernels.js';
export { DATA_ERROR, type DataErrorCode, dataError } from './data-errors.js';
export {
  declaredKernels,
  defineKernel,
  implementKernel,
  type KernelDeclaration,
  kernelDeclaration,
} from './registry.js';
