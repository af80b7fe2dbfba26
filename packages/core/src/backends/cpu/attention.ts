/**
 * Fused causal attention, one head at a time in blocks of query rows. A block's scores come from
 * one GEMM against only the keys its last row can see; they are scaled, masked and softmaxed in
 * place and meet V in a second GEMM, so at most a block of probabilities exists at once and the
 * masked upper triangle is mostly never computed. The backward pass recomputes each block's
 * probabilities the same way (nothing is saved between the passes) and accumulates dK and dV.
 */
import type { AttentionParams } from '../../backend.js';
import type { BlasLibrary } from './blas-loader.js';
import { expFor } from './fast-exp.js';
import { type GemmOperand, gemm } from './gemm.js';
import { type FloatValues, openFloatOutput, type Precision, precisionOf, readFloats } from './numeric.js';
import type { CpuStorage } from './storage.js';

/** Query rows per block: small enough to skip most of the masked triangle, big enough for GEMM. */
const BLOCK_ROWS = 32;

/** What every block of one kernel call reads. */
interface Heads {
  q: FloatValues;
  k: FloatValues;
  v: FloatValues;
  params: AttentionParams;
  precision: Precision;
  blas: BlasLibrary | null;
}

function operand(data: FloatValues, offset: number, transposed = false): GemmOperand {
  return { data, offset, transposed };
}

function scratch(precision: Precision, size: number): FloatValues {
  return precision === 'f32' ? new Float32Array(size) : new Float64Array(size);
}

/** The keys the query at row `row` sees, at most `limit`. */
function visibleKeys(row: number, params: AttentionParams, limit: number): number {
  return Math.max(0, Math.min(limit, row + params.keyLen - params.queryLen + 1));
}

/**
 * Probabilities of query rows [r0, r0 + rows) of head h into p, row-major [rows, seen], where
 * seen is the keys the block's last row sees (returned); masked entries are 0.
 */
function blockProbabilities(heads: Heads, h: number, r0: number, rows: number, p: FloatValues): number {
  const { queryLen, keyLen, dim, scale } = heads.params;
  const exp = expFor(heads.precision);
  const seen = visibleKeys(r0 + rows - 1, heads.params, keyLen);
  if (seen === 0) return 0;
  const a = operand(heads.q, (h * queryLen + r0) * dim);
  const b = operand(heads.k, h * keyLen * dim, true);
  gemm({ a, b, c: p, cOffset: 0, m: rows, n: seen, k: dim, overwrite: true }, heads.precision, heads.blas);
  for (let i = 0; i < rows; i++) {
    const base = i * seen;
    const visible = visibleKeys(r0 + i, heads.params, seen);
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < visible; j++) max = Math.max(max, p[base + j] as number);
    let sum = 0;
    // scale > 0, so the maximum of the scaled scores is scale * max.
    if (max !== Number.NEGATIVE_INFINITY) {
      for (let j = 0; j < visible; j++) {
        const e = exp(((p[base + j] as number) - max) * scale);
        p[base + j] = e;
        sum += e;
      }
    }
    // No visible key (or all -Infinity scores): the row attends to nothing, as the softmax kernel.
    const inverse = sum > 0 ? 1 / sum : 0;
    for (let j = 0; j < visible; j++) p[base + j] = (p[base + j] as number) * inverse;
    p.fill(0, base + visible, base + seen);
  }
  return seen;
}

function openHeads(q: CpuStorage, k: CpuStorage, v: CpuStorage, params: AttentionParams, blas: BlasLibrary | null) {
  const precision = precisionOf(q, k, v);
  return { q: readFloats(q), k: readFloats(k), v: readFloats(v), params, precision, blas } satisfies Heads;
}

/** Calls `block(h, r0, rows, seen)` for every block of every head after filling `p`. */
function forEachBlock(
  heads: Heads,
  p: FloatValues,
  block: (h: number, r0: number, rows: number, seen: number) => void,
): void {
  const { heads: count, queryLen } = heads.params;
  for (let h = 0; h < count; h++) {
    for (let r0 = 0; r0 < queryLen; r0 += BLOCK_ROWS) {
      const rows = Math.min(BLOCK_ROWS, queryLen - r0);
      block(h, r0, rows, blockProbabilities(heads, h, r0, rows, p));
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
  const heads = openHeads(q, k, v, params, blas);
  const { queryLen, keyLen, dim } = params;
  const target = openFloatOutput(out, heads.precision);
  const o = target.values;
  const p = scratch(heads.precision, BLOCK_ROWS * keyLen);
  forEachBlock(heads, p, (h, r0, rows, seen) => {
    const at = (h * queryLen + r0) * dim;
    const b = operand(heads.v, h * keyLen * dim);
    gemm({ a: operand(p, 0), b, c: o, cOffset: at, m: rows, n: dim, k: seen, overwrite: true }, heads.precision, blas);
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
  blas: BlasLibrary | null,
): void {
  const heads = openHeads(io.q, io.k, io.v, params, blas);
  const { queryLen, keyLen, dim, scale } = params;
  const { precision } = heads;
  const dout = readFloats(io.dout);
  const [dq, dk, dv] = [io.dq, io.dk, io.dv].map((s) => openFloatOutput(s, precision)) as [
    ReturnType<typeof openFloatOutput>,
    ReturnType<typeof openFloatOutput>,
    ReturnType<typeof openFloatOutput>,
  ];
  dk.values.fill(0);
  dv.values.fill(0);
  const p = scratch(precision, BLOCK_ROWS * keyLen);
  const dp = scratch(precision, BLOCK_ROWS * keyLen);
  forEachBlock(heads, p, (h, r0, rows, seen) => {
    const at = (h * queryLen + r0) * dim;
    const keysAt = h * keyLen * dim;
    const product = (
      a: GemmOperand,
      b: GemmOperand,
      c: FloatValues,
      cOffset: number,
      mnk: number[],
      overwrite: boolean,
    ) => gemm({ a, b, c, cOffset, m: mnk[0]!, n: mnk[1]!, k: mnk[2]!, overwrite }, precision, blas);
    product(operand(dout, at), operand(heads.v, keysAt, true), dp, 0, [rows, seen, dim], true);
    product(operand(p, 0, true), operand(dout, at), dv.values, keysAt, [seen, dim, rows], false);
    for (let i = 0; i < rows; i++) {
      const base = i * seen;
      let total = 0;
      for (let j = 0; j < seen; j++) total += (p[base + j] as number) * (dp[base + j] as number);
      for (let j = 0; j < seen; j++)
        dp[base + j] = (p[base + j] as number) * ((dp[base + j] as number) - total) * scale;
    }
    product(operand(dp, 0), operand(heads.k, keysAt), dq.values, at, [rows, dim, seen], true);
    product(operand(dp, 0, true), operand(heads.q, at), dk.values, keysAt, [seen, dim, rows], false);
  });
  for (const target of [dq, dk, dv]) target.commit();
}
