/** Row gather and scatter-add by int32 ids (embedding lookup and its gradient). */
import { expectCount, expectDistinct, expectDType } from '../kernel-checks.js';
import { openOutput, precisionOf, readValues } from './numeric.js';
import type { CpuStorage } from './storage.js';

function checkIds(ids: CpuStorage, rows: number, kernel: string): Int32Array {
  expectDType(ids, ['int32'], kernel, 'ids');
  const values = ids.data as Int32Array;
  for (let i = 0; i < values.length; i++) {
    const id = values[i] as number;
    if (id < 0 || id >= rows)
      throw new RangeError(`${kernel}: ids[${i}] = ${id} is outside the table's rows 0..${rows - 1}`);
  }
  return values;
}

function rowsOf(s: CpuStorage, dim: number, kernel: string, role: string): number {
  if (s.size % dim !== 0) {
    throw new RangeError(`${kernel}: ${role} has ${s.size} elements, not a whole number of rows of dim ${dim}`);
  }
  return s.size / dim;
}

export function gatherRows(table: CpuStorage, ids: CpuStorage, out: CpuStorage, dim: number): void {
  const kernel = 'CpuBackend.gatherRows';
  expectCount(dim, kernel, 'dim');
  if (dim === 0) return;
  const tableRows = rowsOf(table, dim, kernel, 'table');
  if (out.size !== ids.size * dim) {
    throw new RangeError(`${kernel}: out has ${out.size} elements; expected ids.size * dim = ${ids.size * dim}`);
  }
  if (table.dtype !== out.dtype)
    throw new TypeError(`${kernel}: out is ${out.dtype} but table is ${table.dtype}; they must match`);
  const idValues = checkIds(ids, tableRows, kernel);
  // Same dtype, so the raw elements (16-bit patterns included) are copied as they are.
  const src = table.data;
  const dst = out.data;
  for (let i = 0; i < idValues.length; i++) {
    const from = (idValues[i] as number) * dim;
    dst.set(src.subarray(from, from + dim) as never, i * dim);
  }
}

export function scatterAddRows(src: CpuStorage, ids: CpuStorage, out: CpuStorage, dim: number): void {
  const kernel = 'CpuBackend.scatterAddRows';
  expectCount(dim, kernel, 'dim');
  if (dim === 0) return;
  expectDistinct(src, out, kernel, 'src and out');
  const outRows = rowsOf(out, dim, kernel, 'out');
  if (src.size !== ids.size * dim) {
    throw new RangeError(`${kernel}: src has ${src.size} elements; expected ids.size * dim = ${ids.size * dim}`);
  }
  const idValues = checkIds(ids, outRows, kernel);
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
