/**
 * Rotary embedding (Hugging Face rotate_half) as an elementwise kernel over the output: element d
 * of a head reads itself and its partner d +- headDim/2, so each invocation still owns whole
 * output words.
 */
import type { GpuKernel } from './context.js';
import { runMap } from './map.js';

export const rope: GpuKernel<'rope'> = (ctx, { x, cos, sin, out }, { seq, heads, headDim, inverse }) => {
  runMap(ctx, {
    kernel: 'WebGPUBackend.rope',
    size: out.size,
    inputs: {},
    extras: { x, cs: cos, sn: sin },
    outputs: { out },
    // The inverse rotation (RoPE's backward) is the same formula with sin negated.
    pre: `    let d = gidx % p.headDim;
    let half = p.headDim / 2u;
    let t = (gidx / (p.headDim * p.heads)) % p.seq;
    let i = d % half;
    let c = ld_cs(t * half + i);
    let s = p.sign * ld_sn(t * half + i);
    let v = ld_x(gidx);
    var r = 0.0;
    if (d < half) { r = v * c - ld_x(gidx + half) * s; } else { r = v * c + ld_x(gidx - half) * s; }`,
    values: { out: 'r' },
    params: [
      ['headDim', 'u32'],
      ['heads', 'u32'],
      ['seq', 'u32'],
      ['sign', 'f32'],
    ],
    paramValues: { headDim, heads, seq, sign: inverse ? -1 : 1 },
  });
};
