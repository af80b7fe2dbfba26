/** Neural-network functions, most on fused backend kernels with their own backward kernels. */
import type { AttentionParams } from '../backend.js';
import { isFloating } from '../dtype.js';
import { normalizeOptions } from '../optim/option-names.js';
import { computeDTypeOf } from '../optim/update-helpers.js';
import { formatShape, normalizeAxis, shapesEqual } from '../shape.js';
import { recordOp, type Tensor } from '../tensor.js';
import { rand, zeros } from './creation.js';
import { add, cast, div, maximum, mul, ne } from './elementwise.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';
import { expand, permute, reshape, transpose } from './shape-ops.js';
import { backendOf, empty, uninitialized } from './util.js';

/** Runs a kernel that validates data (targets, ids); frees `out` if it throws. */
function runOrFree(out: Tensor, kernel: () => void): void {
  try {
    kernel();
  } catch (err) {
    out.dispose();
    throw err;
  }
}

function assertFloating(where: string, t: Tensor): void {
  if (!isFloating(t.dtype)) throw new TypeError(`${where}: expected a floating tensor, got ${t.dtype}`);
}

/** Moves `axis` last (softmax kernels work on the last axis) and returns the way back. */
function withLastAxis(x: Tensor, axis: number, where: string, fn: (t: Tensor) => Tensor): Tensor {
  const a = normalizeAxis(axis, x.rank, where);
  if (a === x.rank - 1) return fn(x);
  const moved = transpose(x, a, -1);
  const y = fn(moved);
  const back = transpose(y, a, -1);
  moved.dispose();
  y.dispose();
  return back;
}

function softmaxLike(kind: 'softmax' | 'logSoftmax', x: Tensor, causal?: { queryLen: number; offset: number }): Tensor {
  assertFloating(kind, x);
  const cols = x.shape[x.rank - 1] ?? 1;
  const rows = x.size / Math.max(cols, 1);
  const out = uninitialized(x.shape, x.dtype, x.backend);
  const params = causal ? { rows, cols, causal } : { rows, cols };
  x.backend.run(kind, { x: x.storage, out: out.storage }, params);
  recordOp(kind, out, [x], [out], (g, [y]) => {
    const dx = uninitialized(x.shape, g.dtype, g.backend);
    g.backend.run(`${kind}Backward`, { y: y!.storage, dy: g.storage, dx: dx.storage }, { rows, cols });
    return [dx];
  });
  return out;
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return withLastAxis(x, axis, 'softmax', (t) => softmaxLike('softmax', t));
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return withLastAxis(x, axis, 'logSoftmax', (t) => softmaxLike('logSoftmax', t));
}

export interface CrossEntropyOptions {
  /** Targets equal to this are ignored (default -100, as PyTorch). */
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy of [N, C] logits against int32 targets [N] (any leading shape is flattened), with
 * PyTorch's ignore index and mean over the non-ignored targets.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  assertFloating('crossEntropy', logits);
  if (targets.dtype !== 'int32') throw new TypeError(`crossEntropy: targets must be int32, got ${targets.dtype}`);
  const cols = logits.shape[logits.rank - 1]!;
  const rows = logits.size / cols;
  if (targets.size !== rows || targets.rank !== logits.rank - 1) {
    throw new RangeError(
      `crossEntropy: targets ${formatShape(targets.shape)} do not match logits ${formatShape(logits.shape)} (expected ${formatShape(logits.shape.slice(0, -1))})`,
    );
  }
  const ignoreIndex = options.ignoreIndex ?? -100;
  const backend = backendOf('crossEntropy', logits, targets);
  // float64 logits keep float64 losses (gradient checks); every other dtype gives float32.
  const lossType = computeDTypeOf(logits);
  const perRow = uninitialized(targets.shape, lossType, backend);
  runOrFree(perRow, () =>
    backend.run(
      'crossEntropy',
      { logits: logits.storage, targets: targets.storage, loss: perRow.storage },
      { rows, cols, ignoreIndex },
    ),
  );
  recordOp('crossEntropy', perRow, [logits], [logits, targets], (g, [x, t]) => {
    const dx = uninitialized(logits.shape, logits.dtype, g.backend);
    const g32 = g.dtype === lossType ? g : cast(g, lossType);
    g.backend.run(
      'crossEntropyBackward',
      { logits: x!.storage, targets: t!.storage, dloss: g32.storage, dx: dx.storage },
      { rows, cols, ignoreIndex },
    );
    if (g32 !== g) g32.dispose();
    return [dx];
  });
  const reduction = options.reduction ?? 'mean';
  if (reduction === 'none') return perRow;
  const total = sum(perRow);
  perRow.dispose();
  if (reduction === 'sum') return total;
  // Mean over the targets that count (the count is data, not part of the graph).
  const counted = ne(targets, ignoreIndex);
  const counted32 = cast(counted, 'float32');
  const count = sum(counted32);
  const denominator = maximum(count, 1);
  const out = div(total, denominator);
  for (const t of [total, counted, counted32, count, denominator]) t.dispose();
  return out;
}

