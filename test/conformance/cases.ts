/** Every conformance case, one per kernel of the Backend interface (per op for unary, binary, reduce). */
import type { Backend } from '../../packages/core/src/backend.js';
import type { DType } from '../../packages/core/src/dtype.js';
import type { AnyKernelCase, CaseContext } from './case.js';
import { castCase, copyCase, fillCase, randomCase } from './cases/creation.js';
import {
  argmaxCase,
  BINARY_OPS,
  binaryCase,
  reduceCase,
  UNARY_OPS,
  unaryCase,
  whereCase,
} from './cases/elementwise.js';
import {
  adamwCase,
  causalAttentionBackwardCase,
  causalAttentionCase,
  crossEntropyBackwardCase,
  crossEntropyCase,
  dequantizeCase,
  gatherRowsCase,
  geluBackwardCase,
  geluCase,
  layerNormBackwardCase,
  layerNormCase,
  quantizeCase,
  rmsNormBackwardCase,
  rmsNormCase,
  ropeCase,
  scatterAddRowsCase,
  siluMulBackwardCase,
  siluMulCase,
  softmaxBackwardCase,
  softmaxCase,
} from './cases/fused.js';
import { matmulCase, qrCase, svdCase } from './cases/linalg.js';

export type { AnyKernelCase, CaseContext, KernelCase, Output } from './case.js';

/** Every kernel of the Backend interface, in interface order. */
export const KERNEL_CASES: readonly AnyKernelCase[] = [
  fillCase,
  randomCase('uniform'),
  randomCase('normal'),
  castCase,
  copyCase,
  ...UNARY_OPS.map(unaryCase),
  ...BINARY_OPS.map(binaryCase),
  whereCase,
  reduceCase('sum'),
  reduceCase('max'),
  reduceCase('min'),
  argmaxCase,
  matmulCase,
  svdCase,
  qrCase,
  gatherRowsCase,
  scatterAddRowsCase,
  softmaxCase(false),
  softmaxCase(true),
  softmaxBackwardCase(false),
  softmaxBackwardCase(true),
  crossEntropyCase,
  crossEntropyBackwardCase,
  rmsNormCase,
  rmsNormBackwardCase,
  layerNormCase,
  layerNormBackwardCase,
  ropeCase,
  causalAttentionCase,
  causalAttentionBackwardCase,
  siluMulCase,
  siluMulBackwardCase,
  geluCase,
  geluBackwardCase,
  adamwCase,
  quantizeCase,
  dequantizeCase,
];

export function caseContext(backend: Backend): CaseContext {
  const candidates: DType[] = ['float32', 'bfloat16', 'float16', 'float64'];
  const floatDTypes = candidates.filter((d) => backend.supportsDType(d));
  const allDTypes = [...floatDTypes, ...(['int32', 'uint8'] as const).filter((d) => backend.supportsDType(d))];
  return { floatDTypes, allDTypes };
}
