/**
 * The meta backend: the checks, plus nothing. Storages have a size and no data; every kernel call
 * goes through the same argument, ownership and use-after-free checks as on every other backend
 * (backends/base.ts) and computes nothing; every allocation, free and retag reaches the memory
 * tracker. Running a training step on it gives that step's exact memory profile for any model
 * size without touching memory.
 *
 * Meta tensors read as zeros (up to META_READ_LIMIT elements); nothing they "compute" is real.
 */
import type { DType, HostArray } from '../../dtype.js';
import { hostArrayFor } from '../../dtype.js';
import type { MemoryCategory } from '../../memory.js';
import { BackendBase, type BackendBaseOptions } from '../base.js';
import { MetaStorage } from './storage.js';

/** The most elements `read` will materialise as zeros; larger reads are almost surely a mistake. */
export const META_READ_LIMIT = 2 ** 24;

export type MetaBackendOptions = BackendBaseOptions;

export class MetaBackend extends BackendBase<MetaStorage> {
  readonly name = 'meta';
  override readonly computes = false;
  protected readonly kernels = {};

  protected createStorage(size: number, dtype: DType, category: MemoryCategory): MetaStorage {
    return new MetaStorage(this, size, dtype, category);
  }

  /** The data's type and length were checked; meta storages hold nothing, so it is dropped. */
  protected upload(): void {}

  /** Meta tensors read as zeros. Reads above META_READ_LIMIT elements throw instead of allocating. */
  protected async download(s: MetaStorage): Promise<HostArray> {
    if (s.size > META_READ_LIMIT) {
      throw new RangeError(
        `meta.read: refusing to read ${s.size} elements (limit ${META_READ_LIMIT}); meta tensors hold no data and ` +
          'read as zeros, so read a small slice instead',
      );
    }
    return hostArrayFor(s.dtype, s.size);
  }

  protected async waitIdle(): Promise<void> {}
}

export function createMetaBackend(options: MetaBackendOptions = {}): MetaBackend {
  return new MetaBackend(options);
}
