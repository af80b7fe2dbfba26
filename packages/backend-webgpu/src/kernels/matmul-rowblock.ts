/**
 * Matmul for CPU adapters (lavapipe, SwiftShader). There, invocations are SIMD lanes and every
 * storage load is issued lane by lane, whether or not its address is uniform (measured: replacing
 * A's loads by constants made the old kernel 20x faster), while workgroup barriers switch
 * coroutines. So this kernel minimises loads per FMA and uses no workgroup memory: each lane
 * owns TM rows x CN columns of the output, and every 4 steps of k it issues TM + CN vec4 loads for
 * 4 * TM * CN FMAs. The cache does what workgroup tiles do on a GPU. Loads are vec4 wherever the
 * operand's layout allows (f32, contiguous dimension and batch stride multiples of 4); the
 * k remainder and unaligned operands use scalar loads.
 */
import type { GpuStorage } from '../storage.js';
import { declareParams, loader, type Operand, type ParamField, PRELUDE, storer } from '../wgsl.js';

export interface RowBlockTiling {
  /** Rows per workgroup (a multiple of 4). */
  tm: number;
  /** Lanes per workgroup. */
  wg: number;
  /** Consecutive columns per lane (a multiple of 4). */
  cn: number;
}

export const DEFAULT_ROWBLOCK: RowBlockTiling = { tm: 8, wg: 16, cn: 8 };

export const ROWBLOCK_FIELDS: ParamField[] = [
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['aStride', 'u32'],
  ['bStride', 'u32'],
  ['accumulate', 'u32'],
];

