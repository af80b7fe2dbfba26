/**
 * The matmul kernel for GPUs: each workgroup computes a BM x BN tile of one batch. It stages
 * BK-deep slices of A and B in workgroup memory (A transposed, so both are read along the tile as
 * vec4), and each invocation keeps a TM x TN block of results in registers. Global loads are vec4
 * when an operand's contiguous dimension and batch stride are multiples of 4 (f32 only); 16-bit
 * inputs are decoded as they are staged, and accumulation is always f32.
 */
import type { GpuStorage } from '../storage.js';
import * as wgsl from '../wgsl.js';

export interface MatmulTiling {
  /** Invocations along n and m. */
  wgX: number;
  wgY: number;
  /** Results per invocation along m and n (multiples of 4). */
  tm: number;
  tn: number;
  /** Depth of the staged slices (a multiple of 4). */
  bk: number;
}

export const DEFAULT_TILING: MatmulTiling = { wgX: 16, wgY: 16, tm: 4, tn: 4, bk: 16 };

export const TILED_FIELDS: wgsl.ParamField[] = [
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['aStride', 'u32'],
  ['bStride', 'u32'],
  ['accumulate', 'u32'],
];

export interface Variant {
  transA: boolean;
  transB: boolean;
  /** vec4 global loads of A / B. */
  vecA: boolean;
  vecB: boolean;
  accumulate: boolean;
}

function operandDecl(binding: number, name: string, dtype: GpuStorage['dtype'], vec: boolean): string {
  if (vec) return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<vec4<f32>>;`;
  const element = dtype === 'float32' ? 'f32' : 'u32';
  return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${element}>;`;
}

/**
 * Statements staging one operand's slice: `tile` is the workgroup array (vec4 elements), `free`
 * the tile extent along the operand's free dimension (BM or BN) and `contiguousFree` whether the
 * operand is stored with that free dimension contiguous (then a vec4 load is stored whole).
 */
function stageCode(o: {
  name: string;
  tile: string;
  free: number; // BM or BN
  bk: number;
  threads: number;
  contiguousFree: boolean;
  vec: boolean;
  freeBase: string; // first global index along the free dimension
  freeLimit: string; // extent of the free dimension (p.m or p.n)
  ld: string; // leading dimension of the stored matrix
  base: string; // batch offset expression
}): string {
  const V = o.vec ? 4 : 1;
  // Consecutive invocations walk the stored matrix's contiguous dimension: free when it is stored
  // [k][free], k when it is stored [free][k] (then staging transposes).
  const [outer, inner, perRow] = o.contiguousFree ? ['kk', 'f', o.free / V] : ['f', 'kk', o.bk / V];
  const address = o.contiguousFree ? `${o.base} + gk * ${o.ld} + gf` : `${o.base} + gf * ${o.ld} + gk`;
  const inBounds = `gk < p.k && gf < ${o.freeLimit}`;
  const lines = [
    `  for (var t = lid; t < ${(o.bk * o.free) / V}u; t += ${o.threads}u) {`,
    `    let ${outer} = t / ${perRow}u;`,
    `    let ${inner} = (t % ${perRow}u) * ${V}u;`,
    '    let gk = k0 + kk;',
    `    let gf = ${o.freeBase} + f;`,
  ];
  if (!o.vec) {
    lines.push(
      '    var v = 0.0;',
      `    if (${inBounds}) { v = ld_${o.name}(${address}); }`,
      `    let at = kk * ${o.free} + f;`,
      `    ${o.tile}[at / 4u][at % 4u] = v;`,
    );
  } else {
    lines.push('    var v = vec4<f32>(0.0);', `    if (${inBounds}) { v = ${o.name}[(${address}) / 4u]; }`);
    if (o.contiguousFree) {
      lines.push(`    ${o.tile}[(kk * ${o.free} + f) / 4u] = v;`);
    } else {
      for (let q = 0; q < 4; q++) {
        lines.push(`    { let at = (kk + ${q}u) * ${o.free} + f; ${o.tile}[at / 4u][at % 4u] = v[${q}]; }`);
      }
    }
  }
  lines.push('  }');
  return lines.join('\n');
}

