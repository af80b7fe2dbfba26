/** What every kernel module needs from the backend: the executor, limits, and checked bindings. */
import type { DType } from '@galore-ts/core';
import { DTYPE_BYTES } from '@galore-ts/core';
import type { BindingKind } from '../executor.js';
import { alignUp, type Binding, type Executor } from '../executor.js';
import { GpuStorage } from '../storage.js';
import { groupsFor, type Operand } from '../wgsl.js';

/** The layout of a kernel with a parameter block at binding 0 and `ops` after it. */
export function bindingKinds(ops: readonly Operand[], withParams = true): BindingKind[] {
  const kinds: BindingKind[] = ops.map((op) => (op.mode === 'read' ? 'read' : 'write'));
  return withParams ? ['uniform', ...kinds] : kinds;
}

export class KernelContext {
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
}
