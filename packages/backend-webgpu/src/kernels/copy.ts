/**
 * Strided copy between views. Whole runs of 4-byte-aligned contiguous elements become one
 * buffer-to-buffer copy; everything else runs a kernel that moves raw element bits (same dtype) or
 * converts (different dtypes). Packed destinations are written through atomics, since a strided
 * view may give neighbouring lanes of one word to different invocations.
 */
import { collapseDims, DTYPE_BYTES } from '@galore-ts/core';
import type { GpuStorage } from '../storage.js';
import * as wgsl from '../wgsl.js';
import { bindingKinds, type GpuKernel, type KernelContext } from './context.js';

/** Bits of one element, for same-dtype copies (NaN payloads and -0 survive). */
function bitsLoader(op: wgsl.Operand): string {
  const n = op.name;
  switch (wgsl.packOf(op.dtype)) {
    case 1:
      return `fn bits_${n}(i: u32) -> u32 { return bitcast<u32>(${n}[i]); }`;
    case 2:
      return `fn bits_${n}(i: u32) -> u32 { return (${n}[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu; }`;
    default:
      return `fn bits_${n}(i: u32) -> u32 { return (${n}[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu; }`;
  }
}

function bitsStorer(op: wgsl.Operand): string {
  const n = op.name;
  const pack = wgsl.packOf(op.dtype);
  if (pack === 1) {
    const type = op.dtype === 'int32' ? 'i32' : 'f32';
    return `fn putbits_${n}(i: u32, v: u32) { ${n}[i] = bitcast<${type}>(v); }`;
  }
  const shift = pack === 2 ? '(i & 1u) * 16u' : '(i & 3u) * 8u';
  const mask = pack === 2 ? '0xffffu' : '0xffu';
  const w = pack === 2 ? 'i >> 1u' : 'i >> 2u';
  return `fn putbits_${n}(i: u32, v: u32) {
  let shift = ${shift};
  atomicAnd(&${n}[${w}], ~(${mask} << shift));
  atomicOr(&${n}[${w}], v << shift);
}`;
}

function copyCode(src: GpuStorage, dst: GpuStorage, rank: number, fields: readonly wgsl.ParamField[]): string {
  const s: wgsl.Operand = { name: 'src', dtype: src.dtype, mode: 'read' };
  const d: wgsl.Operand = { name: 'dst', dtype: dst.dtype, mode: 'atomic' };
  const same = src.dtype === dst.dtype;
  const lines = [
    '  if (index >= p.n) { return; }',
    '  var rem = index;',
    '  var is = p.srcOffset;',
    '  var id = p.dstOffset;',
  ];
  for (let k = rank - 1; k >= 0; k--) {
    lines.push(`  let c${k} = i32(rem % p.sh${k}); rem = rem / p.sh${k};`);
    lines.push(`  is += c${k} * p.ss${k}; id += c${k} * p.ds${k};`);
  }
  lines.push(same ? '  putbits_dst(u32(id), bits_src(u32(is)));' : '  st_dst(u32(id), ld_src(u32(is)));');
  return [
    wgsl.PRELUDE,
    wgsl.declareParams(fields),
    wgsl.declareBinding(1, s),
    wgsl.declareBinding(2, d),
    same ? bitsLoader(s) : wgsl.loader(s),
    same ? bitsStorer(d) : wgsl.storer(d),
    wgsl.linearMain(lines.join('\n')),
  ].join('\n');
}

export const copy: GpuKernel<'copy'> = (ctx, { src, dst }, { srcView, dstView }) => {
  const kernel = 'WebGPUBackend.copy';
  const count = srcView.shape.reduce((a, b) => a * b, 1);
  if (count === 0) return;
  const { shape, strides } = collapseDims(srcView.shape, [srcView.strides, dstView.strides]);
  const [ss, ds] = strides as [number[], number[]];
  if (src.dtype === dst.dtype && tryBufferCopy(ctx, src, srcView.offset, dst, dstView.offset, shape, ss, ds)) return;
  const fields: wgsl.ParamField[] = [
    ['n', 'u32'],
    ['srcOffset', 'i32'],
    ['dstOffset', 'i32'],
  ];
  const values: Record<string, number> = { n: count, srcOffset: srcView.offset, dstOffset: dstView.offset };
  shape.forEach((size, k) => {
    fields.push([`sh${k}`, 'u32'], [`ss${k}`, 'i32'], [`ds${k}`, 'i32']);
    values[`sh${k}`] = size;
    values[`ss${k}`] = ss[k] as number;
    values[`ds${k}`] = ds[k] as number;
  });
  const ops: wgsl.Operand[] = [
    { name: 'src', dtype: src.dtype, mode: 'read' },
    { name: 'dst', dtype: dst.dtype, mode: 'atomic' },
  ];
  const compiled = ctx.executor.kernel(kernel, copyCode(src, dst, shape.length, fields), bindingKinds(ops));
  const bindings = [ctx.binding(src, kernel, 'src'), ctx.binding(dst, kernel, 'dst')];
  ctx.dispatchThreads(compiled, bindings, [fields, values], count);
};

/**
 * Copies with copyBufferToBuffer when both views are contiguous runs (or rows of runs) whose byte
 * offsets and lengths are multiples of 4. Returns false when the kernel is needed.
 */
function tryBufferCopy(
  ctx: KernelContext,
  src: GpuStorage,
  srcOffset: number,
  dst: GpuStorage,
  dstOffset: number,
  shape: readonly number[],
  ss: readonly number[],
  ds: readonly number[],
): boolean {
  const rank = shape.length;
  const inner = rank === 0 ? 1 : (shape[rank - 1] as number);
  if (rank > 0 && (ss[rank - 1] !== 1 || ds[rank - 1] !== 1)) return false;
  if (rank > 2) return false;
  const bytes = DTYPE_BYTES[src.dtype];
  const rowBytes = inner * bytes;
  const rows = rank === 2 ? (shape[0] as number) : 1;
  const aligned = (elements: number) => (elements * bytes) % 4 === 0;
  if (!aligned(inner) || !aligned(srcOffset) || !aligned(dstOffset)) return false;
  if (rank === 2 && (!aligned(ss[0] as number) || !aligned(ds[0] as number))) return false;
  if (rows > 64) return false; // many small copies: one kernel is cheaper
  for (let r = 0; r < rows; r++) {
    const so = (srcOffset + r * (rank === 2 ? (ss[0] as number) : 0)) * bytes;
    const dof = (dstOffset + r * (rank === 2 ? (ds[0] as number) : 0)) * bytes;
    ctx.executor.copyBuffer(src.buffer, so, dst.buffer, dof, rowBytes);
  }
  return true;
}
