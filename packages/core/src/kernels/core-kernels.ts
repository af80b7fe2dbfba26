/**
 * Core's kernels, each declared once: the storages it reads and writes, and its argument check.
 * The contract each computes is documented on `CoreKernels` (../backend.ts).
 */
import type { AttentionLayout, AttentionParams, BinaryOp, ReduceOp, Storage, UnaryOp } from '../backend.js';
import { composedAttention, composedAttentionBackward } from './attention-composed.js';
import {
  expectAtLeast,
  expectCount,
  expectDistinct,
  expectDType,
  expectFinite,
  expectFloating,
  expectFloats,
  expectInteger,
  expectOp,
  expectOutputsApart,
  expectPositive,
  expectRows,
  expectSameShape,
  expectSameSize,
  expectSize,
  expectWindow,
  isCount,
  orList,
} from './checks.js';
import { defineKernel } from './registry.js';

// Records keyed by every op name, so a new op in the contract fails to compile here until listed.
export const UNARY_OPS: Record<UnaryOp, true> = {
  neg: true,
  exp: true,
  log: true,
  sqrt: true,
  rsqrt: true,
  abs: true,
  sigmoid: true,
  silu: true,
  tanh: true,
  relu: true,
  sign: true,
  square: true,
  reciprocal: true,
  sin: true,
  cos: true,
};

export const BINARY_OPS: Record<BinaryOp, 'arithmetic' | 'comparison'> = {
  add: 'arithmetic',
  sub: 'arithmetic',
  mul: 'arithmetic',
  div: 'arithmetic',
  pow: 'arithmetic',
  maximum: 'arithmetic',
  minimum: 'arithmetic',
  eq: 'comparison',
  ne: 'comparison',
  lt: 'comparison',
  le: 'comparison',
  gt: 'comparison',
  ge: 'comparison',
};

export const REDUCE_OPS: Record<ReduceOp, true> = { sum: true, max: true, min: true };

function product(shape: readonly number[], kernel: string): number {
  if (!Array.isArray(shape)) throw new TypeError(`${kernel}: shape must be an array of integers; got ${typeof shape}`);
  let n = 1;
  for (let d = 0; d < shape.length; d++) {
    const extent = shape[d];
    n *= isCount(extent) ? extent : expectCount(kernel, `shape[${d}]`, extent);
  }
  return n;
}

/** out is contiguous with `shape`; each operand is read at its strides from its storage start. */
function checkBroadcast(
  kernel: string,
  shape: readonly number[],
  out: Storage,
  operands: [string, Storage, readonly number[]][],
) {
  const size = product(shape, kernel);
  if (out.size !== size) expectSize(kernel, 'out', out, size, `product of shape [${shape.join(', ')}]`);
  for (const [role, s, strides] of operands) {
    expectWindow(kernel, role, s, shape, strides, 0);
    // Broadcast strides read forwards (0 along broadcast axes); an operand that is the output is
    // read where it is written.
    for (let d = 0; d < strides.length; d++) {
      if (!isCount(strides[d])) expectCount(kernel, `${role} strides[${d}]`, strides[d]);
    }
    if (s === out && strides.some((stride, d) => stride === 0 && (shape[d] as number) > 1)) {
      throw new Error(`${kernel}: ${role} is broadcast and also the output; it cannot run in place`);
    }
  }
}

function checkReduceLayout(
  kernel: string,
  x: Storage,
  out: Storage,
  layout: { outer: number; reduce: number; inner: number },
) {
  const outer = expectCount(kernel, 'outer', layout.outer);
  const reduce = expectCount(kernel, 'reduce', layout.reduce);
  const inner = expectCount(kernel, 'inner', layout.inner);
  expectSize(kernel, 'x', x, outer * reduce * inner, 'outer * reduce * inner');
  expectSize(kernel, 'out', out, outer * inner, 'outer * inner');
  if (reduce === 0 && outer * inner > 0) throw new RangeError(`${kernel}: cannot reduce an empty axis (reduce is 0)`);
}

function checkCausal(kernel: string, causal: { queryLen: number; offset: number } | undefined): void {
  if (causal === undefined) return;
  expectPositive(kernel, 'causal.queryLen', causal.queryLen);
  expectInteger(kernel, 'causal.offset', causal.offset);
}

