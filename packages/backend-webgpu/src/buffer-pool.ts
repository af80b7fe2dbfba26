/**
 * Storage buffers recycled by size class. A freed buffer may be handed out again at once: every
 * command runs in queue order, so its next user's work starts after its last user's. Buffers the
 * pool drops are destroyed only once the queue has finished the work submitted so far, because
 * destroying a buffer that an in-flight command still reads is an error on some drivers.
 */
export const BUFFER_USAGE = {
  MAP_READ: 0x1,
  MAP_WRITE: 0x2,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;

const STORAGE_USAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;
const MIN_CLASS = 256;
const SMALL_LIMIT = 1 << 20;

/**
 * Size classes: powers of two up to 1 MiB, then four classes per doubling (at most 25% waste),
 * so a training step's repeated shapes find their buffers again.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS) return MIN_CLASS;
  const pow = 2 ** Math.ceil(Math.log2(bytes));
  if (bytes <= SMALL_LIMIT) return pow;
  const step = pow / 8;
  return Math.ceil(bytes / step) * step;
}

export interface PoolStats {
  /** Bytes of GPU buffers held now: in use plus cached. */
  reservedBytes: number;
  cachedBytes: number;
  peakReservedBytes: number;
  buffersCreated: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private cached = 0;
  private reserved = 0;
  private peakReserved = 0;
  private created = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly cacheLimitBytes: number,
    /** Destroys buffers after the queue's pending work; provided by the executor. */
    private readonly destroyWhenIdle: (buffers: GPUBuffer[]) => void,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const reuse = this.free.get(size)?.pop();
    if (reuse) {
      this.cached -= size;
      return reuse;
    }
    const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE });
    this.created++;
    this.reserved += size;
    if (this.reserved > this.peakReserved) this.peakReserved = this.reserved;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buffer);
    this.cached += size;
    if (this.cached > this.cacheLimitBytes) this.trim(this.cacheLimitBytes / 2);
  }

  /** Drops cached buffers, largest first, until at most `keepBytes` stay cached. */
  trim(keepBytes = 0): void {
    const dropped: GPUBuffer[] = [];
    const sizes = [...this.free.keys()].sort((a, b) => b - a);
    for (const size of sizes) {
      const list = this.free.get(size) as GPUBuffer[];
      while (list.length > 0 && this.cached > keepBytes) {
        dropped.push(list.pop() as GPUBuffer);
        this.cached -= size;
        this.reserved -= size;
      }
      if (list.length === 0) this.free.delete(size);
    }
    if (dropped.length > 0) this.destroyWhenIdle(dropped);
  }

  stats(): PoolStats {
    return {
      reservedBytes: this.reserved,
      cachedBytes: this.cached,
      peakReservedBytes: this.peakReserved,
      buffersCreated: this.created,
    };
  }
}
