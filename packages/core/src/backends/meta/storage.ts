import type { Backend, Storage } from '../../backend.js';
import type { DType } from '../../dtype.js';
import type { MemoryCategory } from '../../memory.js';

/**
 * A storage with a size and no data. Its category and liveness change only through the meta
 * backend (`retag`, `free`), which keeps the memory tracker in step with them.
 */
export class MetaStorage implements Storage {
  #category: MemoryCategory;
  #freed = false;

  constructor(
    readonly id: number,
    readonly backend: Backend,
    readonly size: number,
    readonly dtype: DType,
    readonly byteLength: number,
    category: MemoryCategory,
  ) {
    this.#category = category;
  }

  get category(): MemoryCategory {
    return this.#category;
  }

  get freed(): boolean {
    return this.#freed;
  }

  /** @internal Called by the owning backend only. */
  setCategory(category: MemoryCategory): void {
    this.#category = category;
  }

  /** @internal Called by the owning backend only. */
  markFreed(): void {
    this.#freed = true;
  }
}
