/** What every kernel module needs from the backend: the executor, limits, and checked bindings. */
import type { DType, KernelIO, KernelParams } from '@galore-ts/core';
import { DTYPE_BYTES } from '@galore-ts/core';
import type { BindingKind } from '../executor.js';
import { alignUp, type Binding, type Executor, type Kernel } from '../executor.js';
import { GpuStorage } from '../storage.js';
import { groupsFor, type Operand, type ParamField, packParams, WG } from '../wgsl.js';

/** A kernel's implementation on this backend: the declared io (as GPU storages) and params, already checked. */
export type GpuKernel<K extends string> = (
  ctx: KernelContext,
  io: KernelIO<K, GpuStorage>,
  params: KernelParams<K>,
) => void;

/** The layout of a kernel with a parameter block at binding 0 and `ops` after it. */
export function bindingKinds(ops: readonly Operand[], withParams = true): BindingKind[] {
  const kinds: BindingKind[] = ops.map((op) => (op.mode === 'read' ? 'read' : 'write'));
  return withParams ? ['uniform', ...kinds] : kinds;
}

/**
 * WGSL for kernels that check data on the device: the flag binding and `flag_error(code, value)`,
 * which records the first bad value (codes: core's DATA_ERROR). The backend reads the flag at the
 * next `read` or `sync` and reports it with core's `dataError`, as the CPU would at the call.
 */
export function flagCode(binding: number): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> flag: array<atomic<i32>>;
fn flag_error(code: i32, value: i32) {
  if (atomicCompareExchangeWeak(&flag[0], 0, code).exchanged) { atomicStore(&flag[1], value); }
}`;
}

export class KernelContext {
  /** Two i32 words [code, value]; 0 while no kernel flagged bad data. */
  private flag: GPUBuffer | null = null;
  /** Set when a kernel that may flag was recorded since the flag was last read. */
  flagPending = false;

  constructor(
    readonly executor: Executor,
    readonly owner: unknown,
    /** The largest storage binding the kernels may use, in bytes. */
    readonly maxBindingBytes: number,
    readonly maxGroupsPerDimension: number,
    readonly minOffsetAlignment: number,
    /** Pool access for kernel workspace (never counted by the tracker: it is freed within the call). */
    private readonly workspace: { acquire(bytes: number): GPUBuffer; release(buffer: GPUBuffer): void },
  ) {}

  /**
   * A temporary storage for one kernel call. Its buffer goes back to the pool at `releaseScratch`,
   * in stream order, so later kernels may reuse it safely.
   */
  scratch(size: number, dtype: DType): GpuStorage {
    const bytes = size * DTYPE_BYTES[dtype];
    return new GpuStorage(
      this.owner as GpuStorage['backend'],
      size,
      dtype,
      'other',
      this.workspace.acquire(Math.max(bytes, 4)),
    );
  }

  releaseScratch(s: GpuStorage): void {
    s.markFreed();
    this.workspace.release(s.detach());
  }

  /** The data-error flag as a binding (and a note that it must be read before the next read returns). */
  flagBinding(): Binding {
    this.flag ??= this.workspace.acquire(16);
    if (!this.flagPending) this.executor.clear(this.flag, 0, 16);
    this.flagPending = true;
    return { buffer: this.flag, offset: 0, size: 16 };
  }

  /** The flag's [code, value] when a kernel flagged bad data since the last call, then clears it. */
  async takeFlag(): Promise<[number, number] | null> {
    if (!this.flagPending || !this.flag) return null;
    this.flagPending = false;
    const words = new Int32Array(await this.executor.download(this.flag, 0, 8));
    return words[0] === 0 ? null : [words[0] as number, words[1] as number];
  }

  /** The whole storage as one binding; fails naming the limit when it is larger than one binding may be. */
  binding(s: GpuStorage, kernel: string, role: string): Binding {
    const size = Math.min(alignUp(Math.max(s.byteLength, 16), 16), s.buffer.size);
    if (size > this.maxBindingBytes) {
      throw new RangeError(
        `${kernel}: ${role} (${s.dtype}[${s.size}], ${s.byteLength} bytes) is larger than one storage binding may be ` +
          `(maxStorageBufferBindingSize = ${this.maxBindingBytes} bytes on this adapter); this kernel cannot split it`,
      );
    }
    return { buffer: s.buffer, offset: 0, size };
  }

  /** Elements [start, start + count) of `s` as a binding (start aligned by `chunkElements`). */
  rangeBinding(s: GpuStorage, start: number, count: number): Binding {
    const bytes = DTYPE_BYTES[s.dtype];
    const offset = start * bytes;
    const size = Math.min(alignUp(Math.max(count * bytes, 16), 16), s.buffer.size - offset);
    return { buffer: s.buffer, offset, size };
  }

  /**
   * Elements per chunk when a same-index kernel must split storages larger than one binding: a
   * multiple of 1024 elements, so every chunk starts on a word and on the offset alignment.
   */
  chunkElements(dtypes: readonly DType[]): number {
    const widest = Math.max(...dtypes.map((d) => DTYPE_BYTES[d]));
    const unit = Math.max(1024, this.minOffsetAlignment);
    const chunk = Math.floor((this.maxBindingBytes - 16) / widest / unit) * unit;
    if (chunk <= 0)
      throw new RangeError(`WebGPU backend: maxStorageBufferBindingSize ${this.maxBindingBytes} is too small`);
    return chunk;
  }

  groups(count: number): [number, number] {
    return groupsFor(count, this.maxGroupsPerDimension);
  }

  /** Records `kernel` over `threads` invocations (workgroups of WG), its parameter block packed from `fields`. */
  dispatchThreads(
    kernel: Kernel,
    bindings: readonly Binding[],
    [fields, values]: [readonly ParamField[], Readonly<Record<string, number>>],
    threads: number,
  ): void {
    this.executor.dispatch(kernel, bindings, packParams(fields, values), this.groups(Math.ceil(threads / WG)));
  }
}