export function matmulCode(a: GpuStorage, b: GpuStorage, out: GpuStorage, v: Variant, t: MatmulTiling): string {
  const BM = t.wgY * t.tm;
  const BN = t.wgX * t.tn;
  const threads = t.wgX * t.wgY;
  const aOp: wgsl.Operand = { name: 'a', dtype: a.dtype, mode: 'read' };
  const bOp: wgsl.Operand = { name: 'b', dtype: b.dtype, mode: 'read' };
  const oOp: wgsl.Operand = { name: 'out', dtype: out.dtype, mode: 'atomic' };
  const outElement = wgsl.packOf(out.dtype) > 1 ? 'atomic<u32>' : 'f32';
  const rm = t.tm / 4;
  const rn = t.tn / 4;
  const stageA = stageCode({
    name: 'a',
    tile: 'As',
    free: BM,
    bk: t.bk,
    threads,
    contiguousFree: v.transA,
    vec: v.vecA,
    freeBase: 'row0',
    freeLimit: 'p.m',
    ld: v.transA ? 'p.m' : 'p.k',
    base: 'aBase',
  });
  const stageB = stageCode({
    name: 'b',
    tile: 'Bs',
    free: BN,
    bk: t.bk,
    threads,
    contiguousFree: !v.transB,
    vec: v.vecB,
    freeBase: 'col0',
    freeLimit: 'p.n',
    ld: v.transB ? 'p.k' : 'p.n',
    base: 'bBase',
  });
  const accumulate = v.accumulate ? ' + ld_out(at)' : '';
  return `${wgsl.PRELUDE}
${wgsl.declareParams(TILED_FIELDS)}
${operandDecl(1, 'a', a.dtype, v.vecA)}
${operandDecl(2, 'b', b.dtype, v.vecB)}
@group(0) @binding(3) var<storage, read_write> out: array<${outElement}>;
${v.vecA ? '' : wgsl.loader(aOp)}
${v.vecB ? '' : wgsl.loader(bOp)}
${wgsl.loader(oOp)}
${wgsl.storer(oOp)}
var<workgroup> As: array<vec4<f32>, ${(t.bk * BM) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(t.bk * BN) / 4}>;

@compute @workgroup_size(${t.wgX}, ${t.wgY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let batch = wid.z;
  let row0 = wid.y * ${BM}u;
  let col0 = wid.x * ${BN}u;
  let aBase = batch * p.aStride;
  let bBase = batch * p.bStride;
  var acc: array<vec4<f32>, ${t.tm * rn}>;
  for (var k0 = 0u; k0 < p.k; k0 += ${t.bk}u) {
${stageA}
${stageB}
    workgroupBarrier();
    for (var kk = 0u; kk < ${t.bk}u; kk++) {
${Array.from({ length: rm }, (_, i) => `      let a${i} = As[kk * ${BM / 4}u + li.y * ${rm}u + ${i}u];`).join('\n')}
${Array.from({ length: rn }, (_, j) => `      let b${j} = Bs[kk * ${BN / 4}u + li.x * ${rn}u + ${j}u];`).join('\n')}
${Array.from({ length: rm }, (_, i) =>
  Array.from({ length: 4 }, (_, q) =>
    Array.from(
      { length: rn },
      (_, j) =>
        `      acc[${(i * 4 + q) * rn + j}] = fma(vec4<f32>(a${i}[${q}]), b${j}, acc[${(i * 4 + q) * rn + j}]);`,
    ).join('\n'),
  ).join('\n'),
).join('\n')}
    }
    workgroupBarrier();
  }
  let oBase = batch * p.m * p.n;
  for (var r = 0u; r < ${t.tm}u; r++) {
    let gr = row0 + li.y * ${t.tm}u + r;
    if (gr >= p.m) { break; }
    for (var j = 0u; j < ${rn}u; j++) {
      let v = acc[r * ${rn}u + j];
      for (var q = 0u; q < 4u; q++) {
        let gc = col0 + li.x * ${t.tn}u + j * 4u + q;
        if (gc < p.n) {
          let at = oBase + gr * p.n + gc;
          st_out(at, v[q]${accumulate});
        }
      }
    }
  }
}`;
}
