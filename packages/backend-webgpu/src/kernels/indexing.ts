/**
 * Row gather (embedding lookup) and row scatter-add (its gradient). ids cannot be checked on the
 * host without a download: a gathered row with an out-of-range id reads as zeros and a scattered
 * one is dropped, and the kernel flags the id, which the next read or sync reports.
 */

import { DATA_ERROR } from '@galore-ts/core';
import type { GpuStorage } from '../storage.js';
import {
  declareBindings,
  declareParams,
  intLoader,
  isIntegral,
  linearMain,
  loader,
  type Operand,
  type ParamField,
  PRELUDE,
  packParams,
  storer,
  WG,
} from '../wgsl.js';
import { bindingKinds, flagCode, type KernelContext } from './context.js';
import { cast } from './elementwise.js';
import { runMap } from './map.js';

export function gatherRows(ctx: KernelContext, table: GpuStorage, ids: GpuStorage, out: GpuStorage, dim: number): void {
  const kernel = 'WebGPUBackend.gatherRows';
  const rows = table.size / dim;
  const integer = isIntegral(table.dtype);
  const zero = integer ? '0' : '0.0';
  runMap(ctx, {
    kernel,
    size: out.size,
    inputs: [],
    extras: [
      { name: 'table', storage: table },
      { name: 'ids', storage: ids },
    ],
    outputs: [{ name: 'out', storage: out, integer }],
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
}

const SCATTER_FIELDS: ParamField[] = [
  ['n', 'u32'],
  ['dim', 'u32'],
  ['rows', 'u32'],
];

export function scatterAddRows(
  ctx: KernelContext,
  src: GpuStorage,
  ids: GpuStorage,
  out: GpuStorage,
  dim: number,
): void {
  const kernel = 'WebGPUBackend.scatterAddRows';
  if (dim === 0 || ids.size === 0) return;
  const rows = out.size / dim;
  if (out.dtype === 'bfloat16' || out.dtype === 'float16') {
    // Sums are rounded to 16 bits once, at the end, as on the CPU: accumulate in a float32 copy.
    const wide = ctx.scratch(out.size, 'float32');
    cast(ctx, out, wide);
    scatterAddRows(ctx, src, ids, wide, dim);
    cast(ctx, wide, out);
    ctx.releaseScratch(wide);
    return;
  }
  const integer = isIntegral(out.dtype) && isIntegral(src.dtype);
  const ops: Operand[] = [
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
    PRELUDE,
    declareParams(SCATTER_FIELDS),
    declareBindings(1, ops),
    ...ops.map((op) => `${loader(op)}\n${intLoader(op)}`),
    storer(ops[2] as Operand, integer),
    flagCode(4),
    linearMain(body),
  ].join('\n');
  const compiled = ctx.executor.kernel(kernel, code, [...bindingKinds(ops), 'write']);
  const bindings = [
    ctx.binding(src, kernel, 'src'),
    ctx.binding(ids, kernel, 'ids'),
    ctx.binding(out, kernel, 'out'),
    ctx.flagBinding(),
  ];
  ctx.executor.dispatch(
    compiled,
    bindings,
    packParams(SCATTER_FIELDS, { n: ids.size, dim, rows }),
    ctx.groups(Math.ceil(dim / WG)),
  );
}
