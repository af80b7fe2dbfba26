/**
 * Matmul for CPU adapters without fixed-size subgroups (see matmul-subgroup.ts for why CPU
 * adapters need their own kernels). Each workgroup computes TM whole rows; each of its WG lanes
 * owns CN columns spaced WG apart, so the lanes of one SIMD register read neighbouring columns of B.
 * Per step of k a lane loads TM values of A and CN of B for TM * CN FMAs; no workgroup memory and
 * no barriers. Transposes and accumulate are run-time parameters, so one pipeline per dtype
 * combination serves every call (LLVM compiles these unrolled kernels slowly).
 */
import type { GpuStorage } from '../storage.js';
import * as wgsl from '../wgsl.js';
import { TILED_FIELDS } from './matmul-tiled.js';

export interface RowBlockTiling {
  /** Rows per workgroup. */
  tm: number;
  /** Lanes per workgroup. */
  wg: number;
  /** Columns per lane. */
  cn: number;
}

export const DEFAULT_ROWBLOCK: RowBlockTiling = { tm: 16, wg: 16, cn: 8 };

/** Parameters of the CPU-adapter kernels: sizes, batch strides, accumulate, and element steps. */
export const STEPPED_FIELDS: wgsl.ParamField[] = [
  ...TILED_FIELDS,
  ['aRowStep', 'u32'],
  ['aKStep', 'u32'],
  ['bKStep', 'u32'],
  ['bColStep', 'u32'],
];

/** Element steps of A along rows and k, and of B along k and columns, for the transpose flags. */
export function matmulSteps(p: {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}): Record<string, number> {
  return {
    aRowStep: p.transA ? 1 : p.k,
    aKStep: p.transA ? p.m : 1,
    bKStep: p.transB ? 1 : p.n,
    bColStep: p.transB ? p.k : 1,
  };
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Declarations shared by the CPU-adapter kernels. */
export function steppedPrologue(a: GpuStorage, b: GpuStorage, out: GpuStorage): string {
  const oOp: wgsl.Operand = { name: 'out', dtype: out.dtype, mode: 'atomic' };
  const element = (s: GpuStorage) => (s.dtype === 'float32' ? 'f32' : 'u32');
  return `${wgsl.PRELUDE}
${wgsl.declareParams(STEPPED_FIELDS)}
@group(0) @binding(1) var<storage, read> a: array<${element(a)}>;
@group(0) @binding(2) var<storage, read> b: array<${element(b)}>;
@group(0) @binding(3) var<storage, read_write> out: array<${out.dtype === 'float32' ? 'f32' : 'atomic<u32>'}>;
${wgsl.loader({ name: 'a', dtype: a.dtype, mode: 'read' })}
${wgsl.loader({ name: 'b', dtype: b.dtype, mode: 'read' })}
${wgsl.loader(oOp)}
${wgsl.storer(oOp)}
fn store_result(at: u32, v: f32) { st_out(at, v + select(0.0, ld_out(at), p.accumulate != 0u)); }`;
}

export function rowBlockCode(a: GpuStorage, b: GpuStorage, out: GpuStorage, t: RowBlockTiling): string {
  const rows = range(t.tm);
  const cols = range(t.cn);
  return `${steppedPrologue(a, b, out)}

@compute @workgroup_size(${t.wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
  let rowStart = wid.y * ${t.tm}u;
  let colStart = wid.x * ${t.wg * t.cn}u + li.x;
  let aBase = wid.z * p.aStride;
  let bBase = wid.z * p.bStride;
  // Clamped so every load is in range; results past m or n are not stored.
${rows.map((r) => `  var aAt${r} = aBase + min(rowStart + ${r}u, p.m - 1u) * p.aRowStep;`).join('\n')}
${cols.map((c) => `  var bAt${c} = bBase + min(colStart + ${c * t.wg}u, p.n - 1u) * p.bColStep;`).join('\n')}
${rows.map((r) => cols.map((c) => `var acc${r}_${c} = 0.0;`).join(' ')).join('\n')}
  for (var kk = 0u; kk < p.k; kk++) {
${cols.map((c) => `    let b${c} = ld_b(bAt${c}); bAt${c} += p.bKStep;`).join('\n')}
${rows.map((r) => `    { let av = ld_a(aAt${r}); aAt${r} += p.aKStep; ${cols.map((c) => `acc${r}_${c} = fma(av, b${c}, acc${r}_${c});`).join(' ')} }`).join('\n')}
  }
  let oBase = wid.z * p.m * p.n;
${rows
  .map((r) =>
    cols
      .map(
        (c) =>
          `  if (rowStart + ${r}u < p.m && colStart + ${c * t.wg}u < p.n) { store_result(oBase + (rowStart + ${r}u) * p.n + colStart + ${c * t.wg}u, acc${r}_${c}); }`,
      )
      .join('\n'),
  )
  .join('\n')}
}`;
}
