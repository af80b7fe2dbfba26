/**
 * causalAttention and its backward pass composed of core kernels, for a backend without a fused
 * implementation: the whole [batch, heads, queryLen, keyLen] probability matrix is materialised
 * (the backward pass recomputes it rather than keeping it from the forward pass). 'sequence'
 * layouts are permuted into heads order and back; grouped-query heads need no repeat, as a kv
 * head's query group forms one matrix. 16-bit inputs are computed in float32 and rounded once at
 * the end, as the CPU's fused kernel does.
 */
import type { AttentionParams, Backend, KernelIO, MatmulParams, Storage, View } from '../backend.js';

type ForwardIO = KernelIO<'causalAttention'>;
type BackwardIO = KernelIO<'causalAttentionBackward'>;

/** out = a b for every head: [m, k] by [k, n] operands, either stored transposed. */
function multiply(
  backend: Backend,
  [a, b, out]: [Storage, Storage, Storage],
  [heads, m, n, k]: [number, number, number, number],
  [transA, transB]: [boolean, boolean],
  [aBatchStride, bBatchStride]: [number, number],
): void {
  const params: MatmulParams = { batch: heads, m, n, k, transA, transB, aBatchStride, bBatchStride };
  backend.run('matmul', { a, b, out }, params);
}

/** x *= scale in place (scale held in a one-element storage broadcast over x). */
function scaleInPlace(backend: Backend, x: Storage, scale: number): void {
  const factor = backend.alloc(1, x.dtype, 'other');
  backend.run('fill', { out: factor }, { value: scale });
  backend.run('binary', { a: x, b: factor, out: x }, { shape: [x.size], aStrides: [1], bStrides: [0], op: 'mul' });
  backend.free(factor);
}

/**
 * Heads-major shapes: in [batch, kvHeads, group, len, dim] a kv head's query group is one
 * [group * queryLen, dim] matrix, so every product is a matmul batched over (batch, kv head).
 */
function groups({ batch, heads, kvHeads }: AttentionParams): { count: number; rows: number } {
  return { count: batch * kvHeads, rows: heads / kvHeads };
}

/** softmax(q k^T * scale) under the causal mask, as a new [batch, heads, queryLen, keyLen] storage. */
function probabilities(backend: Backend, q: Storage, k: Storage, params: AttentionParams): Storage {
  const { batch, heads, queryLen, keyLen, dim, scale } = params;
  const { count, rows } = groups(params);
  const scores = backend.alloc(batch * heads * queryLen * keyLen, q.dtype, 'other');
  const m = rows * queryLen;
  multiply(backend, [q, k, scores], [count, m, keyLen, dim], [false, true], [m * dim, keyLen * dim]);
  scaleInPlace(backend, scores, scale);
  const probs = backend.alloc(scores.size, q.dtype, 'other');
  const causal = { queryLen, offset: keyLen - queryLen };
  backend.run('softmax', { x: scores, out: probs }, { rows: batch * heads * queryLen, cols: keyLen, causal });
  backend.free(scores);
  return probs;
}

/** [batch, len, count, dim] as [batch, count, len, dim]: the view of a 'sequence' tensor in heads order. */
function headsView(params: AttentionParams, count: number, len: number): View {
  const { batch, dim } = params;
  return { shape: [batch, count, len, dim], strides: [len * count * dim, dim, count * dim, 1], offset: 0 };
}

