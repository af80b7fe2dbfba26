/**
 * The one table of tolerances the conformance suite compares with: |got - want| <= abs + rel *
 * |want| per element, for float32 compute. 16-bit outputs add one unit in the last place of
 * their format on top (`OUTPUT_ROUNDING`), since two float32 results a hair apart may round to
 * neighbouring 16-bit values.
 *
 * The transcendental bounds follow what GPU shading languages promise (WGSL allows exp 3 + 2|x|
 * ulp, and only 2^-11 absolute error for sin and cos on [-pi, pi]); reductions and matmul allow
 * for float32 accumulation in a different order.
 */
import type { DType } from '../../packages/core/src/dtype.js';

export interface Tolerance {
  abs: number;
  rel: number;
}

const EXACT: Tolerance = { abs: 0, rel: 0 };
const ROUNDING: Tolerance = { abs: 1e-7, rel: 2e-7 };
const TRANSCENDENTAL: Tolerance = { abs: 2e-6, rel: 1e-5 };

export const TOLERANCES: Readonly<Record<string, Tolerance>> = {
  fill: EXACT,
  'random(uniform)': { abs: 1e-6, rel: 1e-6 },
  'random(normal)': { abs: 2e-5, rel: 2e-5 },
  cast: EXACT,
  copy: EXACT,
  'unary(neg)': EXACT,
  'unary(abs)': EXACT,
  'unary(relu)': EXACT,
  'unary(sign)': EXACT,
  'unary(square)': ROUNDING,
  'unary(reciprocal)': { abs: 1e-7, rel: 1e-6 },
  'unary(sqrt)': { abs: 1e-7, rel: 1e-6 },
  'unary(rsqrt)': { abs: 1e-7, rel: 1e-6 },
  'unary(exp)': { abs: 1e-6, rel: 1e-5 },
  'unary(log)': { abs: 2e-6, rel: 2e-6 },
  'unary(sigmoid)': TRANSCENDENTAL,
  'unary(silu)': TRANSCENDENTAL,
  'unary(tanh)': { abs: 2e-6, rel: 1e-5 },
  'unary(sin)': { abs: 5e-4, rel: 0 },
  'unary(cos)': { abs: 5e-4, rel: 0 },
  'binary(add)': ROUNDING,
  'binary(sub)': ROUNDING,
  'binary(mul)': ROUNDING,
  'binary(div)': { abs: 1e-7, rel: 1e-6 },
  'binary(pow)': { abs: 1e-6, rel: 2e-5 },
  'binary(maximum)': EXACT,
  'binary(minimum)': EXACT,
  'binary(eq)': EXACT,
  'binary(ne)': EXACT,
  'binary(lt)': EXACT,
  'binary(le)': EXACT,
  'binary(gt)': EXACT,
  'binary(ge)': EXACT,
  where: EXACT,
  // Up to 40 values in [-10, 10]: float32 partial sums reach ~30, so cancelling sums need an absolute slack.
  'reduce(sum)': { abs: 1e-4, rel: 1e-5 },
  'reduce(max)': EXACT,
  'reduce(min)': EXACT,
  argmax: EXACT,
  // k <= 80 products of values in [-1, 1], summed in float32 in any order.
  matmul: { abs: 5e-5, rel: 1e-4 },
  'svd.s': { abs: 5e-5, rel: 1e-4 },
  'svd.vectors': { abs: 2e-4, rel: 0 },
  'svd.reconstruction': { abs: 1e-4, rel: 0 },
  qr: { abs: 1e-4, rel: 1e-4 },
  gatherRows: EXACT,
  scatterAddRows: { abs: 5e-6, rel: 1e-6 },
  softmax: TRANSCENDENTAL,
  logSoftmax: TRANSCENDENTAL,
  softmaxBackward: { abs: 2e-6, rel: 1e-5 },
  logSoftmaxBackward: { abs: 2e-6, rel: 1e-5 },
  crossEntropy: { abs: 1e-5, rel: 1e-5 },
  crossEntropyBackward: { abs: 2e-6, rel: 1e-5 },
  rmsNorm: { abs: 2e-6, rel: 1e-5 },
  rmsNormBackward: { abs: 1e-5, rel: 1e-4 },
  // x in [-1, 5]: |x - mean| / std stays below ~3, so the normalised values are O(1).
  layerNorm: { abs: 5e-6, rel: 1e-5 },
  layerNormBackward: { abs: 2e-5, rel: 1e-4 },
  rope: { abs: 1e-6, rel: 1e-6 },
  // Scores of up to 16 products in [-2, 2], a softmax over up to 44 keys, then a float32 product.
  causalAttention: { abs: 2e-5, rel: 1e-4 },
  causalAttentionBackward: { abs: 5e-5, rel: 2e-4 },
  siluMul: TRANSCENDENTAL,
  siluMulBackward: TRANSCENDENTAL,
  gelu: TRANSCENDENTAL,
  geluBackward: TRANSCENDENTAL,
  adamw: { abs: 1e-6, rel: 1e-5 },
  'quantizeBlockwise.absmax': EXACT,
  // A scaled value at the midpoint of two entries may go to either: codes may differ by one.
  'quantizeBlockwise.codes': { abs: 1, rel: 0 },
  dequantizeBlockwise: ROUNDING,
};

/** Extra allowance for results stored in a 16-bit float format (one ulp, relative). */
export const OUTPUT_ROUNDING: Readonly<Partial<Record<DType, Tolerance>>> = {
  bfloat16: { abs: 0, rel: 2 ** -7 },
  float16: { abs: 2 ** -24, rel: 2 ** -10 },
};

export function toleranceFor(key: string, dtype: DType): Tolerance {
  const base = TOLERANCES[key];
  if (!base) throw new Error(`conformance: no tolerance for "${key}" in TOLERANCES; add one`);
  const extra = OUTPUT_ROUNDING[dtype];
  return extra ? { abs: base.abs + extra.abs, rel: base.rel + extra.rel } : base;
}
