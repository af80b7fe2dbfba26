/**
 * What every backend shares: one storage base class (id, size, dtype, category, one "freed"
 * flag), and the base class that owns the storage bookkeeping (argument checks, ownership,
 * use-after-free, tracker reporting) and dispatches kernels. A backend supplies the device side
 * only: how to create, release, upload and download a storage, and a table of kernel
 * implementations that receive their arguments already checked and narrowed to its storage class.
 */
import type { Backend, KernelIO, KernelParams, Storage } from '../backend.js';
import { assertDType, DTYPE_BYTES, type DType, type HostArray, hostArrayFor } from '../dtype.js';
import { expectCount } from '../kernels/checks.js';
import { addedImplementation, type KernelDeclaration, kernelDeclaration } from '../kernels/registry.js';
import { MEMORY_CATEGORIES, type MemoryCategory, MemoryTracker } from '../memory.js';
import '../kernels/core-kernels.js';

let nextStorageId = 1;

/** A storage of some backend. Backends extend it with their handle on the elements. */
export class StorageBase implements Storage {
  readonly id = nextStorageId++;
  readonly byteLength: number;
  #category: MemoryCategory;
  #freed = false;

  constructor(
    readonly backend: Backend,
    readonly size: number,
    readonly dtype: DType,
    category: MemoryCategory,
  ) {
    this.byteLength = size * DTYPE_BYTES[dtype];
    this.#category = category;
  }

  get category(): MemoryCategory {
    return this.#category;
  }

  /** True from the backend's `free` on. */
  get freed(): boolean {
    return this.#freed;
  }

  /** "storage #3 (float32[6])". */
  describe(): string {
    return `storage #${this.id} (${this.dtype}[${this.size}])`;
  }

  /** @internal Called by BackendBase only, which also tells the tracker. */
  setCategory(category: MemoryCategory): void {
    this.#category = category;
  }

  /** @internal Called by BackendBase only. */
  markFreed(): void {
    this.#freed = true;
  }
}

/** A backend's implementation of a kernel: checked arguments, storages of its own class. */
export type KernelImpl<K extends string, S extends StorageBase> = (io: KernelIO<K, S>, params: KernelParams<K>) => void;

/**
 * Implementations by kernel name. Core kernels are typed; a backend may also implement kernels
 * that packages above core declare, under their names.
 */
export type KernelTable<S extends StorageBase> = {
  [K in import('../backend.js').CoreKernelName]?: KernelImpl<K, S>;
} & { [name: string]: ((io: never, params: never) => void) | undefined };

function checkCategory(where: string, category: unknown): MemoryCategory {
  if (typeof category === 'string' && (MEMORY_CATEGORIES as readonly string[]).includes(category)) {
    return category as MemoryCategory;
  }
  throw new TypeError(
    `${where}: unknown memory category ${JSON.stringify(category)}; expected one of ${MEMORY_CATEGORIES.join(', ')}`,
  );
}

function describe(storage: unknown): string {
  if (storage === null || typeof storage !== 'object') return String(storage);
  const s = storage as Partial<Storage>;
  return `storage #${s.id} (${s.dtype}[${s.size}]) of the ${s.backend?.name ?? 'unknown'} backend`;
}

/** Throws naming the first storage role `declaration` does not take. */
function rejectUnknownRole(name: string, declaration: KernelDeclaration, storages: Record<string, Storage>): void {
  const roles = [...declaration.inputs, ...declaration.outputs];
  for (const role of Object.keys(storages)) {
    if (!roles.includes(role)) {
      throw new TypeError(`${name}: unknown storage "${role}"; the kernel takes ${roles.join(', ')}`);
    }
  }
}

export interface BackendBaseOptions {
  /** Tracker to report allocations to; a fresh one by default. */
  tracker?: MemoryTracker;
}

export abstract class BackendBase<S extends StorageBase> implements Backend {
  abstract readonly name: string;
  readonly tracker: MemoryTracker;
  readonly computes: boolean = true;
  /** This backend's kernel implementations, by name. */
  protected abstract readonly kernels: KernelTable<S>;
  #destroyed = false;

  constructor(options: BackendBaseOptions = {}) {
    this.tracker = options.tracker ?? new MemoryTracker();
  }

  /** Dtypes this backend can store (all by default). */
  supportsDType(dtype: DType): boolean {
    assertDType(dtype, `${this.name}.supportsDType`);
    return true;
  }

  // --- the device side, supplied by each backend ---

  /**
   * Allocates device memory for a checked request; with `uninitialized` the elements need not be
   * zeroed (see Backend.alloc).
   */
  protected abstract createStorage(size: number, dtype: DType, category: MemoryCategory, uninitialized: boolean): S;
  /** Returns a storage's memory (after it is marked freed and the tracker told). */
  protected releaseStorage(_storage: S): void {}
  /** Copies checked host data (right type and length) into the storage. */
  protected abstract upload(storage: S, data: HostArray): void;
  protected abstract download(storage: S): Promise<HostArray>;
  /** Waits for every enqueued kernel; rejects with an error the device reported. */
  protected abstract waitIdle(): Promise<void>;
  /** Releases device resources (once). */
  protected shutdown(): Promise<void> | void {}
  /** Throws the first error a kernel reported on the device, when the backend records them. */
  protected checkDevice(): void {}

