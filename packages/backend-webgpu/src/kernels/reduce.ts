/**
 * Reductions over the middle axis of [outer, reduce, inner], and argmax. Rows that are long and
 * contiguous (inner = 1) get a workgroup each and a tree reduction; otherwise each invocation walks
 * one output's column, which reads memory coalesced across invocations.
 */
import type { ReduceLayout, ReduceOp } from '@galore-ts/core';

import type { GpuStorage } from '../storage.js';
import * as wgsl from '../wgsl.js';
import { bindingKinds, type GpuKernel, type KernelContext } from './context.js';
import { rowMain } from './rowwise.js';

const FIELDS: wgsl.ParamField[] = [
  ['rows', 'u32'],
  ['outer', 'u32'],
  ['reduce', 'u32'],
  ['inner', 'u32'],
];

/** Reductions of at least this length with inner = 1 use a workgroup per output. */
const WORKGROUP_THRESHOLD = 256;

interface Combine {
  type: 'f32' | 'i32';
  init: string;
  step: (acc: string, v: string) => string;
}

function combineFor(op: ReduceOp, integer: boolean): Combine {
  const type = integer ? 'i32' : 'f32';
  switch (op) {
    case 'sum':
      return { type, init: integer ? '0' : '0.0', step: (a, v) => `${a} + ${v}` };
    case 'max':
      return {
        type,
        init: integer ? '-2147483647 - 1' : '-f32_inf()',
        step: (a, v) => (integer ? `max(${a}, ${v})` : `max_js(${a}, ${v})`),
      };
    case 'min':
      return {
        type,
        init: integer ? '2147483647' : 'f32_inf()',
        step: (a, v) => (integer ? `min(${a}, ${v})` : `min_js(${a}, ${v})`),
      };
  }
}

export const reduce: GpuKernel<'reduce'> = (ctx, { x, out }, { op, ...layout }) => {
  const kernel = `WebGPUBackend.reduce(${op})`;
  if (out.size === 0) return;
  const integer = wgsl.isIntegral(x.dtype) && wgsl.isIntegral(out.dtype);
  const c = combineFor(op, integer);
  const xo: wgsl.Operand = { name: 'x', dtype: x.dtype, mode: 'read' };
  const oo: wgsl.Operand = { name: 'out', dtype: out.dtype, mode: 'atomic' };
  const load = integer ? 'ldi_x' : 'ld_x';
  const rowwise = layout.inner === 1 && layout.reduce >= WORKGROUP_THRESHOLD && !integer;
  let body: string;
  let extra = '';
  if (rowwise) {
    extra = `var<workgroup> part: array<f32, ${wgsl.WG}>;`;
    body = `  var acc: f32 = ${c.init};
  for (var r = lid; r < p.reduce; r += ${wgsl.WG}u) { acc = ${c.step('acc', `${load}(row * p.reduce + r)`)}; }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = ${wgsl.WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] = ${c.step('part[lid]', 'part[lid + s]')}; }
    workgroupBarrier();
  }
  if (lid == 0u) { st_out(row, part[0]); }`;
  } else {
    body = `  if (index >= p.outer * p.inner) { return; }
  let o = index / p.inner;
  let i = index % p.inner;
  var acc: ${c.type} = ${c.init};
  var at = o * p.reduce * p.inner + i;
  for (var r = 0u; r < p.reduce; r++) { acc = ${c.step('acc', `${load}(at)`)}; at += p.inner; }
  st_out(index, acc);`;
  }
  const helpers = [wgsl.loader(xo), wgsl.intLoader(xo), wgsl.storer(oo, integer), extra];
  const groups = rowwise ? layout.outer : Math.ceil(out.size / wgsl.WG);
  helpers.push(rowwise ? rowMain(body) : wgsl.linearMain(body));
  runReduction(ctx, kernel, [xo, oo], [x, out], layout, helpers, groups);
};

/** Compiles and dispatches a kernel from x to out over a reduce layout; `parts` follow the bindings. */
function runReduction(
  ctx: KernelContext,
  kernel: string,
  [xo, oo]: [wgsl.Operand, wgsl.Operand],
  [x, out]: [GpuStorage, GpuStorage],
  layout: ReduceLayout,
  parts: string[],
  groups: number,
): void {
  const bindings = [wgsl.declareBinding(1, xo), wgsl.declareBinding(2, oo)];
  const code = [wgsl.PRELUDE, wgsl.declareParams(FIELDS), ...bindings, ...parts].join('\n');
  const compiled = ctx.executor.kernel(kernel, code, bindingKinds([xo, oo]));
  const params = wgsl.packParams(FIELDS, { rows: layout.outer, ...layout });
  ctx.executor.dispatch(
    compiled,
    [ctx.binding(x, kernel, 'x'), ctx.binding(out, kernel, 'out')],
    params,
    ctx.groups(groups),
  );
}

export const argmax: GpuKernel<'argmax'> = (ctx, { x, out }, layout) => {
  const kernel = 'WebGPUBackend.argmax';
  if (out.size === 0) return;
  const xo: wgsl.Operand = { name: 'x', dtype: x.dtype, mode: 'read' };
  const oo: wgsl.Operand = { name: 'out', dtype: 'int32', mode: 'write' };
  // NaN counts as the maximum, as in PyTorch; the first of equal maxima wins.
  const body = `  if (index >= p.outer * p.inner) { return; }
  let o = index / p.inner;
  let i = index % p.inner;
  var at = o * p.reduce * p.inner + i;
  var best = ld_x(at);
  var arg = 0u;
  for (var r = 1u; r < p.reduce; r++) {
    at += p.inner;
    let v = ld_x(at);
    if (best == best && (v > best || v != v)) { best = v; arg = r; }
  }
  out[index] = i32(arg);`;
  const groups = Math.ceil(out.size / wgsl.WG);
  runReduction(ctx, kernel, [xo, oo], [x, out], layout, [wgsl.loader(xo), wgsl.linearMain(body)], groups);
};
