/**
 * Matmul for CPU adapters that offer subgroups (lavapipe: 8 lanes of a 256-bit SIMD register).
 * On such adapters every storage load is issued lane by lane (even at a uniform address) while a
 * subgroup broadcast is a register shuffle, so the kernel minimises loads per FMA:
 * one workgroup = one subgroup of S lanes computes a TM x (S * CN) block; per step of k each lane
 * loads TM / S values of A (its rows) and CN values of B (its columns), and broadcasts give every
 * lane all TM rows: TM * CN FMAs for TM / S + CN loads. No workgroup memory, no barriers.
 */
import type { GpuStorage } from '../storage.js';
import { declareParams, loader, type Operand, PRELUDE, storer } from '../wgsl.js';
import { ROWBLOCK_FIELDS, type RowBlockVariant } from './matmul-rowblock.js';

export interface SubgroupTiling {
  /** Lanes per subgroup (the adapter's fixed subgroup size). */
  subgroup: number;
  /** Rows per workgroup (a multiple of `subgroup`). */
  rows: number;
  /** Columns per lane. */
  cn: number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export function subgroupCode(a: GpuStorage, b: GpuStorage, out: GpuStorage, v: RowBlockVariant, t: SubgroupTiling): string {
  const S = t.subgroup;
  const perLane = t.rows / S;
  const oOp: Operand = { name: 'out', dtype: out.dtype, mode: 'atomic' };
  const aIdx = (row: string) => (v.transA ? `kk * p.m + ${row}` : `${row} * p.k + kk`);
  const bIdx = (col: string) => (v.transB ? `${col} * p.k + kk` : `kk * p.n + ${col}`);
  const accumulate = v.accumulate ? ' + ld_out(at)' : '';
  const fmas = range(perLane)
    .map((i) =>
      range(S)
        .map((j) => {
          const r = i * S + j;
          return `      { let av = subgroupBroadcast(a${i}, ${j}u); ${range(t.cn).map((c) => `acc${r}_${c} = fma(av, b${c}, acc${r}_${c});`).join(' ')} }`;
        })
        .join('\n'),
    )
    .join('\n');
  const stores = range(t.rows)
    .map((r) =>
      range(t.cn)
        .map((c) => `  if (rowStart + ${r}u < p.m && colStart + ${c * S}u + lane < p.n) { let at = oBase + (rowStart + ${r}u) * p.n + colStart + ${c * S}u + lane; st_out(at, acc${r}_${c}${accumulate}); }`)
        .join('\n'),
    )
    .join('\n');
  return `enable subgroups;
${PRELUDE}
${declareParams(ROWBLOCK_FIELDS)}
@group(0) @binding(1) var<storage, read> a: array<${a.dtype === 'float32' ? 'f32' : 'u32'}>;
@group(0) @binding(2) var<storage, read> b: array<${b.dtype === 'float32' ? 'f32' : 'u32'}>;
@group(0) @binding(3) var<storage, read_write> out: array<${out.dtype === 'float32' ? 'f32' : 'atomic<u32>'}>;
${loader({ name: 'a', dtype: a.dtype, mode: 'read' })}
${loader({ name: 'b', dtype: b.dtype, mode: 'read' })}
${loader(oOp)}
${storer(oOp)}

@compute @workgroup_size(${S})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let batch = wid.z;
  let rowStart = wid.y * ${t.rows}u;
  let colStart = wid.x * ${S * t.cn}u;
  let aBase = batch * p.aStride;
  let bBase = batch * p.bStride;
  // Clamped so every load is in range; results past m or n are not stored.
${range(perLane).map((i) => `  let row${i} = min(rowStart + ${i * S}u + lane, p.m - 1u);`).join('\n')}
${range(t.cn).map((c) => `  let col${c} = min(colStart + ${c * S}u + lane, p.n - 1u);`).join('\n')}
${range(t.rows).map((r) => range(t.cn).map((c) => `var acc${r}_${c} = 0.0;`).join(' ')).join('\n')}
  for (var kk = 0u; kk < p.k; kk++) {
${range(perLane).map((i) => `      let a${i} = ld_a(aBase + ${aIdx(`row${i}`)});`).join('\n')}
${range(t.cn).map((c) => `      let b${c} = ld_b(bBase + ${bIdx(`col${c}`)});`).join('\n')}
${fmas}
  }
  let oBase = batch * p.m * p.n;
${stores}
}`;
}