/** RMSNorm over the last axis (LLaMA's): x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  assertFloating('rmsNorm', x);
  const cols = x.shape[x.rank - 1]!;
  if (weight.rank !== 1 || weight.shape[0] !== cols) {
    throw new RangeError(
      `rmsNorm: weight must have shape [${cols}] for input ${formatShape(x.shape)}, got ${formatShape(weight.shape)}`,
    );
  }
  const backend = backendOf('rmsNorm', x, weight);
  const rows = x.size / cols;
  const out = uninitialized(x.shape, x.dtype, backend);
  // float32 unless everything is float64 (then the saved factor keeps float64 precision).
  const rstd = uninitialized(
    [rows],
    x.dtype === 'float64' && weight.dtype === 'float64' ? 'float64' : 'float32',
    backend,
  );
  backend.run(
    'rmsNorm',
    { x: x.storage, weight: weight.storage, out: out.storage, rstd: rstd.storage },
    { rows, cols, eps },
  );
  recordOp('rmsNorm', out, [x, weight], [x, weight, rstd], (g, [sx, sw, sr]) => {
    const dx = uninitialized(x.shape, x.dtype, g.backend);
    const dw = uninitialized(weight.shape, weight.dtype, g.backend);
    g.backend.run(
      'rmsNormBackward',
      { x: sx!.storage, weight: sw!.storage, rstd: sr!.storage, dy: g.storage, dx: dx.storage, dweight: dw.storage },
      { rows, cols },
    );
    return [dx, dw];
  });
  rstd.dispose();
  return out;
}

/**
 * LayerNorm over the last axis (PyTorch's layer_norm with weight and bias):
 * (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance.
 */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  assertFloating('layerNorm', x);
  const cols = x.shape[x.rank - 1]!;
  for (const [role, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t.rank !== 1 || t.shape[0] !== cols) {
      throw new RangeError(
        `layerNorm: ${role} must have shape [${cols}] for input ${formatShape(x.shape)}, got ${formatShape(t.shape)}`,
      );
    }
  }
  if (!(eps >= 0)) throw new RangeError(`layerNorm: eps must be >= 0, got ${eps}`);
  const backend = backendOf('layerNorm', x, weight, bias);
  const rows = x.size / cols;
  const out = empty(x.shape, x.dtype, backend);
  // float32 unless everything is float64 (then the saved statistics keep float64 precision).
  const statsType =
    x.dtype === 'float64' && weight.dtype === 'float64' && bias.dtype === 'float64' ? 'float64' : 'float32';
  const mean = empty([rows], statsType, backend);
  const rstd = empty([rows], statsType, backend);
  backend.run(
    'layerNorm',
    {
      x: x.storage,
      weight: weight.storage,
      bias: bias.storage,
      out: out.storage,
      mean: mean.storage,
      rstd: rstd.storage,
    },
    { rows, cols, eps },
  );
  recordOp('layerNorm', out, [x, weight, bias], [x, weight, mean, rstd], (g, [sx, sw, sm, sr]) => {
    const dx = empty(x.shape, x.dtype, g.backend);
    const dw = empty(weight.shape, weight.dtype, g.backend);
    const db = empty(bias.shape, bias.dtype, g.backend);
    g.backend.run(
      'layerNormBackward',
      {
        x: sx!.storage,
        weight: sw!.storage,
        mean: sm!.storage,
        rstd: sr!.storage,
        dy: g.storage,
        dx: dx.storage,
        dweight: dw.storage,
        dbias: db.storage,
      },
      { rows, cols },
    );
    return [dx, dw, db];
  });
  mean.dispose();
  rstd.dispose();
  return out;
}

