/** Row softmax and log-softmax (optionally causal) and their backward passes: a workgroup per row. */
import type { GpuStorage } from '../storage.js';
import type * as wgsl from '../wgsl.js';
import type { GpuKernel } from './context.js';
import { runRows } from './rowwise.js';

const FIELDS: wgsl.ParamField[] = [
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['causal', 'u32'],
  ['queryLen', 'u32'],
  ['offset', 'i32'],
];

/** softmax (log: logSoftmax) of each row, causal rows masked as the params say. */
const forward =
  (log: boolean): GpuKernel<'softmax' | 'logSoftmax'> =>
  (ctx, { x, out }, { rows, cols, causal }) => {
    const kernel = log ? 'WebGPUBackend.logSoftmax' : 'WebGPUBackend.softmax';
    if (rows * cols === 0) return;
    const masked = log ? '-f32_inf()' : '0.0';
    const value = log ? 'v - shift' : 'exp(v - mx) * scale';
    const body = `  let base = row * p.cols;
  var seen = p.cols;
  if (p.causal != 0u) { seen = u32(clamp(i32(row % p.queryLen) + p.offset + 1, 0, i32(p.cols))); }
  var mx = -f32_inf();
  for (var j = lid; j < seen; j += 256u) { mx = max(mx, ld_x(base + j)); }
  mx = wg_max(mx, lid);
  var sum = 0.0;
  for (var j = lid; j < seen; j += 256u) { sum += exp(ld_x(base + j) - mx); }
  sum = wg_sum(sum, lid);
  // An all -Infinity row behaves like a fully masked one.
  let empty = mx == -f32_inf();
  let shift = mx + log(sum);
  let scale = 1.0 / sum;
  for (var j = lid; j < p.cols; j += 256u) {
    var y = ${masked};
    if (j < seen && !empty) { let v = ld_x(base + j); y = ${value}; }
    st_out(base + j, y);
  }`;
    const values = {
      rows,
      cols,
      causal: causal ? 1 : 0,
      queryLen: causal?.queryLen ?? 1,
      offset: causal?.offset ?? 0,
    };
    runRows(
      ctx,
      kernel,
      [
        [{ name: 'x', dtype: x.dtype, mode: 'read' }, x],
        [{ name: 'out', dtype: out.dtype, mode: 'atomic' }, out],
      ],
      FIELDS,
      values,
      body,
      rows,
    );
  };

export const softmax = forward(false);
export const logSoftmax = forward(true);

const BACKWARD_FIELDS: wgsl.ParamField[] = [
  ['rows', 'u32'],
  ['cols', 'u32'],
];

/** dx from the forward output y and dy, for softmax or (log) logSoftmax. */
const backward =
  (log: boolean): GpuKernel<'softmaxBackward' | 'logSoftmaxBackward'> =>
  (ctx, { y, dy, dx }, { rows, cols }) => {
    const kernel = log ? 'WebGPUBackend.logSoftmaxBackward' : 'WebGPUBackend.softmaxBackward';
    if (rows * cols === 0) return;
    const reduced = log ? 'ld_dy(base + j)' : 'ld_dy(base + j) * ld_y(base + j)';
    const value = log ? 'ld_dy(base + j) - exp(ld_y(base + j)) * total' : 'ld_y(base + j) * (ld_dy(base + j) - total)';
    const body = `  let base = row * p.cols;
  var acc = 0.0;
  for (var j = lid; j < p.cols; j += 256u) { acc += ${reduced}; }
  let total = wg_sum(acc, lid);
  for (var j = lid; j < p.cols; j += 256u) { st_dx(base + j, ${value}); }`;
    const ops: [wgsl.Operand, GpuStorage][] = [
      [{ name: 'y', dtype: y.dtype, mode: 'read' }, y],
      [{ name: 'dy', dtype: dy.dtype, mode: 'read' }, dy],
      [{ name: 'dx', dtype: dx.dtype, mode: 'atomic' }, dx],
    ];
    runRows(ctx, kernel, ops, BACKWARD_FIELDS, { rows, cols }, body, rows);
  };

export const softmaxBackward = backward(false);
export const logSoftmaxBackward = backward(true);
