/** A growable FIFO of int32 token ids: tokens wait here until a full sequence can be cut. */
export class TokenQueue {
  private buffer: Int32Array;
  private start = 0;
  private end = 0;

  constructor(initial?: Int32Array) {
    this.buffer = new Int32Array(Math.max(1024, initial?.length ?? 0));
    if (initial) this.pushAll(initial);
  }

  get length(): number {
    return this.end - this.start;
  }

  pushAll(ids: ArrayLike<number>): void {
    if (this.end + ids.length > this.buffer.length) {
      const needed = this.length + ids.length;
      const target =
        needed > this.buffer.length / 2 ? new Int32Array(Math.max(needed, this.buffer.length * 2)) : this.buffer;
      target.set(this.buffer.subarray(this.start, this.end), 0); // set() handles the overlap when target is the same buffer
      this.buffer = target;
      this.end = this.length;
      this.start = 0;
    }
    this.buffer.set(ids, this.end);
    this.end += ids.length;
  }

  push(id: number): void {
    this.pushAll([id]);
  }

  /** Removes and returns the first `n` ids (a copy). */
  shift(n: number): Int32Array {
    if (n > this.length) throw new RangeError(`cannot take ${n} tokens from a queue of ${this.length}`);
    const out = this.buffer.slice(this.start, this.start + n);
    this.start += n;
    if (this.start === this.end) this.start = this.end = 0;
    return out;
  }

  /** A copy of the queued ids. */
  toArray(): Int32Array {
    return this.buffer.slice(this.start, this.end);
  }
}