export interface RowBlockVariant {
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Whether an f32 operand can be read as vec4 along its contiguous dimension. */
export function rowBlockVectors(a: GpuStorage, b: GpuStorage, p: { m: number; n: number; k: number; batch: number; aBatchStride: number; bBatchStride: number }, v: RowBlockVariant): { vecA: boolean; vecB: boolean } {
  const strideOk = (s: number) => p.batch <= 1 || s % 4 === 0;
  return {
    vecA: a.dtype === 'float32' && strideOk(p.aBatchStride) && (v.transA ? p.m % 4 === 0 : p.k % 4 === 0),
    vecB: b.dtype === 'float32' && strideOk(p.bBatchStride) && (v.transB ? p.k % 4 === 0 : p.n % 4 === 0),
  };
}

export function rowBlockCode(a: GpuStorage, b: GpuStorage, out: GpuStorage, v: RowBlockVariant & { vecA: boolean; vecB: boolean }, t: RowBlockTiling): string {
  const TM = t.tm;
  const CN = t.cn;
  const rows = range(TM);
  const cols = range(CN);
  const groups = range(CN / 4);
  const quads = range(4);
  const oOp: Operand = { name: 'out', dtype: out.dtype, mode: 'atomic' };
  const decl = (binding: number, name: string, s: GpuStorage, vec: boolean) =>
    `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${vec ? 'vec4<f32>' : s.dtype === 'float32' ? 'f32' : 'u32'}>;`;
  // Scalar element access, whatever the declaration.
  const scalarLoader = (name: string, s: GpuStorage, vec: boolean) =>
    vec ? `fn ld_${name}(i: u32) -> f32 { return ${name}[i >> 2u][i & 3u]; }` : loader({ name, dtype: s.dtype, mode: 'read' });
  const aIdx = (row: string, kk: string) => (v.transA ? `(${kk}) * p.m + ${row}` : `${row} * p.k + ${kk}`);
  const bIdx = (kk: string, col: string) => (v.transB ? `${col} * p.k + ${kk}` : `(${kk}) * p.n + ${col}`);

  // A values a_r_q (row r, k = k0 + q) for one step of 4.
  let loadA: string;
  if (v.vecA && !v.transA) {
    loadA = rows.map((r) => `      let av${r} = a[(aBase + ${aIdx(`row${r}`, 'k0')}) >> 2u];`).join('\n');
  } else if (v.vecA && v.transA) {
    // rows are grouped by 4: one vec4 per (group, q)
    loadA = range(TM / 4)
      .map((g) => quads.map((q) => `      let at${g}_${q} = a[(aBase + ${aIdx(`rowg${g}`, `k0 + ${q}u`)}) >> 2u];`).join('\n'))
      .join('\n');
  } else {
    loadA = rows.map((r) => `      let av${r} = vec4<f32>(${quads.map((q) => `ld_a(aBase + ${aIdx(`row${r}`, `k0 + ${q}u`)})`).join(', ')});`).join('\n');
  }
  const aValue = (r: number, q: number) => (v.vecA && v.transA ? `at${Math.floor(r / 4)}_${q}[${r % 4}]` : `av${r}[${q}]`);

  // B vectors bv_q_j: k = k0 + q, columns 4j..4j+3 of this lane.
  let loadB: string;
  if (v.vecB && !v.transB) {
    loadB = quads.map((q) => groups.map((j) => `      let bv${q}_${j} = b[(bBase + ${bIdx(`k0 + ${q}u`, `colg${j}`)}) >> 2u];`).join('\n')).join('\n');
  } else if (v.vecB && v.transB) {
    loadB = [
      ...cols.map((c) => `      let bc${c} = b[(bBase + ${bIdx('k0', `col${c}`)}) >> 2u];`),
      ...quads.flatMap((q) => groups.map((j) => `      let bv${q}_${j} = vec4<f32>(${range(4).map((i) => `bc${4 * j + i}[${q}]`).join(', ')});`)),
    ].join('\n');
  } else {
    loadB = quads
      .map((q) => groups.map((j) => `      let bv${q}_${j} = vec4<f32>(${range(4).map((i) => `ld_b(bBase + ${bIdx(`k0 + ${q}u`, `col${4 * j + i}`)})`).join(', ')});`).join('\n'))
      .join('\n');
  }
  const fmas = quads
    .map((q) => rows.map((r) => groups.map((j) => `acc${r}_${j} = fma(vec4<f32>(${aValue(r, q)}), bv${q}_${j}, acc${r}_${j});`).join(' ')).join('\n      '))
    .join('\n      ');
  const tail = rows
    .map((r) => {
      const av = `ld_a(aBase + ${aIdx(`row${r}`, 'kk')})`;
      return groups
        .map((j) => `acc${r}_${j} = fma(vec4<f32>(${av}), vec4<f32>(${range(4).map((i) => `ld_b(bBase + ${bIdx('kk', `col${4 * j + i}`)})`).join(', ')}), acc${r}_${j});`)
        .join(' ');
    })
    .join('\n      ');
  const accumulate = v.accumulate ? ' + ld_out(at)' : '';
  const stores = rows
    .map((r) =>
      cols
        .map((c) => `  if (rowStart + ${r}u < p.m && colBase + ${c}u < p.n) { let at = oBase + (rowStart + ${r}u) * p.n + colBase + ${c}u; st_out(at, acc${r}_${c >> 2}[${c & 3}]${accumulate}); }`)
        .join('\n'),
    )
    .join('\n');
  return `${PRELUDE}
${declareParams(ROWBLOCK_FIELDS)}
${decl(1, 'a', a, v.vecA)}
${decl(2, 'b', b, v.vecB)}
@group(0) @binding(3) var<storage, read_write> out: array<${out.dtype === 'float32' ? 'f32' : 'atomic<u32>'}>;
${scalarLoader('a', a, v.vecA)}
${scalarLoader('b', b, v.vecB)}
${loader(oOp)}
${storer(oOp)}

@compute @workgroup_size(${t.wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
  let batch = wid.z;
  let rowStart = wid.y * ${TM}u;
  let colBase = wid.x * ${t.wg * CN}u + li.x * ${CN}u;
  let aBase = batch * p.aStride;
  let bBase = batch * p.bStride;
  // Indices are clamped into range so every load is valid; results past m or n are not stored.
${rows.map((r) => `  let row${r} = min(rowStart + ${r}u, p.m - 1u);`).join('\n')}
${range(TM / 4).map((g) => `  let rowg${g} = min(rowStart + ${4 * g}u, p.m - 4u);`).join('\n')}
${cols.map((c) => `  let col${c} = min(colBase + ${c}u, p.n - 1u);`).join('\n')}
${groups.map((j) => `  let colg${j} = min(colBase + ${4 * j}u, p.n - 4u);`).join('\n')}
${rows.map((r) => groups.map((j) => `  var acc${r}_${j} = vec4<f32>(0.0);`).join(' ')).join('\n')}
  let kMain = p.k & ~3u;
  for (var k0 = 0u; k0 < kMain; k0 += 4u) {
${loadA}
${loadB}
      ${fmas}
  }
  for (var kk = kMain; kk < p.k; kk++) {
      ${tail}
  }
  let oBase = batch * p.m * p.n;
${stores}
}`;
}
