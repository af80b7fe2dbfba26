/**
 * LayerNorm with bias: forward (a workgroup per row, two passes over the row so the variance is
 * taken around the mean; mean and rstd are saved for backward) and backward: dx by rows, dweight
 * and dbias by columns, each invocation summing one column over all rows (no atomics, fixed order).
 */
import type { GpuKernel } from './context.js';
import { NORM_FIELDS, readOperand as read, runColumns, runRows, writtenOperand as written } from './rowwise.js';

export const layerNorm: GpuKernel<'layerNorm'> = (ctx, { x, weight, bias, out, mean, rstd }, { rows, cols, eps }) => {
  if (rows === 0) return;
  const body = `  let base = row * p.cols;
  var s = 0.0;
  for (var j = lid; j < p.cols; j += 256u) { s += ld_x(base + j); }
  let mean = wg_sum(s, lid) / f32(p.cols);
  var ss = 0.0;
  for (var j = lid; j < p.cols; j += 256u) { let d = ld_x(base + j) - mean; ss += d * d; }
  let factor = 1.0 / sqrt(wg_sum(ss, lid) / f32(p.cols) + p.eps);
  if (lid == 0u) { st_mean(row, mean); st_rstd(row, factor); }
  for (var j = lid; j < p.cols; j += 256u) {
    st_out(base + j, (ld_x(base + j) - mean) * factor * ld_weight(j) + ld_bias(j));
  }`;
  const ops = [
    read('x', x),
    read('weight', weight),
    read('bias', bias),
    written('out', out),
    written('mean', mean),
    written('rstd', rstd),
  ];
  runRows(ctx, 'WebGPUBackend.layerNorm', ops, NORM_FIELDS, { rows, cols, eps }, body, rows);
};

/** With xhat = (x - mean) rstd and g = dy w: dx = rstd (g - mean(g) - xhat mean(g xhat)). */
export const layerNormBackward: GpuKernel<'layerNormBackward'> = (
  ctx,
  { x, weight, mean, rstd, dy, dx, dweight, dbias },
  { rows, cols },
) => {
  const kernel = 'WebGPUBackend.layerNormBackward';
  if (rows > 0 && cols > 0) {
    const body = `  let base = row * p.cols;
  let mean = ld_mean(row);
  let factor = ld_rstd(row);
  var sg = 0.0;
  var sgx = 0.0;
  for (var j = lid; j < p.cols; j += 256u) {
    let g = ld_dy(base + j) * ld_weight(j);
    sg += g;
    sgx += g * (ld_x(base + j) - mean) * factor;
  }
  let mean_g = wg_sum(sg, lid) / f32(p.cols);
  let mean_gx = wg_sum(sgx, lid) / f32(p.cols);
  for (var j = lid; j < p.cols; j += 256u) {
    let xhat = (ld_x(base + j) - mean) * factor;
    st_dx(base + j, factor * (ld_dy(base + j) * ld_weight(j) - mean_g - xhat * mean_gx));
  }`;
    const ops = [
      read('x', x),
      read('weight', weight),
      read('mean', mean),
      read('rstd', rstd),
      read('dy', dy),
      written('dx', dx),
    ];
    runRows(ctx, kernel, ops, NORM_FIELDS, { rows, cols, eps: 0 }, body, rows);
  }
  if (cols === 0) return;
  // dweight[j] = sum over rows of dy xhat, dbias[j] = sum over rows of dy.
  const columnOps = [
    read('x', x),
    read('mean', mean),
    read('rstd', rstd),
    read('dy', dy),
    written('dweight', dweight),
    written('dbias', dbias),
  ];
  runColumns(
    ctx,
    `${kernel}(dweight, dbias)`,
    columnOps,
    rows,
    cols,
    `  var dw = 0.0;
  var db = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let at = r * p.cols + index;
    let d = ld_dy(at);
    dw += d * (ld_x(at) - ld_mean(r)) * ld_rstd(r);
    db += d;
  }
  st_dweight(index, dw);
  st_dbias(index, db);`,
  );
};
