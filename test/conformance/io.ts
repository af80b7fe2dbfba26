/**
 * Storage plumbing for the conformance suite: uploads plain numbers to any backend, downloads
 * outputs as numbers, and frees everything a run allocated (GPU backends must not leak between
 * runs, and JS garbage collection never frees device memory).
 */
import type { Backend, Storage } from '../../packages/core/src/backend.js';
import { type DType, fromNumbers, toNumberArray } from '../../packages/core/src/dtype.js';

export class KernelIo {
  private readonly allocated: Storage[] = [];

  constructor(readonly backend: Backend) {}

  empty(dtype: DType, size: number): Storage {
    const s = this.backend.alloc(size, dtype, 'other');
    this.allocated.push(s);
    return s;
  }

  upload(dtype: DType, values: ArrayLike<number>): Storage {
    const s = this.empty(dtype, values.length);
    this.backend.write(s, fromNumbers(dtype, values));
    return s;
  }

  /** A storage filled through the backend's own `fill`, for outputs that start from a value. */
  filled(dtype: DType, size: number, value: number): Storage {
    const s = this.empty(dtype, size);
    this.backend.run('fill', { out: s }, { value });
    return s;
  }

  release(): void {
    for (const s of this.allocated.splice(0)) this.backend.free(s);
  }
}

export async function download(backend: Backend, s: Storage): Promise<number[]> {
  return Array.from(toNumberArray(s.dtype, await backend.read(s)));
}

/**
 * Deterministic values in [low, high) from a seed (xorshift32). Both backends get the very same
 * inputs; fast-check draws the seeds and shapes.
 */
export function seededValues(size: number, seed: number, low = -1, high = 1): number[] {
  let state = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const out = new Array<number>(size);
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = low + (high - low) * (state / 2 ** 32);
  }
  return out;
}
