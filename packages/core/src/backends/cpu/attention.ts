/**
 * Fused causal attention, one (batch, head) at a time, reading each head's rows where they lie:
 * in the 'sequence' layout [batch, seq, heads, dim] a head's rows are heads * dim apart, which the
 * GEMMs take as a leading dimension, so neither the model nor this kernel permutes anything, and
 * a grouped-query head reads its kv head in place. A head's scores come from one GEMM (in blocks
 * of query rows for long sequences, each against only the keys its last row sees), are scaled,
 * masked and softmaxed in place and meet V in a second GEMM, so at most a block of probabilities
 * exists at once. The backward pass recomputes each block's probabilities the same way (nothing is
 * kept between the passes) and accumulates dK and dV (summing over a kv head's query group).
 * The row passes between the GEMMs run on WebAssembly SIMD for float32 (attention-simd.ts).
 */
import type { AttentionParams } from '../../backend.js';
import { type SimdBlocks, simdBlocks } from './attention-simd.js';
import type { BlasLibrary } from './blas-loader.js';
import { expFor } from './fast-exp.js';
import { type GemmOperand, gemm } from './gemm.js';
import { type FloatValues, openFloatOutput, type Precision, precisionOf, readFloats } from './numeric.js';
import type { CpuStorage } from './storage.js';

/** What the backend lends the kernels: its BLAS (or null) and whether WebAssembly SIMD may run. */
export interface AttentionOptions {
  blas: BlasLibrary | null;
  simd: boolean;
}

/**
 * Heads with at most this many scores are done in one block: for short sequences one bigger GEMM
 * beats skipping the masked triangle with several small ones (each BLAS call has a fixed cost).
 */
const WHOLE_HEAD_SCORES = 64 * 64;
/** Query rows per block beyond that: small enough to skip most of the masked triangle. */
const BLOCK_ROWS = 64;

/** Where a head's rows start in one tensor and how far apart they lie. */
interface HeadRows {
  offset: number;
  stride: number;
}

/** Head `h` of batch entry `b` in a tensor of `count` heads by `len` rows. */
function headRows(params: AttentionParams, b: number, h: number, count: number, len: number): HeadRows {
  const { dim } = params;
  return params.layout === 'sequence'
    ? { offset: (b * len * count + h) * dim, stride: count * dim }
    : { offset: (b * count + h) * len * dim, stride: dim };
}

/** One (batch, head) pair: its query rows (q, out, dq, dout) and its kv head's rows (k, v, dk, dv). */
interface Head {
  query: HeadRows;
  key: HeadRows;
}

function* headsOf(params: AttentionParams): Generator<Head> {
  const { batch, heads, kvHeads, queryLen, keyLen } = params;
  const group = heads / kvHeads;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const query = headRows(params, b, h, heads, queryLen);
      yield { query, key: headRows(params, b, Math.floor(h / group), kvHeads, keyLen) };
    }
  }
}

/** Rows [r0, r0 + rows) of `at`'s head as a GEMM operand (transposed: its rows are op's columns). */
function rowsOf(data: FloatValues, at: HeadRows, r0: number, transposed = false): GemmOperand {
  return { data, offset: at.offset + r0 * at.stride, transposed, stride: at.stride };
}

/**
 * The row passes between the GEMMs on a block of scores (rows `stride` apart) in `p` and their
 * gradient in `dp`: the WebAssembly SIMD kernels (float32; rows padded to whole vectors) or JS
 * loops (float64, or without SIMD).
 */
