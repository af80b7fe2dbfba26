/**
 * Per-row cross-entropy against int32 targets and its gradient: a workgroup per row. Targets
 * cannot be checked on the host without a download, so an out-of-range target gives a NaN loss
 * (and NaN gradient row) and is flagged for the next read or sync to report; `ignoreIndex` rows
 * give 0.
 */

import { DATA_ERROR } from '@galore-ts/core';
import type { GpuStorage } from '../storage.js';
import type { Operand, ParamField } from '../wgsl.js';
import type { GpuKernel } from './context.js';
import { runRows } from './rowwise.js';

const FIELDS: ParamField[] = [
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['ignore', 'i32'],
];

/** Row max and log-sum-exp, then the label's logit (NaN, and the flag set, when the label is out of range). */
const ROW_STATS = `  let base = row * p.cols;
  let label = targets[row];
  var mx = -f32_inf();
  for (var j = lid; j < p.cols; j += 256u) { mx = max(mx, ld_logits(base + j)); }
  mx = wg_max(mx, lid);
  var sum = 0.0;
  for (var j = lid; j < p.cols; j += 256u) { sum += exp(ld_logits(base + j) - mx); }
  sum = wg_sum(sum, lid);
  let ignored = label == p.ignore;
  let valid = label >= 0 && u32(label) < p.cols;
  if (!ignored && !valid && lid == 0u) { flag_error(${DATA_ERROR.target}, label); }`;

export const crossEntropy: GpuKernel<'crossEntropy'> = (
  ctx,
  { logits, targets, loss },
  { rows, cols, ignoreIndex },
) => {
  const kernel = 'WebGPUBackend.crossEntropy';
  if (rows === 0) return;
  const body = `${ROW_STATS}
  if (lid == 0u) {
    var value = 0.0;
    if (!ignored) {
      value = f32_nan();
      if (valid) { value = mx + log(sum) - ld_logits(base + u32(label)); }
    }
    st_loss(row, value);
  }`;
  const ops: [Operand, GpuStorage][] = [
    [{ name: 'logits', dtype: logits.dtype, mode: 'read' }, logits],
    [{ name: 'targets', dtype: 'int32', mode: 'read' }, targets],
    [{ name: 'loss', dtype: loss.dtype, mode: 'atomic' }, loss],
  ];
  runRows(ctx, kernel, ops, FIELDS, { rows, cols, ignore: ignoreIndex }, body, rows, true);
};

export const crossEntropyBackward: GpuKernel<'crossEntropyBackward'> = (
  ctx,
  { logits, targets, dloss, dx },
  { rows, cols, ignoreIndex },
) => {
  const kernel = 'WebGPUBackend.crossEntropyBackward';
  if (rows * cols === 0) return;
  const body = `${ROW_STATS}
  let scale = ld_dloss(row);
  let inv = 1.0 / sum;
  for (var j = lid; j < p.cols; j += 256u) {
    var g = 0.0;
    if (!ignored) {
      g = f32_nan();
      if (valid) { g = scale * (exp(ld_logits(base + j) - mx) * inv - select(0.0, 1.0, j == u32(label))); }
    }
    st_dx(base + j, g);
  }`;
  const ops: [Operand, GpuStorage][] = [
    [{ name: 'logits', dtype: logits.dtype, mode: 'read' }, logits],
    [{ name: 'targets', dtype: 'int32', mode: 'read' }, targets],
    [{ name: 'dloss', dtype: dloss.dtype, mode: 'read' }, dloss],
    [{ name: 'dx', dtype: dx.dtype, mode: 'atomic' }, dx],
  ];
  runRows(ctx, kernel, ops, FIELDS, { rows, cols, ignore: ignoreIndex }, body, rows, true);
};
