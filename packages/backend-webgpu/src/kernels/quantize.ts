/**
 * Blockwise 8-bit quantisation against a sorted codebook: a workgroup per block finds absmax, then
 * an elementwise pass picks each element's nearest code (binary search, ties to the lower code)
 * against the scale as stored, so dequantisation reproduces the choice. Non-finite input cannot
 * raise an exception on the GPU: it gives a non-finite absmax for its block.
 */

import type { GpuStorage } from '../storage.js';
import type { Operand, ParamField } from '../wgsl.js';
import type { KernelContext } from './context.js';
import { runMap } from './map.js';
import { runRows } from './rowwise.js';

const ABSMAX_FIELDS: ParamField[] = [
  ['rows', 'u32'],
  ['n', 'u32'],
  ['blockSize', 'u32'],
];

/**
 * GaLore's codec kernels, declared by @galore-ts/galore (core types their io and params loosely,
 * so the declared names are spelled out here).
 */
type CodecKernel<Names extends string> = (
  ctx: KernelContext,
  io: Record<Names, GpuStorage>,
  params: { blockSize: number },
) => void;

export const quantizeBlockwise: CodecKernel<'x' | 'codebook' | 'codes' | 'absmax'> = (
  ctx,
  { x, codebook, codes, absmax },
  { blockSize },
) => {
  const kernel = 'WebGPUBackend.quantizeBlockwise';
  const blocks = Math.ceil(x.size / blockSize);
  if (x.size === 0) return;
  const body = `  let start = row * p.blockSize;
  let end = min(start + p.blockSize, p.n);
  var mx = 0.0;
  for (var i = start + lid; i < end; i += 256u) { mx = max(mx, abs(ld_x(i))); }
  mx = wg_max(mx, lid);
  if (lid == 0u) { st_absmax(row, mx); }`;
  const ops: [Operand, GpuStorage][] = [
    [{ name: 'x', dtype: x.dtype, mode: 'read' }, x],
    [{ name: 'absmax', dtype: 'float32', mode: 'atomic' }, absmax],
  ];
  runRows(ctx, `${kernel}(absmax)`, ops, ABSMAX_FIELDS, { rows: blocks, n: x.size, blockSize }, body, blocks);
  runMap(ctx, {
    kernel: `${kernel}(codes)`,
    size: x.size,
    inputs: { x },
    extras: { codebook, absmax },
    outputs: { codes: { storage: codes, integer: true } },
    pre: `    let scale = ld_absmax(gidx / p.blockSize);
    var value = 0.0;
    if (scale != 0.0) { value = ld_x(i_x) / scale; }
    var low = 0u;
    var high = p.entries - 1u;
    while (low < high) {
      let mid = (low + high) >> 1u;
      if (ld_codebook(mid) < value) { low = mid + 1u; } else { high = mid; }
    }
    if (low > 0u && value - ld_codebook(low - 1u) <= ld_codebook(low) - value) { low = low - 1u; }`,
    values: { codes: 'i32(low)' },
    params: [
      ['blockSize', 'u32'],
      ['entries', 'u32'],
    ],
    paramValues: { blockSize, entries: codebook.size },
  });
};

export const dequantizeBlockwise: CodecKernel<'codes' | 'codebook' | 'absmax' | 'out'> = (
  ctx,
  { codes, codebook, absmax, out },
  { blockSize },
) => {
  runMap(ctx, {
    kernel: 'WebGPUBackend.dequantizeBlockwise',
    size: out.size,
    inputs: { codes },
    extras: { codebook, absmax },
    outputs: { out },
    values: { out: 'ld_codebook(min(u32(ldi_codes(i_codes)), p.entries - 1u)) * ld_absmax(gidx / p.blockSize)' },
    params: [
      ['blockSize', 'u32'],
      ['entries', 'u32'],
    ],
    paramValues: { blockSize, entries: codebook.size },
  });
};