interface RowKernels {
  p: FloatValues;
  dp: FloatValues;
  /** A block's row stride for `seen` keys. */
  stride(seen: number): number;
  /** Softmax of row i's first min(firstVisible + i, seen) scaled scores, 0 beyond (to `stride`). */
  softmax(rows: number, stride: number, seen: number, firstVisible: number): void;
  /** dS = P * (dP - rowsum(P * dP)) * scale in place of dP. */
  backward(rows: number, stride: number, seen: number): void;
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

function blockRows({ queryLen, keyLen }: AttentionParams): number {
  return queryLen * keyLen <= WHOLE_HEAD_SCORES ? Math.max(queryLen, 1) : BLOCK_ROWS;
}

function rowKernels(precision: Precision, params: AttentionParams, options: AttentionOptions): RowKernels {
  const size = blockRows(params) * roundUp(params.keyLen, 4);
  const blocks = precision === 'f32' && options.simd ? simdBlocks(size, params.scale) : null;
  return blocks ? simdRowKernels(blocks) : jsRowKernels(precision, size, params.scale);
}

function simdRowKernels(blocks: SimdBlocks): RowKernels {
  return {
    p: blocks.p,
    dp: blocks.dp,
    stride: (seen) => roundUp(seen, 4),
    softmax: blocks.softmax,
    backward: blocks.backward,
  };
}

/** JS scratch grown on demand and kept between calls, two per precision. */
const scratchPool: Record<Precision, FloatValues[]> = { f32: [], f64: [] };

function scratch(precision: Precision, slot: 0 | 1, size: number): FloatValues {
  const pool = scratchPool[precision];
  const held = pool[slot];
  if (held && held.length >= size) return held;
  const fresh = precision === 'f32' ? new Float32Array(size) : new Float64Array(size);
  pool[slot] = fresh;
  return fresh;
}

function jsRowKernels(precision: Precision, size: number, scale: number): RowKernels {
  const [p, dp] = [scratch(precision, 0, size), scratch(precision, 1, size)];
  const exp = expFor(precision);
  return {
    p,
    dp,
    stride: (seen) => seen,
    softmax(rows, stride, seen, firstVisible) {
      for (let i = 0; i < rows; i++) {
        const visible = Math.max(0, Math.min(seen, firstVisible + i));
        softmaxRow(p, i * stride, visible, seen, scale, exp);
      }
    },
    backward(rows, stride, seen) {
      for (let i = 0; i < rows; i++) {
        const [base, end] = [i * stride, i * stride + seen];
        let total = 0;
        for (let j = base; j < end; j++) total += (p[j] as number) * (dp[j] as number);
        for (let j = base; j < end; j++) dp[j] = (p[j] as number) * ((dp[j] as number) - total) * scale;
      }
    },
  };
}

/** Scales, masks and softmaxes row `base` of p in place: `visible` keys of `seen`, the rest 0. */
function softmaxRow(
  p: FloatValues,
  base: number,
  visible: number,
  seen: number,
  scale: number,
  exp: (x: number) => number,
): void {
  const end = base + visible;
  let max = Number.NEGATIVE_INFINITY;
  for (let j = base; j < end; j++) {
    const s = p[j] as number;
    if (s > max) max = s;
  }
  let sum = 0;
  // scale > 0, so the maximum of the scaled scores is scale * max.
  if (max !== Number.NEGATIVE_INFINITY) {
    for (let j = base; j < end; j++) {
      const e = exp(((p[j] as number) - max) * scale);
      p[j] = e;
      sum += e;
    }
  }
  // No visible key (or all -Infinity scores): the row attends to nothing, as the softmax kernel.
  const inverse = sum > 0 ? 1 / sum : 0;
  for (let j = base; j < end; j++) p[j] = (p[j] as number) * inverse;
  p.fill(0, end, base + seen);
}

/** One block of query rows of a head, its probabilities in the row kernels' p. */
interface Block {
  head: Head;
  r0: number;
  rows: number;
  /** Keys the block's last row sees; the probabilities are [rows, seen], rows `stride` apart. */
  seen: number;
  stride: number;
}

/** What every block of one kernel call reads. */
interface Inputs {
  q: FloatValues;
  k: FloatValues;
  v: FloatValues;
  params: AttentionParams;
  precision: Precision;
  blas: BlasLibrary | null;
  rows: RowKernels;
}

function openInputs(q: CpuStorage, k: CpuStorage, v: CpuStorage, params: AttentionParams, options: AttentionOptions) {
  const precision = precisionOf(q, k, v);
  const rows = rowKernels(precision, params, options);
  return { q: readFloats(q), k: readFloats(k), v: readFloats(v), params, precision, blas: options.blas, rows };
}

/** C = or += op(A) op(B), C's rows `at.stride` apart from `at.offset`. */
function product(
  inputs: Inputs,
  [a, b, c]: [GemmOperand, GemmOperand, FloatValues],
  at: HeadRows,
  [m, n, k]: [number, number, number],
  overwrite: boolean,
): void {
  const problem = { a, b, c, cOffset: at.offset, cStride: at.stride, m, n, k, overwrite };
  gemm(problem, inputs.precision, inputs.blas);
}

/** Fills the row kernels' p with the probabilities of query rows [r0, r0 + rows) of `head`. */
function blockProbabilities(inputs: Inputs, head: Head, r0: number, rows: number): Block {
  const { params } = inputs;
  const { queryLen, keyLen, dim } = params;
  // Query row r sees keys j <= r + keyLen - queryLen.
  const firstVisible = r0 + keyLen - queryLen + 1;
  const seen = Math.max(0, Math.min(keyLen, firstVisible + rows - 1));
  const stride = inputs.rows.stride(seen);
  if (seen > 0) {
    const operands = [rowsOf(inputs.q, head.query, r0), rowsOf(inputs.k, head.key, 0, true), inputs.rows.p] as const;
    product(inputs, [...operands], { offset: 0, stride }, [rows, seen, dim], true);
    inputs.rows.softmax(rows, stride, seen, firstVisible);
  }
  return { head, r0, rows, seen, stride };
}

/** Calls `visit` for every block of every head after filling the row kernels' p. */
function forEachBlock(inputs: Inputs, visit: (block: Block) => void): void {
  const { queryLen } = inputs.params;
  const step = blockRows(inputs.params);
  for (const head of headsOf(inputs.params)) {
    for (let r0 = 0; r0 < queryLen; r0 += step)
      visit(blockProbabilities(inputs, head, r0, Math.min(step, queryLen - r0)));
  }
}

/** The block's probabilities (or their gradient) as a GEMM operand. */
function blockOperand(data: FloatValues, block: Block, transposed = false): GemmOperand {
  return { data, offset: 0, transposed, stride: block.stride };
}

/** The block's query rows of a query-shaped tensor, as a GEMM output. */
function queryRows({ head, r0 }: Block): HeadRows {
  return { offset: head.query.offset + r0 * head.query.stride, stride: head.query.stride };
}

export function causalAttention(
  q: CpuStorage,
  k: CpuStorage,
  v: CpuStorage,
  out: CpuStorage,
  params: AttentionParams,
  options: AttentionOptions,
): void {
  const inputs = openInputs(q, k, v, params, options);
  const target = openFloatOutput(out, inputs.precision);
  forEachBlock(inputs, (block) => {
    // A block that sees no key (k = 0) clears its rows.
    const operands = [blockOperand(inputs.rows.p, block), rowsOf(inputs.v, block.head.key, 0), target.values] as const;
    product(inputs, [...operands], queryRows(block), [block.rows, params.dim, block.seen], true);
  });
  target.commit();
}

/**
 * With P a block's probabilities and dO its output gradient: dV += P^T dO, dP = dO V^T,
 * dS = P * (dP - rowsum(P * dP)) * scale, dQ = dS K, dK += dS^T Q.
 */
export function causalAttentionBackward(
  io: Record<'q' | 'k' | 'v' | 'dout' | 'dq' | 'dk' | 'dv', CpuStorage>,
  params: AttentionParams,
  options: AttentionOptions,
): void {
  const inputs = openInputs(io.q, io.k, io.v, params, options);
  const { dim } = params;
  const { p, dp } = inputs.rows;
  const dout = readFloats(io.dout);
  const [dq, dk, dv] = [io.dq, io.dk, io.dv].map((s) => openFloatOutput(s, inputs.precision)) as [
    ReturnType<typeof openFloatOutput>,
    ReturnType<typeof openFloatOutput>,
    ReturnType<typeof openFloatOutput>,
  ];
  dk.values.fill(0);
  dv.values.fill(0);
  forEachBlock(inputs, (block) => {
    const { head, r0, rows, seen, stride } = block;
    const gradients = rowsOf(dout, head.query, r0);
    product(
      inputs,
      [gradients, rowsOf(inputs.v, head.key, 0, true), dp],
      { offset: 0, stride },
      [rows, seen, dim],
      true,
    );
    product(inputs, [blockOperand(p, block, true), gradients, dv.values], head.key, [seen, dim, rows], false);
    inputs.rows.backward(rows, stride, seen);
    product(
      inputs,
      [blockOperand(dp, block), rowsOf(inputs.k, head.key, 0), dq.values],
      queryRows(block),
      [rows, dim, seen],
      true,
    );
    product(
      inputs,
      [blockOperand(dp, block, true), rowsOf(inputs.q, head.query, r0), dk.values],
      head.key,
      [seen, dim, rows],
      false,
    );
  });
  for (const target of [dq, dk, dv]) target.commit();
}
