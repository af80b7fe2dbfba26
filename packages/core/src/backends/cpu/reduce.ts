/** Reductions over the middle axis of an [outer, reduce, inner] view: sum, max, min and argmax. */
import type { ReduceLayout, ReduceOp } from '../../backend.js';
import { openOutput, precisionOf, readValues, type Values } from './numeric.js';
import type { CpuStorage } from './storage.js';

/** Sums in float64 (exact for integers, at least float32-accurate for floats), rounded on store. */
function sumInto(x: Values, out: Values, { outer, reduce, inner }: ReduceLayout): void {
  for (let o = 0; o < outer; o++) {
    const base = o * reduce * inner;
    if (inner === 1) {
      let acc = 0;
      for (let r = 0; r < reduce; r++) acc += x[base + r] as number;
      out[o] = acc;
      continue;
    }
    // Row by row keeps reads contiguous when the reduced axis is not the last one.
    const acc = new Float64Array(inner);
    for (let r = 0; r < reduce; r++) {
      const row = base + r * inner;
      for (let i = 0; i < inner; i++) acc[i] = (acc[i] as number) + (x[row + i] as number);
    }
    out.set(acc, o * inner);
  }
}

/** max or min; NaN propagates, as in PyTorch. */
function extremumInto(x: Values, out: Values, { outer, reduce, inner }: ReduceLayout, isMax: boolean): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let at = o * reduce * inner + i;
      let best = x[at] as number;
      for (let r = 1; r < reduce; r++) {
        at += inner;
        const v = x[at] as number;
        if ((isMax ? v > best : v < best) || Number.isNaN(v)) best = v;
        if (Number.isNaN(best)) break;
      }
      out[o * inner + i] = best;
    }
  }
}

export function reduce(op: ReduceOp, x: CpuStorage, out: CpuStorage, layout: ReduceLayout): void {
  const values = readValues(x);
  const target = openOutput(out, precisionOf(x));
  if (op === 'sum') sumInto(values, target.values, layout);
  else extremumInto(values, target.values, layout, op === 'max');
  target.commit();
}

/** Index of the first maximum (a NaN counts as the maximum, as in PyTorch). */
export function argmax(x: CpuStorage, out: CpuStorage, layout: ReduceLayout): void {
  const { outer, reduce, inner } = layout;
  const values = readValues(x);
  const result = out.data as Int32Array;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let at = o * reduce * inner + i;
      let best = values[at] as number;
      let bestIndex = 0;
      for (let r = 1; r < reduce && !Number.isNaN(best); r++) {
        at += inner;
        const v = values[at] as number;
        if (v > best || Number.isNaN(v)) {
          best = v;
          bestIndex = r;
        }
      }
      result[o * inner + i] = bestIndex;
    }
  }
}
