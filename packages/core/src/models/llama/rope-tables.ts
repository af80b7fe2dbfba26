/**
 * RoPE cos/sin tables, computed once per backend, dtype, head size, RoPE settings and sequence
 * length in float64 on the host (angle = position * inv_freq[i], inv_freq from ../rope/scaling.ts)
 * and kept for the life of the backend. They are counted as 'other' memory (buffers, not activations).
 */
import type { Backend } from '../../backend.js';
import type { DType } from '../../dtype.js';
import { keep, noGrad, withCategory } from '../../engine.js';
import { tensor } from '../../ops/creation.js';
import type { RopeTables } from '../../ops/nn.js';
import { inverseFrequencies, type RopeScaling } from '../rope/scaling.js';

const cache = new WeakMap<Backend, Map<string, RopeTables>>();

export interface RopeTableSpec {
  headDim: number;
  seqLen: number;
  theta: number;
  /** Scaled RoPE (linear, llama3); default none. */
  scaling?: RopeScaling | null;
  /** float64 tables for float64 models (gradient checks), float32 otherwise. */
  dtype: DType;
}

/** cos and sin of shape [seqLen, headDim / 2] for positions 0..seqLen-1. */
export function ropeTables(backend: Backend, spec: RopeTableSpec): RopeTables {
  const tableDType: DType = spec.dtype === 'float64' ? 'float64' : 'float32';
  const scaling = spec.scaling ?? null;
  const key = `${tableDType}:${spec.headDim}:${spec.theta}:${spec.seqLen}:${JSON.stringify(scaling)}`;
  let perBackend = cache.get(backend);
  if (!perBackend) {
    perBackend = new Map();
    cache.set(backend, perBackend);
  }
  const cached = perBackend.get(key);
  if (cached) return cached;
  const { cos, sin } = ropeAngles(spec.headDim, spec.seqLen, spec.theta, scaling);
  const shape = [spec.seqLen, spec.headDim / 2];
  const tables = withCategory('other', () =>
    noGrad(() => ({
      cos: keep(tensor(cos, { shape, dtype: tableDType, backend })),
      sin: keep(tensor(sin, { shape, dtype: tableDType, backend })),
    })),
  );
  perBackend.set(key, tables);
  return tables;
}

/** The angles' cosines and sines, [seqLen, headDim / 2] row-major, in float64. */
export function ropeAngles(
  headDim: number,
  seqLen: number,
  theta: number,
  scaling: RopeScaling | null = null,
): { cos: Float64Array; sin: Float64Array } {
  const half = headDim / 2;
  const invFreqs = inverseFrequencies(headDim, { rope_theta: theta, rope_scaling: scaling });
  const cos = new Float64Array(seqLen * half);
  const sin = new Float64Array(seqLen * half);
  for (let i = 0; i < half; i++) {
    const invFreq = invFreqs[i]!;
    for (let pos = 0; pos < seqLen; pos++) {
      const angle = pos * invFreq;
      cos[pos * half + i] = Math.cos(angle);
      sin[pos * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** Frees the cached tables of `backend`. */
export function clearRopeTables(backend: Backend): void {
  const perBackend = cache.get(backend);
  if (!perBackend) return;
  for (const { cos, sin } of perBackend.values()) {
    cos.dispose();
    sin.dispose();
  }
  cache.delete(backend);
}
