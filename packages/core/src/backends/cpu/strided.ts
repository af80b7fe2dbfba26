/**
 * Strided iteration for elementwise kernels and copies. Dimensions are first simplified (size-1
 * dimensions dropped, neighbours merged when every operand walks them as one), then the kernel
 * walks the result one innermost row at a time with each operand's start offset and inner stride,
 * so its hot loop is a plain 1-D loop. The walk is a cursor the kernel advances itself rather than
 * a callback: a call per row through a closure costs as much as a short row's elements.
 */
import { collapseDims, contiguousStrides, sizeOf } from '../../shape.js';

export interface StridedOperand {
  strides: readonly number[];
  offset: number;
}

/**
 * The innermost rows of a strided walk. Usage:
 * `for (let r = 0; r < rows.count; r++, rows.next()) kernel(rows.starts, rows.length, rows.inner)`.
 */
export class StridedRows {
  /** Number of rows (0 for an empty shape). */
  readonly count: number;
  /** Elements per row. */
  readonly length: number;
  /** Each operand's element stride along a row. */
  readonly inner: readonly number[];
  /** Each operand's element offset at the current row's start. */
  readonly starts: number[];
  readonly #dims: number[];
  readonly #strides: number[][];
  readonly #index: number[];

  constructor(shape: readonly number[], operands: readonly StridedOperand[]) {
    const size = sizeOf(shape);
    const { shape: dims, strides } = collapseDims(
      shape,
      operands.map((op) => op.strides),
    );
    const rank = dims.length;
    this.length = rank === 0 ? 1 : (dims[rank - 1] as number);
    this.count = size === 0 ? 0 : size / this.length;
    this.inner = strides.map((s) => (rank === 0 ? 0 : (s[rank - 1] as number)));
    this.starts = operands.map((op) => op.offset);
    this.#dims = dims.slice(0, -1);
    this.#strides = strides;
    this.#index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  }

  /** Moves `starts` to the next row (an odometer over the outer dimensions). */
  next(): void {
    const dims = this.#dims;
    const index = this.#index;
    const starts = this.starts;
    const strides = this.#strides;
    for (let d = dims.length - 1; d >= 0; d--) {
      const extent = dims[d] as number;
      const at = (index[d] as number) + 1;
      const back = at < extent ? 1 : 1 - extent;
      index[d] = at < extent ? at : 0;
      for (let k = 0; k < starts.length; k++) {
        starts[k] = (starts[k] as number) + back * ((strides[k] as number[])[d] as number);
      }
      if (at < extent) return;
    }
  }
}

/** The rows of a broadcasting kernel: its contiguous output of `shape` first, then each input read with `strides`. */
export function broadcastRows(shape: readonly number[], strides: readonly (readonly number[])[]): StridedRows {
  const operands = [contiguousStrides(shape), ...strides].map((s) => ({ strides: s, offset: 0 }));
  return new StridedRows(shape, operands);
}
