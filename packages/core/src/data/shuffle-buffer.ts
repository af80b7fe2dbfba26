import type { Xoshiro128 } from './prng.js';

/**
 * Approximate shuffling of an endless stream in bounded memory: the buffer holds up to `capacity`
 * items; once full, each new item takes the place of a uniformly chosen resident, which is emitted.
 * A capacity of 0 or 1 passes items through in order.
 */
export class ShuffleBuffer<T> {
  private readonly items: T[];

  constructor(
    readonly capacity: number,
    private readonly rng: Xoshiro128,
    initial: readonly T[] = [],
  ) {
    if (!Number.isInteger(capacity) || capacity < 0)
      throw new RangeError(`shuffle buffer capacity must be a non-negative integer, got ${capacity}`);
    if (initial.length > Math.max(capacity, 0))
      throw new RangeError(`shuffle buffer holds ${initial.length} items but its capacity is ${capacity}`);
    this.items = [...initial];
  }

  get size(): number {
    return this.items.length;
  }

  /** Adds `item`; returns the item leaving the buffer, or undefined while it is still filling. */
  offer(item: T): T | undefined {
    if (this.capacity <= 1) return item;
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return undefined;
    }
    const index = this.rng.nextInt(this.items.length);
    const out = this.items[index] as T;
    this.items[index] = item;
    return out;
  }

  /** Removes a uniformly chosen resident (draining at the end of the stream), or undefined if empty. */
  take(): T | undefined {
    if (this.items.length === 0) return undefined;
    const index = this.rng.nextInt(this.items.length);
    const out = this.items[index] as T;
    const last = this.items.pop() as T;
    if (index < this.items.length) this.items[index] = last;
    return out;
  }

  /** The residents, for saving; restore with `new ShuffleBuffer(capacity, rng, contents)`. */
  contents(): readonly T[] {
    return this.items;
  }
}