  // --- storage ---

  alloc(size: number, dtype: DType, category: MemoryCategory, uninitialized = false): S {
    const where = `${this.name}.alloc`;
    this.assertUsable(where);
    expectCount(where, 'size', size);
    assertDType(dtype, where);
    checkCategory(where, category);
    if (typeof uninitialized !== 'boolean')
      throw new TypeError(`${where}: uninitialized must be true or false; got ${String(uninitialized)}`);
    if (!this.supportsDType(dtype))
      throw new TypeError(`${where}: ${dtype} is not supported on the ${this.name} backend`);
    const storage = this.createStorage(size, dtype, category, uninitialized);
    this.tracker.allocated(storage.byteLength, category);
    return storage;
  }

  free(storage: Storage): void {
    const s = this.own(storage, `${this.name}.free`, 'storage');
    s.markFreed();
    this.tracker.freed(s.byteLength, s.category);
    this.releaseStorage(s);
  }

  retag(storage: Storage, category: MemoryCategory): void {
    const where = `${this.name}.retag`;
    const s = this.own(storage, where, 'storage');
    checkCategory(where, category);
    this.tracker.retagged(s.byteLength, s.category, category);
    s.setCategory(category);
  }

  write(storage: Storage, data: HostArray): void {
    const where = `${this.name}.write`;
    const s = this.own(storage, where, 'storage');
    const expected = hostArrayFor(s.dtype, 0).constructor;
    if (!(data instanceof expected)) {
      const got = (data as object | null | undefined)?.constructor?.name ?? String(data);
      throw new TypeError(`${where}: a ${s.dtype} storage takes a ${expected.name}; got ${got}`);
    }
    if (data.length !== s.size) {
      throw new RangeError(`${where}: data has ${data.length} elements; the storage holds ${s.size}`);
    }
    this.upload(s, data);
  }

  read(storage: Storage): Promise<HostArray> {
    try {
      return this.download(this.own(storage, `${this.name}.read`, 'storage'));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  sync(): Promise<void> {
    try {
      this.assertUsable(`${this.name}.sync`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.waitIdle();
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await this.shutdown();
  }

  get isDestroyed(): boolean {
    return this.#destroyed;
  }

  // --- kernels ---

  implements(name: string): boolean {
    return this.implementation(name) !== undefined;
  }

  private implementation(name: string): ((io: unknown, params: unknown) => void) | undefined {
    const own = this.kernels[name] ?? addedImplementation(this.name, name);
    return own as ((io: unknown, params: unknown) => void) | undefined;
  }

  run<K extends string>(name: K, io: KernelIO<K>, params: KernelParams<K>): void {
    this.assertUsable(name);
    const declaration = kernelDeclaration(name);
    if (io === null || typeof io !== 'object') throw new TypeError(`${name}: expected an object of storages`);
    if (params === null || typeof params !== 'object') throw new TypeError(`${name}: expected a params object`);
    const storages = io as Record<string, Storage>;
    // Hot path (every kernel call): no arrays or strings unless an argument is wrong.
    for (const role of declaration.inputs) this.ownLive(storages[role], name, role);
    for (const role of declaration.outputs) this.ownLive(storages[role], name, role);
    let given = 0;
    for (const _ in storages) given++;
    // Every declared role is present, so a count above theirs means an unknown one.
    if (given !== declaration.inputs.length + declaration.outputs.length)
      rejectUnknownRole(name, declaration, storages);
    declaration.check(io as never, params as never);
    if (!this.computes) return;
    const impl = this.implementation(name);
    if (impl) impl(io, params);
    else if (declaration.fallback) declaration.fallback(this, io as never, params as never);
    else throw new Error(`${name}: the ${this.name} backend does not implement this kernel and it has no fallback`);
  }

  // --- checks every backend shares ---

  protected assertUsable(where: string): void {
    if (this.#destroyed) throw new Error(`${where}: the ${this.name} backend was destroyed`);
    this.checkDevice();
  }

  /** A live storage of this backend, or an error naming the call and the argument. */
  protected own(storage: unknown, where: string, role: string): S {
    this.assertUsable(where);
    return this.ownLive(storage, where, role);
  }

  /** `own` for a caller that has just checked the backend is usable. */
  private ownLive(storage: unknown, where: string, role: string): S {
    if (!(storage instanceof StorageBase) || storage.backend !== this) {
      const owner = (storage as Partial<Storage> | undefined)?.backend;
      const whose =
        owner === undefined
          ? describe(storage)
          : owner.name === this.name
            ? `a storage of another ${this.name} backend instance`
            : describe(storage);
      throw new TypeError(`${where}: ${role} must be a storage of this ${this.name} backend; got ${whose}`);
    }
    if (storage.freed) throw new Error(`${where}: ${role} (${storage.describe()}) was already freed`);
    return storage as S;
  }
}
