/**
 * causalAttention and its backward pass composed of core kernels, for a backend without a fused
 * implementation: the whole [heads, queryLen, keyLen] probability matrix is materialised (the
 * backward pass recomputes it rather than keeping it from the forward pass). 16-bit inputs are
 * computed in float32 and rounded once at the end, as the CPU's fused kernel does.
 */
import type { AttentionParams, Backend, KernelIO, MatmulParams, Storage } from '../backend.js';

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

/** softmax(q k^T * scale) under the causal mask, as a new [heads, queryLen, keyLen] storage. */
function probabilities(backend: Backend, q: Storage, k: Storage, params: AttentionParams): Storage {
  const { heads, queryLen, keyLen, dim, scale } = params;
  const scores = backend.alloc(heads * queryLen * keyLen, q.dtype, 'other');
  multiply(backend, [q, k, scores], [heads, queryLen, keyLen, dim], [false, true], [queryLen * dim, keyLen * dim]);
  scaleInPlace(backend, scores, scale);
  const probs = backend.alloc(scores.size, q.dtype, 'other');
  const causal = { queryLen, offset: keyLen - queryLen };
  backend.run('softmax', { x: scores, out: probs }, { rows: heads * queryLen, cols: keyLen, causal });
  backend.free(scores);
  return probs;
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
  inFloat32(backend, io, ['out'], (wide) => attentionIn(backend, wide, params));
}

export function composedAttentionBackward(backend: Backend, io: BackwardIO, params: AttentionParams): void {
  inFloat32(backend, io, ['dq', 'dk', 'dv'], (wide) => attentionBackwardIn(backend, wide, params));
}

function attentionIn(backend: Backend, { q, k, v, out }: ForwardIO, params: AttentionParams): void {
  const { heads, queryLen, keyLen, dim } = params;
  const probs = probabilities(backend, q, k, params);
  multiply(backend, [probs, v, out], [heads, queryLen, dim, keyLen], [false, false], [queryLen * keyLen, keyLen * dim]);
  backend.free(probs);
}

function attentionBackwardIn(backend: Backend, io: BackwardIO, params: AttentionParams): void {
  const { q, k, v, dout, dq, dk, dv } = io;
  const { heads, queryLen, keyLen, dim, scale } = params;
  const [qStride, kStride, pStride] = [queryLen * dim, keyLen * dim, queryLen * keyLen];
  const probs = probabilities(backend, q, k, params);
  const dprobs = backend.alloc(probs.size, q.dtype, 'other');
  multiply(backend, [dout, v, dprobs], [heads, queryLen, keyLen, dim], [false, true], [qStride, kStride]);
  multiply(backend, [probs, dout, dv], [heads, keyLen, dim, queryLen], [true, false], [pStride, qStride]);
  const dscores = backend.alloc(probs.size, q.dtype, 'other');
  backend.run('softmaxBackward', { y: probs, dy: dprobs, dx: dscores }, { rows: heads * queryLen, cols: keyLen });
  backend.free(probs);
  backend.free(dprobs);
  scaleInPlace(backend, dscores, scale);
  multiply(backend, [dscores, k, dq], [heads, queryLen, dim, keyLen], [false, false], [pStride, kStride]);
  multiply(backend, [dscores, q, dk], [heads, keyLen, dim, queryLen], [true, false], [pStride, qStride]);
  backend.free(dscores);
}
