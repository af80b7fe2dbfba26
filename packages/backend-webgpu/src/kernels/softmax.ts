/** Row softmax and log-softmax (optionally causal) and their backward passes: a workgroup per row. */
import type { SoftmaxParams } from '@galore-ts/core';

import type { GpuStorage } from '../storage.js';
import * as wgsl from '../wgsl.js';
import { bindingKinds, flagCode, type KernelContext } from './context.js';
import { ROW_REDUCTIONS, rowMain } from './rowwise.js';

const FIELDS: wgsl.ParamField[] = [
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['causal', 'u32'],
  ['queryLen', 'u32'],
  ['offset', 'i32'],
];

/** Records a row kernel over `ops` (inputs read, last one written) with `body`. */
export function runRows(
  ctx: KernelContext,
  kernel: string,
  ops: readonly [wgsl.Operand, GpuStorage][],
  fields: readonly wgsl.ParamField[],
  values: Record<string, number>,
  body: string,
  rows: number,
  flag = false,
): void {
  const operands = ops.map(([op]) => op);
  const code = [
    wgsl.PRELUDE,
    ROW_REDUCTIONS,
    wgsl.declareParams(fields),
    wgsl.declareBindings(1, operands),
    ...operands.map((op) => wgsl.loader(op)),
    ...operands.filter((op) => op.mode !== 'read').map((op) => wgsl.storer(op)),
    flag ? flagCode(operands.length + 1) : '',
    rowMain(body),
  ].join('\n');
  const kinds = bindingKinds(operands);
  const compiled = ctx.executor.kernel(kernel, code, flag ? [...kinds, 'write'] : kinds);
  const bindings = ops.map(([op, s]) => ctx.binding(s, kernel, op.name));
  if (flag) bindings.push(ctx.flagBinding());
  ctx.executor.dispatch(compiled, bindings, wgsl.packParams(fields, values), ctx.groups(rows));
}

/** softmax (log: logSoftmax) of each row, causal rows masked as the params say. */
export function softmaxForward(
  ctx: KernelContext,
  x: GpuStorage,
  out: GpuStorage,
  params: SoftmaxParams,
  log: boolean,
): void {
  const kernel = log ? 'WebGPUBackend.logSoftmax' : 'WebGPUBackend.softmax';
  const { rows, cols, causal } = params;
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
}

const BACKWARD_FIELDS: wgsl.ParamField[] = [
  ['rows', 'u32'],
  ['cols', 'u32'],
];

/** dx from the forward output y and dy, for softmax or (log) logSoftmax. */
export function softmaxBackward(
  ctx: KernelContext,
  y: GpuStorage,
  dy: GpuStorage,
  dx: GpuStorage,
  { rows, cols }: { rows: number; cols: number },
  log: boolean,
): void {
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
}
