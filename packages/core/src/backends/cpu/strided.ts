/**
 * Strided iteration for elementwise kernels and copies. Dimensions are first simplified (size-1
 * dimensions dropped, neighbours merged when every operand walks them as one), then the kernel
 * body runs once per innermost row with each operand's start offset and inner stride, so the hot
 * loop is a plain 1-D loop.
 */
import { collapseDims, sizeOf } from '../../shape.js';

export interface StridedOperand {
  strides: readonly number[];
  offset: number;
}

/**
 * Calls `row(starts, length, innerStrides)` once per innermost row; `starts[k]` is operand k's
 * element offset at the row start. `starts` is reused between calls.
 */
export function forEachRow(
  shape: readonly number[],
  operands: readonly StridedOperand[],
  row: (starts: number[], length: number, innerStrides: readonly number[]) => void,
): void {
  if (sizeOf(shape) === 0) return;
  const { shape: dims, strides } = collapseDims(
    shape,
    operands.map((op) => op.strides),
  );
  const count = operands.length;
  const starts = operands.map((op) => op.offset);
  if (dims.length === 0) {
    row(
      starts,
      1,
      operands.map(() => 0),
    );
    return;
  }
  const rank = dims.length;
  const length = dims[rank - 1] as number;
  const inner = strides.map((s) => s[rank - 1] as number);
  const index = new Array<number>(rank - 1).fill(0);
  const base = starts.slice();
  for (;;) {
    for (let k = 0; k < count; k++) starts[k] = base[k] as number;
    row(starts, length, inner);
    // Odometer increment over the outer dimensions.
    let d = rank - 2;
    for (; d >= 0; d--) {
      const next = (index[d] as number) + 1;
      if (next < (dims[d] as number)) {
        index[d] = next;
        for (let k = 0; k < count; k++) base[k] = (base[k] as number) + ((strides[k] as number[])[d] as number);
        break;
      }
      index[d] = 0;
      for (let k = 0; k < count; k++) {
        base[k] = (base[k] as number) - ((dims[d] as number) - 1) * ((strides[k] as number[])[d] as number);
      }
    }
    if (d < 0) return;
  }
}