/** GELU in its exact erf form, x/2 (1 + erf(x / sqrt 2)) (PyTorch's default, transformers' "gelu"). */
export function gelu(x: Tensor): Tensor {
  assertFloating('gelu', x);
  const out = uninitialized(x.shape, x.dtype, x.backend);
  x.backend.run('gelu', { x: x.storage, out: out.storage }, {});
  recordOp('gelu', out, [x], [x], (g, [sx]) => {
    const dx = uninitialized(x.shape, x.dtype, g.backend);
    g.backend.run('geluBackward', { x: sx!.storage, dy: g.storage, dx: dx.storage }, {});
    return [dx];
  });
  return out;
}

/** Rotary position embedding tables cos/sin of shape [seq, headDim / 2], computed in float64. */
export interface RopeTables {
  cos: Tensor;
  sin: Tensor;
}

/**
 * Applies RoPE (Hugging Face's rotate_half convention) to x of shape [batch, seq, heads, headDim],
 * with tables for positions 0..seq-1 (or sliced by the caller for an offset).
 */
export function rope(x: Tensor, tables: RopeTables): Tensor {
  assertFloating('rope', x);
  if (x.rank !== 4)
    throw new RangeError(`rope: expected x of shape [batch, seq, heads, headDim], got ${formatShape(x.shape)}`);
  const [batch, seq, heads, headDim] = x.shape as [number, number, number, number];
  if (headDim % 2 !== 0) throw new RangeError(`rope: headDim must be even, got ${headDim}`);
  const want = [seq, headDim / 2];
  if (!shapesEqual(tables.cos.shape, want) || !shapesEqual(tables.sin.shape, want)) {
    throw new RangeError(
      `rope: tables must have shape ${formatShape(want)}, got ${formatShape(tables.cos.shape)} and ${formatShape(tables.sin.shape)}`,
    );
  }
  const backend = backendOf('rope', x, tables.cos, tables.sin);
  const apply = (input: Tensor, inverse: boolean): Tensor => {
    const out = uninitialized(input.shape, input.dtype, backend);
    backend.run(
      'rope',
      { x: input.storage, cos: tables.cos.storage, sin: tables.sin.storage, out: out.storage },
      {
        batch,
        seq,
        heads,
        headDim,
        inverse,
      },
    );
    return out;
  };
  const out = apply(x, false);
  recordOp('rope', out, [x], [tables.cos, tables.sin], (g) => [apply(g, true)]);
  return out;
}

/** silu(gate) * up, the SwiGLU activation, on one fused kernel. */
export function siluMul(gate: Tensor, up: Tensor): Tensor {
  if (!shapesEqual(gate.shape, up.shape)) {
    throw new RangeError(
      `siluMul: gate ${formatShape(gate.shape)} and up ${formatShape(up.shape)} must have the same shape`,
    );
  }
  const backend = backendOf('siluMul', gate, up);
  const out = uninitialized(gate.shape, gate.dtype, backend);
  backend.run('siluMul', { gate: gate.storage, up: up.storage, out: out.storage }, {});
  recordOp('siluMul', out, [gate, up], [gate, up], (g, [sg, su]) => {
    const dg = uninitialized(gate.shape, gate.dtype, g.backend);
    const du = uninitialized(up.shape, up.dtype, g.backend);
    g.backend.run(
      'siluMulBackward',
      { gate: sg!.storage, up: su!.storage, dy: g.storage, dgate: dg.storage, dup: du.storage },
      {},
    );
    return [dg, du];
  });
  return out;
}

/** x @ weight^T + bias, with weight stored [out, in] as PyTorch's nn.Linear; no transpose is copied. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  if (weight.rank !== 2) throw new RangeError(`linear: weight must be 2-D [out, in], got ${formatShape(weight.shape)}`);
  if (x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new RangeError(
      `linear: input features differ: x is ${formatShape(x.shape)}, weight is ${formatShape(weight.shape)} (expected x[..., ${weight.shape[1]}])`,
    );
  }
  const wt = transpose(weight);
  const y = matmul(x, wt);
  wt.dispose();
  if (!bias) return y;
  const out = add(y, bias);
  y.dispose();
  return out;
}

/** Gathers rows of a [vocab, dim] table for int32 ids of any shape; the result is [...ids, dim]. */
export function embedding(ids: Tensor, table: Tensor): Tensor {
  if (ids.dtype !== 'int32') throw new TypeError(`embedding: ids must be int32, got ${ids.dtype}`);
  if (table.rank !== 2)
    throw new RangeError(`embedding: table must be 2-D [vocab, dim], got ${formatShape(table.shape)}`);
  const dim = table.shape[1]!;
  const backend = backendOf('embedding', ids, table);
  const out = uninitialized([...ids.shape, dim], table.dtype, backend);
  runOrFree(out, () =>
    backend.run('gatherRows', { table: table.storage, ids: ids.storage, out: out.storage }, { dim }),
  );
  recordOp('embedding', out, [table], [ids], (g, [sids]) => {
    const grad = zeros(table.shape, { dtype: table.dtype, backend: g.backend });
    g.backend.run('scatterAddRows', { src: g.storage, ids: sids!.storage, out: grad.storage }, { dim });
    return [grad];
  });
  return out;
}