function checkTargets(kernel: string, targets: Storage, rows: number, ignoreIndex: number): void {
  expectDType(kernel, 'targets', targets, ['int32']);
  expectSize(kernel, 'targets', targets, rows, 'rows');
  expectInteger(kernel, 'ignoreIndex', ignoreIndex);
}

function expectWholeRows(kernel: string, role: string, s: Storage, dim: number): void {
  if (s.size % dim !== 0)
    throw new RangeError(`${kernel}: ${role} has ${s.size} elements, not a whole number of rows of dim ${dim}`);
}

export const fill = defineKernel({
  name: 'fill',
  inputs: [],
  outputs: ['out'],
  check(_io, { value }) {
    if (typeof value !== 'number') throw new TypeError(`fill: value must be a number; got ${typeof value}`);
  },
});

export const random = defineKernel({
  name: 'random',
  inputs: [],
  outputs: ['out'],
  check({ out }, { distribution, seed, offset }) {
    expectFloating('random', 'out', out);
    if (distribution !== 'uniform' && distribution !== 'normal') {
      throw new RangeError(`random: distribution must be "uniform" or "normal"; got ${JSON.stringify(distribution)}`);
    }
    const words = seed as readonly unknown[];
    if (
      !Array.isArray(words) ||
      words.length !== 2 ||
      words.some((w) => !Number.isInteger(w) || (w as number) < 0 || (w as number) > 0xffffffff)
    ) {
      throw new RangeError(`random: seed must be two unsigned 32-bit words [low, high]; got ${JSON.stringify(seed)}`);
    }
    expectCount('random', 'offset', offset);
  },
});

export const cast = defineKernel({
  name: 'cast',
  inputs: ['x'],
  outputs: ['out'],
  check({ x, out }) {
    expectSize('cast', 'out', out, x.size, 'x.size');
  },
});

export const copy = defineKernel({
  name: 'copy',
  inputs: ['src'],
  outputs: ['dst'],
  check({ src, dst }, { srcView, dstView }) {
    if (src.dtype !== dst.dtype) {
      throw new TypeError(
        `copy: src is ${src.dtype} and dst is ${dst.dtype}; copy keeps the dtype (use cast to convert)`,
      );
    }
    product(srcView.shape, 'copy');
    expectSameShape('copy', ['src view', 'dst view'], srcView.shape, dstView.shape);
    expectWindow('copy', 'src view', src, srcView.shape, srcView.strides, srcView.offset);
    expectWindow('copy', 'dst view', dst, dstView.shape, dstView.strides, dstView.offset);
    expectDistinct('copy', { src, dst });
  },
});

export const unary = defineKernel({
  name: 'unary',
  inputs: ['x'],
  outputs: ['out'],
  check({ x, out }, { op }) {
    expectOp('unary', op, UNARY_OPS);
    expectSize('unary', 'out', out, x.size, 'x.size');
  },
});

export const binary = defineKernel({
  name: 'binary',
  inputs: ['a', 'b'],
  outputs: ['out'],
  check({ a, b, out }, { op, shape, aStrides, bStrides }) {
    expectOp('binary', op, BINARY_OPS);
    if (BINARY_OPS[op] === 'comparison') expectDType('binary', 'out', out, ['uint8']);
    checkBroadcast('binary', shape, out, [
      ['a', a, aStrides],
      ['b', b, bStrides],
    ]);
  },
});

export const where = defineKernel({
  name: 'where',
  inputs: ['cond', 'a', 'b'],
  outputs: ['out'],
  check({ cond, a, b, out }, { shape, aStrides, bStrides, condStrides }) {
    if (condStrides === undefined) throw new TypeError('where: condStrides is required');
    checkBroadcast('where', shape, out, [
      ['cond', cond, condStrides],
      ['a', a, aStrides],
      ['b', b, bStrides],
    ]);
  },
});

export const reduce = defineKernel({
  name: 'reduce',
  inputs: ['x'],
  outputs: ['out'],
  check({ x, out }, params) {
    expectOp('reduce', params.op, REDUCE_OPS);
    if (params.op === 'sum') {
      expectCount('reduce', 'outer', params.outer);
      expectCount('reduce', 'reduce', params.reduce);
      expectCount('reduce', 'inner', params.inner);
      expectSize('reduce', 'x', x, params.outer * params.reduce * params.inner, 'outer * reduce * inner');
      expectSize('reduce', 'out', out, params.outer * params.inner, 'outer * inner');
    } else checkReduceLayout('reduce', x, out, params);
  },
});

