/** A Storage whose elements live in a pooled GPU buffer, starting at byte 0. */
import type { Backend, DType, MemoryCategory } from '@galore-ts/core';
import { StorageBase } from '@galore-ts/core';

export class GpuStorage extends StorageBase {
  #buffer: GPUBuffer | null;

  constructor(backend: Backend, size: number, dtype: DType, category: MemoryCategory, buffer: GPUBuffer) {
    super(backend, size, dtype, category);
    this.#buffer = buffer;
  }

  /** The buffer holding the elements; throws once it was detached. */
  get buffer(): GPUBuffer {
    if (!this.#buffer) throw new Error(`WebGPU ${this.describe()} was used after free`);
    return this.#buffer;
  }

  /** Detaches the buffer (the backend returns it to the pool, in stream order). */
  detach(): GPUBuffer {
    const buffer = this.buffer;
    this.#buffer = null;
    return buffer;
  }
}