/** Inverted dropout: zeroes with probability p and scales the rest by 1 / (1 - p). */
export function dropout(x: Tensor, p: number, training = true): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  // reshape, not a bare shared handle: the identity must stay on the autograd graph.
  if (!training || p === 0) return reshape(x, x.shape);
  const u = rand(x.shape, { backend: x.backend, dtype: 'float32' });
  const keepMask = u.ge(p);
  const scale = cast(keepMask, x.dtype);
  const scaled = mul(scale, 1 / (1 - p));
  const out = mul(x, scaled);
  for (const t of [u, keepMask, scale, scaled]) t.dispose();
  return out;
}

export interface AttentionOptions {
  causal?: boolean;
  /** Defaults to 1 / sqrt(headDim). */
  scale?: number;
  /** Additive bias broadcast onto the scores [..., Sq, Sk] (padding, sliding windows). */
  mask?: Tensor | undefined;
}

const ATTENTION_OPTIONS = ['causal', 'scale', 'mask'] as const satisfies readonly (keyof AttentionOptions)[];

/**
 * softmax(q k^T * scale [+ mask] [+ causal mask]) v for q [..., Sq, D], k and v [..., Sk, D]; the
 * causal mask is applied inside the softmax kernel (query i sees keys j <= i + Sk - Sq). Causal
 * attention without a mask runs as one causalAttention kernel where the backend implements it
 * (the CPU): no probability matrix is kept for the backward pass, which recomputes it.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  normalizeOptions('scaledDotProductAttention', options, ATTENTION_OPTIONS);
  const d = q.shape[q.rank - 1]!;
  const sq = q.shape[q.rank - 2]!;
  const sk = k.shape[k.rank - 2]!;
  const scale = options.scale ?? 1 / Math.sqrt(d);
  if (options.causal && !options.mask && headsAlike(q, k, v) && fusable(q, k, v, scale)) {
    // Every leading index is one head: the kernel's 'heads' layout with one head per batch entry.
    const params = { batch: q.size / (sq * d), queryLen: sq, keyLen: sk, heads: 1, kvHeads: 1, dim: d, scale };
    return fusedCausalAttention(q, k, v, { ...params, layout: 'heads' });
  }
  const kt = transpose(k);
  const scores = matmul(q, kt);
  kt.dispose();
  let scaled = mul(scores, scale);
  scores.dispose();
  if (options.mask) {
    const masked = add(scaled, options.mask);
    scaled.dispose();
    scaled = masked;
  }
  const probs = options.causal ? withCausal(scaled, { queryLen: sq, offset: sk - sq }) : softmax(scaled, -1);
  scaled.dispose();
  const out = matmul(probs, v);
  probs.dispose();
  return out;
}

/**
 * Causal self-attention on the projections' own layout: q [batch, Sq, heads, D], k and v
 * [batch, Sk, kvHeads, D] with kvHeads dividing heads (grouped-query attention: query head h reads
 * kv head floor(h / (heads / kvHeads))); returns [batch, Sq, heads, D]. Where the backend
 * implements causalAttention this is one kernel that reads heads in place (no permute, no repeated
 * keys); elsewhere it permutes to heads order, repeats the kv heads and composes
 * scaledDotProductAttention.
 */