export const argmax = defineKernel({
  name: 'argmax',
  inputs: ['x'],
  outputs: ['out'],
  check({ x, out }, layout) {
    expectDType('argmax', 'out', out, ['int32']);
    checkReduceLayout('argmax', x, out, layout);
  },
});

export const matmul = defineKernel({
  name: 'matmul',
  inputs: ['a', 'b'],
  outputs: ['out'],
  check({ a, b, out }, params) {
    const k = 'matmul';
    const { batch, m, n, aBatchStride, bBatchStride } = params;
    expectCount(k, 'batch', batch);
    expectCount(k, 'm', m);
    expectCount(k, 'n', n);
    expectCount(k, 'k', params.k);
    expectCount(k, 'aBatchStride', aBatchStride);
    expectCount(k, 'bBatchStride', bBatchStride);
    if (typeof params.transA !== 'boolean' || typeof params.transB !== 'boolean') {
      throw new TypeError(`${k}: transA and transB must be booleans; got ${params.transA} and ${params.transB}`);
    }
    expectFloats(k, { a, b, out });
    expectDistinct(k, { out, a });
    expectDistinct(k, { out, b });
    expectSize(k, 'out', out, batch * m * n, 'batch * m * n');
    if (batch === 0) return;
    if (m * params.k > 0)
      expectAtLeast(k, 'a', a, (batch - 1) * aBatchStride + m * params.k, '(batch - 1) * aBatchStride + m * k');
    if (params.k * n > 0)
      expectAtLeast(k, 'b', b, (batch - 1) * bBatchStride + params.k * n, '(batch - 1) * bBatchStride + k * n');
  },
});

export const svd = defineKernel({
  name: 'svd',
  inputs: ['a'],
  outputs: ['u', 's', 'vt'],
  check({ a, u, s, vt }, { m, n }) {
    expectCount('svd', 'm', m);
    expectCount('svd', 'n', n);
    expectFloats('svd', { a, u, s, vt });
    const k = Math.min(m, n);
    expectSize('svd', 'a', a, m * n, 'm * n');
    expectSize('svd', 'u', u, m * k, 'm * min(m, n)');
    expectSize('svd', 's', s, k, 'min(m, n)');
    expectSize('svd', 'vt', vt, k * n, 'min(m, n) * n');
  },
});

export const qr = defineKernel({
  name: 'qr',
  inputs: ['a'],
  outputs: ['q', 'r'],
  check({ a, q, r }, { m, n }) {
    expectCount('qr', 'm', m);
    expectCount('qr', 'n', n);
    if (m < n) throw new RangeError(`qr: needs m >= n (thin QR of a tall or square matrix); got m = ${m}, n = ${n}`);
    expectFloats('qr', { a, q, r });
    expectSize('qr', 'a', a, m * n, 'm * n');
    expectSize('qr', 'q', q, m * n, 'm * n');
    expectSize('qr', 'r', r, n * n, 'n * n');
  },
});

export const gatherRows = defineKernel({
  name: 'gatherRows',
  inputs: ['table', 'ids'],
  outputs: ['out'],
  check({ table, ids, out }, { dim }) {
    expectPositive('gatherRows', 'dim', dim);
    expectDType('gatherRows', 'ids', ids, ['int32']);
    expectWholeRows('gatherRows', 'table', table, dim);
    expectSize('gatherRows', 'out', out, ids.size * dim, 'ids.size * dim');
    if (out.dtype !== table.dtype)
      throw new TypeError(`gatherRows: out is ${out.dtype} but table is ${table.dtype}; they must match`);
    expectDistinct('gatherRows', { table, out });
  },
});

export const scatterAddRows = defineKernel({
  name: 'scatterAddRows',
  inputs: ['src', 'ids'],
  outputs: ['out'],
  check({ src, ids, out }, { dim }) {
    expectPositive('scatterAddRows', 'dim', dim);
    expectDType('scatterAddRows', 'ids', ids, ['int32']);
    expectFloats('scatterAddRows', { src, out });
    expectSize('scatterAddRows', 'src', src, ids.size * dim, 'ids.size * dim');
    expectWholeRows('scatterAddRows', 'out', out, dim);
    expectDistinct('scatterAddRows', { src, out });
  },
});

