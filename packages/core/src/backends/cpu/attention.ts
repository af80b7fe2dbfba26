/**
 * Fused causal attention, one (batch, head) at a time, reading each head's rows where they lie:
 * in the 'sequence' layout [batch, seq, heads, dim] a head's rows are heads * dim apart, which the
 * GEMMs take as a leading dimension, so neither the model nor this kernel permutes anything, and
 * a grouped-query head reads its kv head in place. A head's scores come from one GEMM (in blocks
 * of query rows for long sequences, each against only the keys its last row sees), are scaled,
 * masked and softmaxed in place and meet V in a second GEMM, so at most a block of probabilities
 * exists at once. The backward pass recomputes each block's probabilities the same way (nothing is
 * kept between the passes) and accumulates dK and dV (summing over a kv head's query group).
 */
import type { AttentionParams } from '../../backend.js';
import type { BlasLibrary } from './blas-loader.js';
import { expFor } from './fast-exp.js';
import { type GemmOperand, gemm } from './gemm.js';
import { type FloatValues, openFloatOutput, type Precision, precisionOf, readFloats } from './numeric.js';
import type { CpuStorage } from './storage.js';

/**
 * Heads with at most this many scores are done in one block: for short sequences one bigger GEMM
 * beats skipping the masked triangle with several small ones (each BLAS call has a fixed cost).
 */
const WHOLE_HEAD_SCORES = 128 * 128;
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

/** Scratch grown on demand and kept between calls, two per precision (probabilities and their gradient). */
const scratchPool: Record<Precision, FloatValues[]> = { f32: [], f64: [] };

function scratch(precision: Precision, slot: 0 | 1, size: number): FloatValues {
  const pool = scratchPool[precision];
  const held = pool[slot];
  if (held && held.length >= size) return held;
  const fresh = precision === 'f32' ? new Float32Array(size) : new Float64Array(size);
  pool[slot] = fresh;
  return fresh;
}

/** Rows [r0, r0 + rows) of `at`'s head as a GEMM operand (transposed: its rows are op's columns). */
function rowsOf(data: FloatValues, at: HeadRows, r0: number, transposed = false): GemmOperand {
  return { data, offset: at.offset + r0 * at.stride, transposed, stride: at.stride };
}

function dense(data: FloatValues, width: number, transposed = false): GemmOperand {
  return { data, offset: 0, transposed, stride: width };
}

/** The keys the query at row `row` sees, at most `limit`. */
function visibleKeys(row: number, params: AttentionParams, limit: number): number {
  return Math.max(0, Math.min(limit, row + params.keyLen - params.queryLen + 1));
}

/** What every block of one kernel call reads. */
interface Inputs {
  q: FloatValues;
  k: FloatValues;
  v: FloatValues;
  params: AttentionParams;
  precision: Precision;
  blas: BlasLibrary | null;
}

function openInputs(q: CpuStorage, k: CpuStorage, v: CpuStorage, params: AttentionParams, blas: BlasLibrary | null) {
  const precision = precisionOf(q, k, v);
  return { q: readFloats(q), k: readFloats(k), v: readFloats(v), params, precision, blas } satisfies Inputs;
}

