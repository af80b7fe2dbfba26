/**
 * Building blocks of kernels that give one workgroup to each row: the entry point, and sum / max
 * reductions across the workgroup through workgroup memory; and of the per-column sums over rows
 * that the normalisations' weight gradients need.
 */
import type { GpuStorage } from '../storage.js';
import * as wgsl from '../wgsl.js';
import { WG } from '../wgsl.js';
import { bindingKinds, flagCode, type KernelContext } from './context.js';

export const ROW_WG = WG;

export const ROW_REDUCTIONS = /* wgsl */ `
var<workgroup> red: array<f32, ${ROW_WG}>;
fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wg_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

/**
 * Entry point with `row` (the workgroup's row, < p.rows) and `lid` (0..ROW_WG-1). The early return
 * is uniform across the workgroup, so the barriers after it are legal.
 */
export function rowMain(body: string): string {
  return `@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) groups: vec3<u32>) {
  let row = wid.x + wid.y * groups.x;
  if (row >= p.rows) { return; }
${body}
}`;
}

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

/** Parameters of the normalisation kernels (rmsNorm, layerNorm and their backward passes). */
export const NORM_FIELDS: wgsl.ParamField[] = [
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['eps', 'f32'],
];

export const readOperand = (name: string, s: GpuStorage): [wgsl.Operand, GpuStorage] => [
  { name, dtype: s.dtype, mode: 'read' },
  s,
];

export const writtenOperand = (name: string, s: GpuStorage): [wgsl.Operand, GpuStorage] => [
  { name, dtype: s.dtype, mode: 'atomic' },
  s,
];

/**
 * One invocation per column `index` < p.cols, each looping over every row in order (no atomics, a
 * fixed summation order): `body` computes and stores that column's sums.
 */
export function runColumns(
  ctx: KernelContext,
  kernel: string,
  ops: readonly [wgsl.Operand, GpuStorage][],
  rows: number,
  cols: number,
  body: string,
): void {
  const operands = ops.map(([op]) => op);
  const code = [
    wgsl.PRELUDE,
    wgsl.declareParams(NORM_FIELDS),
    wgsl.declareBindings(1, operands),
    ...operands.map((op) => wgsl.loader(op)),
    ...operands.filter((op) => op.mode !== 'read').map((op) => wgsl.storer(op)),
    wgsl.linearMain(`  if (index >= p.cols) { return; }\n${body}`),
  ].join('\n');
  const compiled = ctx.executor.kernel(kernel, code, bindingKinds(operands));
  const bindings = ops.map(([op, s]) => ctx.binding(s, kernel, op.name));
  ctx.executor.dispatch(
    compiled,
    bindings,
    wgsl.packParams(NORM_FIELDS, { rows, cols, eps: 0 }),
    ctx.groups(Math.ceil(cols / wgsl.WG)),
  );
}