/** softmax and logSoftmax: rows of x to rows of out (not in place: rows are read twice). */
function softmaxKernel<K extends 'softmax' | 'logSoftmax'>(name: K) {
  return defineKernel({
    name,
    inputs: ['x'],
    outputs: ['out'],
    check({ x, out }, { rows, cols, causal }) {
      expectRows(name, rows, cols, { x, out });
      expectDistinct(name, { x, out });
      checkCausal(name, causal);
    },
  });
}

/** Their backward passes: dx from y and dy (dx must not alias either). */
function softmaxBackwardKernel<K extends 'softmaxBackward' | 'logSoftmaxBackward'>(name: K) {
  return defineKernel({
    name,
    inputs: ['y', 'dy'],
    outputs: ['dx'],
    check({ y, dy, dx }, { rows, cols }) {
      expectRows(name, rows, cols, { y, dy, dx });
      expectDistinct(name, { y, dx });
      expectDistinct(name, { dy, dx });
    },
  });
}

export const softmax = softmaxKernel('softmax');
export const logSoftmax = softmaxKernel('logSoftmax');
export const softmaxBackward = softmaxBackwardKernel('softmaxBackward');
export const logSoftmaxBackward = softmaxBackwardKernel('logSoftmaxBackward');

export const crossEntropy = defineKernel({
  name: 'crossEntropy',
  inputs: ['logits', 'targets'],
  outputs: ['loss'],
  check({ logits, targets, loss }, { rows, cols, ignoreIndex }) {
    expectRows('crossEntropy', rows, cols, { logits });
    checkTargets('crossEntropy', targets, rows, ignoreIndex);
    expectFloating('crossEntropy', 'loss', loss);
    expectSize('crossEntropy', 'loss', loss, rows, 'rows');
    expectDistinct('crossEntropy', { logits, loss });
  },
});

export const crossEntropyBackward = defineKernel({
  name: 'crossEntropyBackward',
  inputs: ['logits', 'targets', 'dloss'],
  outputs: ['dx'],
  check({ logits, targets, dloss, dx }, { rows, cols, ignoreIndex }) {
    expectRows('crossEntropyBackward', rows, cols, { logits, dx });
    checkTargets('crossEntropyBackward', targets, rows, ignoreIndex);
    expectFloating('crossEntropyBackward', 'dloss', dloss);
    expectSize('crossEntropyBackward', 'dloss', dloss, rows, 'rows');
    expectDistinct('crossEntropyBackward', { logits, dx });
  },
});

export const rmsNorm = defineKernel({
  name: 'rmsNorm',
  inputs: ['x', 'weight'],
  outputs: ['out', 'rstd'],
  check({ x, weight, out, rstd }, { rows, cols, eps }) {
    expectRows('rmsNorm', rows, cols, { x, out });
    expectFloats('rmsNorm', { weight, rstd });
    expectSize('rmsNorm', 'weight', weight, cols, 'cols');
    expectSize('rmsNorm', 'rstd', rstd, rows, 'rows');
    expectDistinct('rmsNorm', { x, out });
    if (typeof eps !== 'number' || !(eps >= 0))
      throw new RangeError(`rmsNorm: eps must be a non-negative number; got ${eps}`);
  },
});

export const rmsNormBackward = defineKernel({
  name: 'rmsNormBackward',
  inputs: ['x', 'weight', 'rstd', 'dy'],
  outputs: ['dx', 'dweight'],
  check({ x, weight, rstd, dy, dx, dweight }, { rows, cols }) {
    expectRows('rmsNormBackward', rows, cols, { x, dy, dx });
    expectFloats('rmsNormBackward', { weight, rstd, dweight });
    expectSize('rmsNormBackward', 'weight', weight, cols, 'cols');
    expectSize('rmsNormBackward', 'dweight', dweight, cols, 'cols');
    expectSize('rmsNormBackward', 'rstd', rstd, rows, 'rows');
    expectOutputsApart('rmsNormBackward', { x, weight, rstd, dy }, { dx, dweight });
  },
});

