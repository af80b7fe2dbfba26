/**
 * RMSNorm forward (a workgroup per row; rstd is saved for backward) and backward: dx by rows, and
 * dweight by columns, each invocation summing one column over all rows (no atomics, fixed order).
 */

import type { GpuKernel } from './context.js';
import { NORM_FIELDS, readOperand as read, runColumns, runRows, writtenOperand as written } from './rowwise.js';

export const rmsNorm: GpuKernel<'rmsNorm'> = (ctx, { x, weight, out, rstd }, { rows, cols, eps }) => {
  const kernel = 'WebGPUBackend.rmsNorm';
  if (rows === 0) return;
  // out is computed with rstd as stored, so backward sees the same factor.
  const body = `  let base = row * p.cols;
  var ss = 0.0;
  for (var j = lid; j < p.cols; j += 256u) { let v = ld_x(base + j); ss += v * v; }
  ss = wg_sum(ss, lid);
  if (lid == 0u) { st_rstd(row, 1.0 / sqrt(ss / f32(p.cols) + p.eps)); }
  let factor = 1.0 / sqrt(ss / f32(p.cols) + p.eps);
  for (var j = lid; j < p.cols; j += 256u) { st_out(base + j, ld_x(base + j) * factor * ld_weight(j)); }`;
  const ops = [read('x', x), read('weight', weight), written('out', out), written('rstd', rstd)];
  runRows(ctx, kernel, ops, NORM_FIELDS, { rows, cols, eps }, body, rows);
};

export const rmsNormBackward: GpuKernel<'rmsNormBackward'> = (
  ctx,
  { x, weight, rstd, dy, dx, dweight },
  { rows, cols },
) => {
  const kernel = 'WebGPUBackend.rmsNormBackward';
  if (rows > 0 && cols > 0) {
    const body = `  let base = row * p.cols;
  let factor = ld_rstd(row);
  var dot = 0.0;
  for (var j = lid; j < p.cols; j += 256u) { dot += ld_dy(base + j) * ld_weight(j) * ld_x(base + j); }
  dot = wg_sum(dot, lid);
  let correction = factor * factor * dot / f32(p.cols);
  for (var j = lid; j < p.cols; j += 256u) {
    st_dx(base + j, factor * (ld_weight(j) * ld_dy(base + j) - ld_x(base + j) * correction));
  }`;
    const ops = [read('x', x), read('weight', weight), read('rstd', rstd), read('dy', dy), written('dx', dx)];
    runRows(ctx, kernel, ops, NORM_FIELDS, { rows, cols, eps: 0 }, body, rows);
  }
  if (cols === 0) return;
  // dweight[j] = sum over rows of dy[r, j] * x[r, j] * rstd[r]
  const columnOps = [read('x', x), read('rstd', rstd), read('dy', dy), written('dweight', dweight)];
  runColumns(
    ctx,
    `${kernel}(dweight)`,
    columnOps,
    rows,
    cols,
    `  var acc = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let at = r * p.cols + index;
    acc += ld_dy(at) * ld_x(at) * ld_rstd(r);
  }
  st_dweight(index, acc);`,
  );
};