function denseView(shape: readonly number[]): View {
  const strides = shape.map((_, axis) => shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  return { shape, strides, offset: 0 };
}

/** Roles shaped like the queries; the others (k, v, dk, dv) are shaped like the keys. */
const QUERY_ROLES: ReadonlySet<string> = new Set(['q', 'out', 'dout', 'dq']);

/**
 * Runs `compute` on the 'heads' layout: 'sequence' storages are copied into heads order (outputs
 * copied back afterwards); 'heads' storages are passed as they are.
 */
function inHeadsLayout<IO extends Record<string, Storage>>(
  backend: Backend,
  io: IO,
  params: AttentionParams,
  outputs: readonly (keyof IO)[],
  compute: (io: IO) => void,
): void {
  if (params.layout === 'heads') {
    compute(io);
    return;
  }
  const { heads, kvHeads, queryLen, keyLen } = params;
  const views = Object.fromEntries(
    Object.keys(io).map((role) => {
      const [count, len] = QUERY_ROLES.has(role) ? [heads, queryLen] : [kvHeads, keyLen];
      return [role, headsView(params, count, len)];
    }),
  ) as Record<keyof IO, View>;
  const permuted = Object.fromEntries(
    Object.entries(io).map(([role, s]) => {
      const copy = backend.alloc(s.size, s.dtype, 'other');
      const dstView = denseView(views[role as keyof IO].shape);
      if (!outputs.includes(role)) backend.run('copy', { src: s, dst: copy }, { srcView: views[role]!, dstView });
      return [role, copy];
    }),
  ) as IO;
  compute(permuted);
  for (const role of outputs) {
    const srcView = denseView(views[role].shape);
    backend.run('copy', { src: permuted[role]!, dst: io[role]! }, { srcView, dstView: views[role] });
  }
  for (const s of Object.values(permuted)) backend.free(s);
}

/**
 * Runs `compute` on float32 copies of 16-bit storages (casting the outputs back afterwards), or on
 * the storages themselves for float32 and float64.
 */
function inFloat32<IO extends Record<string, Storage>>(
  backend: Backend,
  io: IO,
  outputs: readonly (keyof IO)[],
  compute: (io: IO) => void,
): void {
  const dtype = Object.values(io)[0]!.dtype;
  if (dtype !== 'float16' && dtype !== 'bfloat16') {
    compute(io);
    return;
  }
  const wide = Object.fromEntries(
    Object.entries(io).map(([role, s]) => {
      const copy = backend.alloc(s.size, 'float32', 'other');
      if (!outputs.includes(role)) backend.run('cast', { x: s, out: copy }, {});
      return [role, copy];
    }),
  ) as IO;
  compute(wide);
  for (const role of outputs) backend.run('cast', { x: wide[role]!, out: io[role]! }, {});
  for (const s of Object.values(wide)) backend.free(s);
}

export function composedAttention(backend: Backend, io: ForwardIO, params: AttentionParams): void {
  inFloat32(backend, io, ['out'], (wide) =>
    inHeadsLayout(backend, wide, params, ['out'], (heads) => attentionIn(backend, heads, params)),
  );
}

export function composedAttentionBackward(backend: Backend, io: BackwardIO, params: AttentionParams): void {
  const outputs = ['dq', 'dk', 'dv'] as const;
  inFloat32(backend, io, outputs, (wide) =>
    inHeadsLayout(backend, wide, params, outputs, (heads) => attentionBackwardIn(backend, heads, params)),
  );
}

function attentionIn(backend: Backend, { q, k, v, out }: ForwardIO, params: AttentionParams): void {
  const { queryLen, keyLen, dim } = params;
  const { count, rows } = groups(params);
  const m = rows * queryLen;
  const probs = probabilities(backend, q, k, params);
  multiply(backend, [probs, v, out], [count, m, dim, keyLen], [false, false], [m * keyLen, keyLen * dim]);
  backend.free(probs);
}

/** dV and dK sum over each kv head's query group: the group's rows are one matrix's rows. */
function attentionBackwardIn(backend: Backend, io: BackwardIO, params: AttentionParams): void {
  const { q, k, v, dout, dq, dk, dv } = io;
  const { queryLen, keyLen, dim, scale } = params;
  const { count, rows } = groups(params);
  const m = rows * queryLen;
  const [qStride, kStride, pStride] = [m * dim, keyLen * dim, m * keyLen];
  const probs = probabilities(backend, q, k, params);
  const dprobs = backend.alloc(probs.size, q.dtype, 'other');
  multiply(backend, [dout, v, dprobs], [count, m, keyLen, dim], [false, true], [qStride, kStride]);
  multiply(backend, [probs, dout, dv], [count, keyLen, dim, m], [true, false], [pStride, qStride]);
  const dscores = backend.alloc(probs.size, q.dtype, 'other');
  const softmaxRows = { rows: count * m, cols: keyLen };
  backend.run('softmaxBackward', { y: probs, dy: dprobs, dx: dscores }, softmaxRows);
  backend.free(probs);
  backend.free(dprobs);
  scaleInPlace(backend, dscores, scale);
  multiply(backend, [dscores, k, dq], [count, m, dim, keyLen], [false, false], [pStride, kStride]);
  multiply(backend, [dscores, q, dk], [count, keyLen, dim, m], [true, false], [pStride, qStride]);
  backend.free(dscores);
}
