/**
 * Row gather (embedding lookup) and row scatter-add (its gradient). ids cannot be checked on the
 * host without a download: a gathered row with an out-of-range id reads as zeros and a scattered
 * one is dropped, and the kernel flags the id, which the next read or sync reports.
 */

import { DATA_ERROR } from '@galore-ts/core';
import * as wgsl from '../wgsl.js';
import { bindingKinds, flagCode, type GpuKernel } from './context.js';
import { cast } from './elementwise.js';
import { runMap } from './map.js';

export const gatherRows: GpuKernel<'gatherRows'> = (ctx, { table, ids, out }, { dim }) => {
  const rows = table.size / dim;
  const integer = wgsl.isIntegral(table.dtype);
  const zero = integer ? '0' : '0.0';
  runMap(ctx, {
    kernel: 'WebGPUBackend.gatherRows',
    size: out.size,
    inputs: {},
    extras: { table, ids },
    outputs: { out: { storage: out, integer } },
    pre: `    let id = ldi_ids(gidx / p.dim);
    let valid = id >= 0 && u32(id) < p.rows;
    if (!valid) { flag_error(${DATA_ERROR.gatherId}, id); }
    let at = select(0u, u32(id) * p.dim + gidx % p.dim, valid);
    let v = select(${zero}, ${integer ? 'ldi_table' : 'ld_table'}(at), valid);`,
    values: { out: 'v' },
    params: [
      ['dim', 'u32'],
      ['rows', 'u32'],
    ],
    paramValues: { dim, rows },
    flag: true,
  });
};

const SCATTER_FIELDS: wgsl.ParamField[] = [
  ['n', 'u32'],
  ['dim', 'u32'],
  ['rows', 'u32'],
];

export const scatterAddRows: GpuKernel<'scatterAddRows'> = (ctx, { src, ids, out }, { dim }) => {
  const kernel = 'WebGPUBackend.scatterAddRows';
  if (dim === 0 || ids.size === 0) return;
  const rows = out.size / dim;
  if (out.dtype === 'bfloat16' || out.dtype === 'float16') {
    // Sums are rounded to 16 bits once, at the end, as on the CPU: accumulate in a float32 copy.
    const wide = ctx.scratch(out.size, 'float32');
    cast(ctx, { x: out, out: wide }, {});
    scatterAddRows(ctx, { src, ids, out: wide }, { dim });
    cast(ctx, { x: wide, out }, {});
    ctx.releaseScratch(wide);
    return;
  }
  const integer = wgsl.isIntegral(out.dtype) && wgsl.isIntegral(src.dtype);
  const ops: wgsl.Operand[] = [
    { name: 'src', dtype: src.dtype, mode: 'read' },
    { name: 'ids', dtype: 'int32', mode: 'read' },
    { name: 'out', dtype: out.dtype, mode: 'atomic' },
  ];
  const ld = integer ? 'ldi' : 'ld';
  // One invocation per column walks the ids in order: duplicates add up without atomics, in the
  // same order as the CPU backend.
  const body = `  if (index >= p.dim) { return; }
  for (var i = 0u; i < p.n; i++) {
    let id = ids[i];
    if (id < 0 || u32(id) >= p.rows) {
      if (index == 0u) { flag_error(${DATA_ERROR.scatterId}, id); }
      continue;
    }
    let at = u32(id) * p.dim + index;
    st_out(at, ${ld}_out(at) + ${ld}_src(i * p.dim + index));
  }`;
  const code = [
    wgsl.PRELUDE,
    wgsl.declareParams(SCATTER_FIELDS),
    wgsl.declareBindings(1, ops),
    ...ops.map((op) => `${wgsl.loader(op)}\n${wgsl.intLoader(op)}`),
    wgsl.storer(ops[2] as wgsl.Operand, integer),
    flagCode(4),
    wgsl.linearMain(body),
  ].join('\n');
  const compiled = ctx.executor.kernel(kernel, code, [...bindingKinds(ops), 'write']);
  const bindings = [
    ctx.binding(src, kernel, 'src'),
    ctx.binding(ids, kernel, 'ids'),
    ctx.binding(out, kernel, 'out'),
    ctx.flagBinding(),
  ];
  ctx.dispatchThreads(compiled, bindings, [SCATTER_FIELDS, { n: ids.size, dim, rows }], dim);
};
