/** Test helpers: matrices with a chosen spectrum, host-side linear algebra to check against, a tiny LLaMA. */
import { LlamaForCausalLM, manualSeed, qr, randn, type Tensor, tensor, tidy } from '@galore-ts/core';
import type { BasisStore } from '../src/index.js';

export interface HostMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function host(t: Tensor): HostMatrix {
  const [rows, cols] = t.rank === 2 ? (t.shape as [number, number]) : [1, t.size];
  return { rows, cols, data: Float64Array.from(t.dataSync()) };
}

export function toTensor(m: HostMatrix, dtype: 'float32' | 'float64' = 'float64'): Tensor {
  return tensor(m.data, { shape: [m.rows, m.cols], dtype });
}

export function hostMatmul(a: HostMatrix, b: HostMatrix): HostMatrix {
  if (a.cols !== b.rows) throw new Error(`hostMatmul: ${a.rows}x${a.cols} @ ${b.rows}x${b.cols}`);
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k]!;
      for (let j = 0; j < b.cols; j++) out[i * b.cols + j] = out[i * b.cols + j]! + aik * b.data[k * b.cols + j]!;
    }
  }
  return { rows: a.rows, cols: b.cols, data: out };
}

export function hostTranspose(a: HostMatrix): HostMatrix {
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out[j * a.rows + i] = a.data[i * a.cols + j]!;
  return { rows: a.cols, cols: a.rows, data: out };
}

export function frobenius(a: HostMatrix): number {
  let s = 0;
  for (const v of a.data) s += v * v;
  return Math.sqrt(s);
}

export function hostSub(a: HostMatrix, b: HostMatrix): HostMatrix {
  return { rows: a.rows, cols: a.cols, data: a.data.map((v, i) => v - b.data[i]!) };
}

export function identity(n: number): HostMatrix {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return { rows: n, cols: n, data };
}

/** Largest |entry| of a - b. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** An m x k matrix with orthonormal columns (float64), from the QR of a Gaussian matrix. */
export function orthonormalColumns(m: number, k: number): HostMatrix {
  return tidy(() => host(qr(randn([m, k], { dtype: 'float64' })).Q));
}

/** G = U diag(s) V^T with random orthonormal U (m x k) and V (n x k), k = s.length <= min(m, n). */
export function matrixWithSpectrum(m: number, n: number, s: readonly number[]): HostMatrix {
  const k = s.length;
  const u = orthonormalColumns(m, k);
  const v = orthonormalColumns(n, k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) u.data[i * k + j]! *= s[j]!;
  return hostMatmul(u, hostTranspose(v));
}

/** A BasisStore over a Map, for projectors used outside an optimizer. */
export function mapStore(): BasisStore & { dispose(): void } {
  const map = new Map<string, Tensor>();
  return {
    get: (side) => map.get(side),
    set: (side, t) => {
      map.get(side)?.dispose();
      map.set(side, t);
    },
    dispose: () => {
      for (const t of map.values()) t.dispose();
      map.clear();
    },
  };
}

/** A one-layer LLaMA of hidden size `hidden` (MLP 2 x hidden, 32 tokens), seeded. */
export function tinyLlama(hidden = 8): LlamaForCausalLM {
  manualSeed(0);
  return new LlamaForCausalLM({
    vocab_size: 32,
    hidden_size: hidden,
    intermediate_size: 2 * hidden,
    num_attention_heads: 2,
    num_hidden_layers: 1,
  });
}

/** A LLaMA small enough to plan in milliseconds, with every weight shape distinct. */
export const PLAN_CONFIG = {
  vocab_size: 100,
  hidden_size: 96,
  intermediate_size: 256,
  num_attention_heads: 4,
  num_hidden_layers: 2,
  max_position_embeddings: 32,
};