export function causalSelfAttention(q: Tensor, k: Tensor, v: Tensor, options: { scale?: number } = {}): Tensor {
  normalizeOptions('causalSelfAttention', options, ['scale']);
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4)
    throw new RangeError(
      `causalSelfAttention: q, k and v must be [batch, seq, heads, dim]; got ranks ${q.rank}, ${k.rank}, ${v.rank}`,
    );
  const [batch, queryLen, heads, dim] = q.shape as [number, number, number, number];
  const [, keyLen, kvHeads] = k.shape as [number, number, number, number];
  if (
    k.shape[0] !== batch ||
    k.shape[3] !== dim ||
    formatShape(k.shape) !== formatShape(v.shape) ||
    heads % kvHeads !== 0
  )
    throw new RangeError(
      `causalSelfAttention: k and v must be [${batch}, Sk, kvHeads, ${dim}] with kvHeads dividing ${heads}; got k ${formatShape(k.shape)}, v ${formatShape(v.shape)}`,
    );
  const scale = options.scale ?? 1 / Math.sqrt(dim);
  const params = { batch, queryLen, keyLen, heads, kvHeads, dim, scale };
  if (fusable(q, k, v, scale)) return fusedCausalAttention(q, k, v, { ...params, layout: 'sequence' });
  const [qh, kh, vh] = [q, k, v].map((t) => permute(t, [0, 2, 1, 3])) as [Tensor, Tensor, Tensor];
  const [kr, vr] = [repeatKvHeads(kh, heads / kvHeads), repeatKvHeads(vh, heads / kvHeads)];
  const attended = scaledDotProductAttention(qh, kr, vr, { causal: true, scale });
  for (const t of new Set([qh, kh, vh, kr, vr])) t.dispose();
  const out = permute(attended, [0, 2, 1, 3]);
  attended.dispose();
  return out;
}

/** [batch, kvHeads, seq, d] -> [batch, kvHeads * group, seq, d], each kv head repeated for its query group. */
export function repeatKvHeads(kv: Tensor, group: number): Tensor {
  if (group === 1) return kv;
  const [batch, kvHeads, seq, d] = kv.shape as [number, number, number, number];
  const single = reshape(kv, [batch, kvHeads, 1, seq, d]);
  const repeated = expand(single, [batch, kvHeads, group, seq, d]);
  const out = reshape(repeated, [batch, kvHeads * group, seq, d]);
  for (const t of [single, repeated]) t.dispose();
  return out;
}

/**
 * Whether the causalAttention kernel can run on these tensors: a backend with its own
 * implementation (on the others the composed ops keep their memory to one pass each way), one
 * floating dtype, nothing empty. The caller checks the shapes.
 */
function fusable(q: Tensor, k: Tensor, v: Tensor, scale: number): boolean {
  if (!q.backend.implements('causalAttention') || k.backend !== q.backend || v.backend !== q.backend) return false;
  if (!isFloating(q.dtype) || k.dtype !== q.dtype || v.dtype !== q.dtype || !(scale > 0)) return false;
  return q.size > 0 && k.size > 0;
}

/** q [..., Sq, D] and k, v [..., Sk, D] with the same leading shape: heads the kernel can run. */
function headsAlike(q: Tensor, k: Tensor, v: Tensor): boolean {
  if (q.rank < 2 || k.rank !== q.rank || formatShape(k.shape) !== formatShape(v.shape)) return false;
  const last = q.rank - 1;
  return q.shape.every((extent, axis) => axis === last - 1 || extent === k.shape[axis]);
}

function fusedCausalAttention(q: Tensor, k: Tensor, v: Tensor, params: AttentionParams): Tensor {
  // The kernels write every element of their outputs (rows that see no key as zeros).
  const out = uninitialized(q.shape, q.dtype, q.backend);
  q.backend.run('causalAttention', { q: q.storage, k: k.storage, v: v.storage, out: out.storage }, params);
  recordOp('causalAttention', out, [q, k, v], [q, k, v], (g, [sq, sk, sv]) => {
    const dout = g.dtype === q.dtype ? g : cast(g, q.dtype);
    const [dq, dk, dv] = [q, k, v].map((t) => uninitialized(t.shape, t.dtype, g.backend)) as [Tensor, Tensor, Tensor];
    const io = { q: sq!.storage, k: sk!.storage, v: sv!.storage, dout: dout.storage };
    g.backend.run('causalAttentionBackward', { ...io, dq: dq.storage, dk: dk.storage, dv: dv.storage }, params);
    if (dout !== g) dout.dispose();
    return [dq, dk, dv];
  });
  return out;
}

function withCausal(scores: Tensor, causal: { queryLen: number; offset: number }): Tensor {
  return softmaxLike('softmax', scores, causal);
}