/** Scales, masks and softmaxes row `base` of p in place: `visible` keys of `seen`, the rest 0. */
function softmaxRow(
  p: FloatValues,
  base: number,
  visible: number,
  seen: number,
  scale: number,
  exp: (x: number) => number,
) {
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

/**
 * Probabilities of query rows [r0, r0 + rows) of `head` into p, row-major [rows, seen], where seen
 * is the keys the block's last row sees (returned); masked entries are 0.
 */
function blockProbabilities(inputs: Inputs, head: Head, r0: number, rows: number, p: FloatValues): number {
  const { params, precision } = inputs;
  const { keyLen, dim, scale } = params;
  const seen = visibleKeys(r0 + rows - 1, params, keyLen);
  if (seen === 0) return 0;
  const a = rowsOf(inputs.q, head.query, r0);
  const b = rowsOf(inputs.k, head.key, 0, true);
  gemm({ a, b, c: p, cOffset: 0, m: rows, n: seen, k: dim, overwrite: true }, precision, inputs.blas);
  const exp = expFor(precision);
  for (let i = 0; i < rows; i++) softmaxRow(p, i * seen, visibleKeys(r0 + i, params, seen), seen, scale, exp);
  return seen;
}

function blockRows({ queryLen, keyLen }: AttentionParams): number {
  return queryLen * keyLen <= WHOLE_HEAD_SCORES ? Math.max(queryLen, 1) : BLOCK_ROWS;
}

/** Calls `block(head, r0, rows, seen)` for every block of every head after filling `p`. */
function forEachBlock(
  inputs: Inputs,
  p: FloatValues,
  block: (head: Head, r0: number, rows: number, seen: number) => void,
): void {
  const { queryLen } = inputs.params;
  const step = blockRows(inputs.params);
  for (const head of headsOf(inputs.params)) {
    for (let r0 = 0; r0 < queryLen; r0 += step) {
      const rows = Math.min(step, queryLen - r0);
      block(head, r0, rows, blockProbabilities(inputs, head, r0, rows, p));
    }
  }
}

export function causalAttention(
  q: CpuStorage,
  k: CpuStorage,
  v: CpuStorage,
  out: CpuStorage,
  params: AttentionParams,
  blas: BlasLibrary | null,
): void {
  const inputs = openInputs(q, k, v, params, blas);
  const { precision } = inputs;
  const target = openFloatOutput(out, precision);
  const o = target.values;
  const p = scratch(precision, 0, blockRows(params) * params.keyLen);
  forEachBlock(inputs, p, ({ query, key }, r0, rows, seen) => {
    const at = query.offset + r0 * query.stride;
    const problem = { a: dense(p, seen), b: rowsOf(inputs.v, key, 0), c: o, cOffset: at, cStride: query.stride };
    gemm({ ...problem, m: rows, n: params.dim, k: seen, overwrite: true }, precision, blas);
  });
  target.commit();
}

/** dS = P * (dP - rowsum(P * dP)) * scale in place of dP, over the visible keys (0 beyond). */
function scoreGradients(
  p: FloatValues,
  dp: FloatValues,
  rows: number,
  seen: number,
  r0: number,
  params: AttentionParams,
) {
  const { scale } = params;
  for (let i = 0; i < rows; i++) {
    const base = i * seen;
    const end = base + visibleKeys(r0 + i, params, seen);
    let total = 0;
    for (let j = base; j < end; j++) total += (p[j] as number) * (dp[j] as number);
    for (let j = base; j < end; j++) dp[j] = (p[j] as number) * ((dp[j] as number) - total) * scale;
    dp.fill(0, end, base + seen);
  }
}

/**
 * With P a block's probabilities and dO its output gradient: dV += P^T dO, dP = dO V^T,
 * dS = P * (dP - rowsum(P * dP)) * scale, dQ = dS K, dK += dS^T Q.
 */
export function causalAttentionBackward(
  io: Record<'q' | 'k' | 'v' | 'dout' | 'dq' | 'dk' | 'dv', CpuStorage>,
  params: AttentionParams,
  blas: BlasLibrary | null,
): void {
  const inputs = openInputs(io.q, io.k, io.v, params, blas);
  const { dim } = params;
  const { precision } = inputs;
  const dout = readFloats(io.dout);
  const [dq, dk, dv] = [io.dq, io.dk, io.dv].map((s) => openFloatOutput(s, precision)) as [
    ReturnType<typeof openFloatOutput>,
    ReturnType<typeof openFloatOutput>,
    ReturnType<typeof openFloatOutput>,
  ];
  dk.values.fill(0);
  dv.values.fill(0);
  const size = blockRows(params) * params.keyLen;
  const p = scratch(precision, 0, size);
  const dp = scratch(precision, 1, size);
  const product = (a: GemmOperand, b: GemmOperand, c: FloatValues, at: HeadRows, mnk: number[], overwrite: boolean) =>
    gemm(
      { a, b, c, cOffset: at.offset, cStride: at.stride, m: mnk[0]!, n: mnk[1]!, k: mnk[2]!, overwrite },
      precision,
      blas,
    );
  forEachBlock(inputs, p, ({ query, key }, r0, rows, seen) => {
    const block = { offset: query.offset + r0 * query.stride, stride: query.stride };
    const gradients = rowsOf(dout, query, r0);
    product(gradients, rowsOf(inputs.v, key, 0, true), dp, { offset: 0, stride: seen }, [rows, seen, dim], true);
    product(dense(p, seen, true), gradients, dv.values, key, [seen, dim, rows], false);
    scoreGradients(p, dp, rows, seen, r0, params);
    product(dense(dp, seen), rowsOf(inputs.k, key, 0), dq.values, block, [rows, dim, seen], true);
    product(dense(dp, seen, true), rowsOf(inputs.q, query, r0), dk.values, key, [seen, dim, rows], false);
  });
  for (const target of [dq, dk, dv]) target.commit();
}