export const layerNorm = defineKernel({
  name: 'layerNorm',
  inputs: ['x', 'weight', 'bias'],
  outputs: ['out', 'mean', 'rstd'],
  check({ x, weight, bias, out, mean, rstd }, { rows, cols, eps }) {
    expectRows('layerNorm', rows, cols, { x, out });
    expectFloats('layerNorm', { weight, bias, mean, rstd });
    expectSize('layerNorm', 'weight', weight, cols, 'cols');
    expectSize('layerNorm', 'bias', bias, cols, 'cols');
    expectSize('layerNorm', 'mean', mean, rows, 'rows');
    expectSize('layerNorm', 'rstd', rstd, rows, 'rows');
    expectDistinct('layerNorm', { x, out });
    if (typeof eps !== 'number' || !(eps >= 0))
      throw new RangeError(`layerNorm: eps must be a non-negative number; got ${eps}`);
  },
});

export const layerNormBackward = defineKernel({
  name: 'layerNormBackward',
  inputs: ['x', 'weight', 'mean', 'rstd', 'dy'],
  outputs: ['dx', 'dweight', 'dbias'],
  check({ x, weight, mean, rstd, dy, dx, dweight, dbias }, { rows, cols }) {
    const k = 'layerNormBackward';
    expectRows(k, rows, cols, { x, dy, dx });
    expectFloats(k, { weight, mean, rstd, dweight, dbias });
    expectSize(k, 'weight', weight, cols, 'cols');
    expectSize(k, 'dweight', dweight, cols, 'cols');
    expectSize(k, 'dbias', dbias, cols, 'cols');
    expectSize(k, 'mean', mean, rows, 'rows');
    expectSize(k, 'rstd', rstd, rows, 'rows');
    for (const [role, s] of Object.entries({ x, weight, mean, rstd, dy })) {
      for (const [outRole, o] of Object.entries({ dx, dweight, dbias })) expectDistinct(k, { [role]: s, [outRole]: o });
    }
    expectDistinct(k, { dweight, dbias });
  },
});

const ATTENTION_LAYOUTS: readonly AttentionLayout[] = ['sequence', 'heads'];

/**
 * Counts and lengths (kvHeads dividing heads), a known layout, same floating dtype everywhere,
 * sizes by role, outputs apart from inputs.
 */
function checkAttention(
  kernel: string,
  params: AttentionParams,
  byQuery: Record<string, Storage>,
  byKey: Record<string, Storage>,
  outputs: Record<string, Storage>,
): void {
  const { batch, queryLen, keyLen, heads, kvHeads, dim, scale, layout } = params;
  expectCount(kernel, 'batch', batch);
  expectCount(kernel, 'queryLen', queryLen);
  expectCount(kernel, 'keyLen', keyLen);
  expectPositive(kernel, 'heads', heads);
  expectPositive(kernel, 'kvHeads', kvHeads);
  if (heads % kvHeads !== 0) throw new RangeError(`${kernel}: kvHeads (${kvHeads}) must divide heads (${heads})`);
  expectCount(kernel, 'dim', dim);
  if (typeof scale !== 'number' || !(scale > 0) || !Number.isFinite(scale))
    throw new RangeError(`${kernel}: scale must be a positive finite number; got ${String(scale)}`);
  if (!ATTENTION_LAYOUTS.includes(layout))
    throw new RangeError(`${kernel}: layout must be ${orList(ATTENTION_LAYOUTS)}; got ${String(layout)}`);
  // Loops over the roles without entry arrays or merged objects: this runs on every attention call.
  let dtype: Storage['dtype'] | undefined;
  for (const role in byQuery) dtype ??= byQuery[role]!.dtype;
  checkAttentionGroup(kernel, byQuery, dtype!, batch * queryLen * heads * dim, 'batch * queryLen * heads * dim');
  checkAttentionGroup(kernel, byKey, dtype!, batch * keyLen * kvHeads * dim, 'batch * keyLen * kvHeads * dim');
  for (const role in outputs) {
    expectNotIn(kernel, role, outputs[role]!, byQuery);
    expectNotIn(kernel, role, outputs[role]!, byKey);
  }
}

