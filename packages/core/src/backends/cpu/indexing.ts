/** Row gather and scatter-add by int32 ids (embedding lookup and its gradient). */
import { DATA_ERROR, dataError } from '../../kernels/data-errors.js';
import { openOutput, precisionOf, readValues } from './numeric.js';
import type { CpuStorage } from './storage.js';

/** The ids, each a row of a [rows, dim] storage (a data error otherwise). */
function checkIds(ids: CpuStorage, rows: number, code: number): Int32Array {
  const values = ids.data as Int32Array;
  for (let i = 0; i < values.length; i++) {
    const id = values[i] as number;
    if (id < 0 || id >= rows) throw dataError(code, id);
  }
  return values;
}

export function gatherRows(table: CpuStorage, ids: CpuStorage, out: CpuStorage, dim: number): void {
  const idValues = checkIds(ids, table.size / dim, DATA_ERROR.gatherId);
  // Same dtype, so the raw elements (16-bit patterns included) are copied as they are.
  const src = table.data;
  const dst = out.data;
  for (let i = 0; i < idValues.length; i++) {
    const from = (idValues[i] as number) * dim;
    dst.set(src.subarray(from, from + dim) as never, i * dim);
  }
}

/**
 * acc[ids[i]] += src[i] on float32 arrays: one monomorphic loop (the general one below reads
 * through the Values union). Each float32 store rounds the float64 sum once, as Math.fround does.
 */
function addRowsFloat32(src: Float32Array, ids: Int32Array, acc: Float32Array, dim: number): void {
  for (let i = 0; i < ids.length; i++) {
    const to = (ids[i] as number) * dim;
    const from = i * dim;
    for (let j = 0; j < dim; j++) acc[to + j] = (acc[to + j] as number) + (src[from + j] as number);
  }
}

export function scatterAddRows(src: CpuStorage, ids: CpuStorage, out: CpuStorage, dim: number): void {
  const idValues = checkIds(ids, out.size / dim, DATA_ERROR.scatterId);
  if (src.data instanceof Float32Array && out.data instanceof Float32Array) {
    addRowsFloat32(src.data, idValues, out.data, dim);
    return;
  }
  const values = readValues(src);
  const precision = precisionOf(src, out);
  const target = openOutput(out, precision, true);
  const acc = target.values;
  const round = precision === 'f32' && acc instanceof Float64Array;
  for (let i = 0; i < idValues.length; i++) {
    const to = (idValues[i] as number) * dim;
    const from = i * dim;
    for (let j = 0; j < dim; j++) {
      const sum = (acc[to + j] as number) + (values[from + j] as number);
      // A float32-precision sum is rounded at every step, as repeated ids accumulate in place.
      acc[to + j] = round ? Math.fround(sum) : sum;
    }
  }
  target.commit();
}
