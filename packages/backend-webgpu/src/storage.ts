/** A Storage whose elements live in a pooled GPU buffer, starting at byte 0. */
import type { Backend, DType, MemoryCategory, Storage } from '@galore-ts/core';
import { DTYPE_BYTES } from '@galore-ts/core';

let nextStorageId = 1;

export class GpuStorage implements Storage {
  readonly id = nextStorageId++;
  readonly byteLength: number;
  private currentCategory: MemoryCategory;
  private gpuBuffer: GPUBuffer | null;
  private released = false;

  constructor(
    readonly backend: Backend,
    readonly size: number,
    readonly dtype: DType,
    category: MemoryCategory,
    buffer: GPUBuffer,
  ) {
    this.byteLength = size * DTYPE_BYTES[dtype];
    this.currentCategory = category;
    this.gpuBuffer = buffer;
  }

  get category(): MemoryCategory {
    return this.currentCategory;
  }

  /** True from the `free` call on (the buffer itself is detached later, in stream order). */
  get freed(): boolean {
    return this.released;
  }

  /** The buffer holding the elements; throws once the storage is freed. */
  get buffer(): GPUBuffer {
    if (!this.gpuBuffer)
      throw new Error(`WebGPU storage #${this.id} (${this.dtype}[${this.size}]) was used after free`);
    return this.gpuBuffer;
  }

  /** Called by the backend only, which also tells the tracker. */
  setCategory(category: MemoryCategory): void {
    this.currentCategory = category;
  }

  markFreed(): void {
    this.released = true;
  }

  /** Detaches the buffer (the backend returns it to the pool). */
  detach(): GPUBuffer {
    const buffer = this.buffer;
    this.gpuBuffer = null;
    return buffer;
  }
}