/** Each storage of `group` holds floats of `dtype`, `size` of them. */
function checkAttentionGroup(
  kernel: string,
  group: Record<string, Storage>,
  dtype: Storage['dtype'],
  size: number,
  formula: string,
): void {
  for (const role in group) {
    const s = group[role]!;
    expectFloating(kernel, role, s);
    if (s.dtype !== dtype) expectDType(kernel, role, s, [dtype]);
    expectSize(kernel, role, s, size, formula);
  }
}

/** The output `role` is none of the other storages of `group`. */
function expectNotIn(kernel: string, role: string, s: Storage, group: Record<string, Storage>): void {
  for (const other in group) {
    if (other !== role && group[other] === s)
      throw new Error(`${kernel}: ${role} and ${other} must be different storages (the kernel cannot run in place)`);
  }
}

export const causalAttention = defineKernel({
  name: 'causalAttention',
  inputs: ['q', 'k', 'v'],
  outputs: ['out'],
  check({ q, k, v, out }, params) {
    checkAttention('causalAttention', params, { q, out }, { k, v }, { out });
  },
  fallback: composedAttention,
});

export const causalAttentionBackward = defineKernel({
  name: 'causalAttentionBackward',
  inputs: ['q', 'k', 'v', 'dout'],
  outputs: ['dq', 'dk', 'dv'],
  check({ q, k, v, dout, dq, dk, dv }, params) {
    checkAttention('causalAttentionBackward', params, { q, dout, dq }, { k, v, dk, dv }, { dq, dk, dv });
  },
  fallback: composedAttentionBackward,
});

export const rope = defineKernel({
  name: 'rope',
  inputs: ['x', 'cos', 'sin'],
  outputs: ['out'],
  check({ x, cos, sin, out }, { batch, seq, heads, headDim, inverse }) {
    for (const [name, value] of Object.entries({ batch, seq, heads, headDim })) expectCount('rope', name, value);
    if (headDim % 2 !== 0) throw new RangeError(`rope: headDim must be even; got ${headDim}`);
    if (typeof inverse !== 'boolean') throw new TypeError(`rope: inverse must be a boolean; got ${String(inverse)}`);
    expectFloats('rope', { x, cos, sin, out });
    expectSize('rope', 'x', x, batch * seq * heads * headDim, 'batch * seq * heads * headDim');
    expectSize('rope', 'out', out, x.size, 'x.size');
    expectDistinct('rope', { x, out });
    expectSize('rope', 'cos', cos, (seq * headDim) / 2, 'seq * headDim / 2');
    expectSize('rope', 'sin', sin, (seq * headDim) / 2, 'seq * headDim / 2');
  },
});

export const siluMul = defineKernel({
  name: 'siluMul',
  inputs: ['gate', 'up'],
  outputs: ['out'],
  check(io) {
    expectFloats('siluMul', io);
    expectSameSize('siluMul', io);
  },
});

export const siluMulBackward = defineKernel({
  name: 'siluMulBackward',
  inputs: ['gate', 'up', 'dy'],
  outputs: ['dgate', 'dup'],
  check(io) {
    expectFloats('siluMulBackward', io);
    expectSameSize('siluMulBackward', io);
  },
});

export const gelu = defineKernel({
  name: 'gelu',
  inputs: ['x'],
  outputs: ['out'],
  check(io) {
    expectFloats('gelu', io);
    expectSameSize('gelu', io);
  },
});

export const geluBackward = defineKernel({
  name: 'geluBackward',
  inputs: ['x', 'dy'],
  outputs: ['dx'],
  check(io) {
    expectFloats('geluBackward', io);
    expectSameSize('geluBackward', io);
  },
});

export const adamw = defineKernel({
  name: 'adamw',
  inputs: ['grad'],
  outputs: ['param', 'm', 'v'],
  check({ param, grad, m, v }, params) {
    for (const key of ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'biasCorrection1', 'biasCorrection2'] as const) {
      expectFinite('adamw', key, params[key]);
    }
    for (const key of ['biasCorrection1', 'biasCorrection2'] as const) {
      if (!(params[key] > 0)) throw new RangeError(`adamw: ${key} must be > 0 (it is 1 - beta^t); got ${params[key]}`);
    }
    const io = { param, grad, m, v };
    expectFloats('adamw', io);
    expectSameSize('adamw', io);
    if (param === grad || param === m || param === v || grad === m || grad === v || m === v)
      throw new Error('adamw: param, grad, m and v must be four different storages');
  },
});
