/** A Storage whose elements live in one block of the addon's caching allocator. */
import type { Backend, DType, MemoryCategory } from '@galore-ts/core';
import { StorageBase } from '@galore-ts/core';

export class CudaStorage extends StorageBase {
  constructor(
    backend: Backend,
    size: number,
    dtype: DType,
    category: MemoryCategory,
    /** The addon's handle for the device block; 0 for an empty storage, which owns no memory. */
    readonly handle: number,
  ) {
    super(backend, size, dtype, category);
  }
}
