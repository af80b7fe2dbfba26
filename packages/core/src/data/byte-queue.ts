/**
 * A growable FIFO of bytes in one buffer, so a line longer than a read chunk is joined in amortised
 * linear time instead of being re-concatenated on every chunk.
 */
export class ByteQueue {
  private buffer = Buffer.alloc(1 << 16);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    if (this.end + chunk.byteLength > this.buffer.byteLength) {
      const needed = this.length + chunk.byteLength;
      const target =
        needed > this.buffer.byteLength / 2 ? Buffer.alloc(Math.max(needed, this.buffer.byteLength * 2)) : this.buffer;
      this.buffer.copy(target, 0, this.start, this.end);
      this.buffer = target;
      this.end = this.length;
      this.start = 0;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.byteLength;
  }

  /** Index (relative to the front) of the first `byte` at or after `from`, or -1. */
  indexOf(byte: number, from = 0): number {
    return this.buffer.subarray(this.start, this.end).indexOf(byte, from);
  }

  /** Index of the last `byte` before `before`, or -1. */
  lastIndexOf(byte: number, before: number): number {
    if (before <= 0) return -1;
    return this.buffer.subarray(this.start, this.start + before).lastIndexOf(byte);
  }

  at(index: number): number {
    return this.buffer[this.start + index] as number;
  }

  /** Removes the first `n` bytes and returns them as a string (invalid UTF-8 becomes U+FFFD). */
  shiftText(n: number): string {
    const text = this.buffer.toString('utf8', this.start, this.start + n);
    this.start += n;
    if (this.start === this.end) this.start = this.end = 0;
    return text;
  }
}
