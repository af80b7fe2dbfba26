/** fill and Philox random numbers. */
import type { DType } from '@galore-ts/core';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '@galore-ts/core';
import { alignUp } from '../executor.js';
import type { GpuStorage } from '../storage.js';
import * as wgsl from '../wgsl.js';
import { bindingKinds, type GpuKernel } from './context.js';

/** The 32-bit word holding `value` in every lane of `dtype`, as a typed-array store would write it. */
export function fillWord(dtype: DType, value: number): number {
  switch (dtype) {
    case 'float32':
      return new Uint32Array(new Float32Array([value]).buffer)[0] as number;
    case 'int32':
      return new Uint32Array(new Int32Array([value]).buffer)[0] as number;
    case 'uint8': {
      const byte = new Uint8Array([value])[0] as number;
      return (byte * 0x01010101) >>> 0;
    }
    case 'bfloat16':
    case 'float16': {
      const bits = dtype === 'bfloat16' ? float32ToBfloat16Bits(value) : float32ToFloat16Bits(value);
      return ((bits << 16) | bits) >>> 0;
    }
    case 'float64':
      throw new TypeError('WebGPU backend: float64 is not supported (WGSL has no f64); use float32');
  }
}

const FILL_FIELDS: wgsl.ParamField[] = [
  ['n', 'u32'],
  ['value', 'u32'],
];
const FILL_CODE = [
  wgsl.PRELUDE,
  wgsl.declareParams(FILL_FIELDS),
  wgsl.declareBinding(1, { name: 'out', dtype: 'int32', mode: 'write' }).replace('array<i32>', 'array<u32>'),
  wgsl.linearMain('  if (index < p.n) { out[index] = p.value; }'),
].join('\n');

export const fill: GpuKernel<'fill'> = (ctx, { out }, { value }) => {
  const word = fillWord(out.dtype, value);
  const bytes = alignUp(out.byteLength, 4);
  if (word === 0) {
    ctx.executor.clear(out.buffer, 0, bytes);
    return;
  }
  const kernel = ctx.executor.kernel('WebGPUBackend.fill', FILL_CODE, ['uniform', 'write']);
  const chunkBytes = Math.floor(ctx.maxBindingBytes / 1024) * 1024;
  for (let start = 0; start < bytes; start += chunkBytes) {
    const size = Math.min(chunkBytes, bytes - start);
    const words = size / 4;
    const binding = { buffer: out.buffer, offset: start, size: alignUp(size, 16) };
    const params = wgsl.packParams(FILL_FIELDS, { n: words, value: word });
    ctx.executor.dispatch(kernel, [binding], params, ctx.groups(Math.ceil(words / wgsl.WG)));
  }
};

const RANDOM_FIELDS: wgsl.ParamField[] = [
  ['n', 'u32'],
  ['offsetLo', 'u32'],
  ['offsetHi', 'u32'],
  ['key0', 'u32'],
  ['key1', 'u32'],
  ['a', 'f32'],
  ['b', 'f32'],
];

const PHILOX = /* wgsl */ `
// High and low 32 bits of a 32x32-bit product, from 16-bit halves (WGSL has no 64-bit integers).
fn mul_hi_lo(a: u32, b: u32) -> vec2<u32> {
  let aL = a & 0xffffu; let aH = a >> 16u; let bL = b & 0xffffu; let bH = b >> 16u;
  let ll = aL * bL; let hl = aH * bL; let lh = aL * bH; let hh = aH * bH;
  let cross = (ll >> 16u) + (hl & 0xffffu) + (lh & 0xffffu);
  return vec2<u32>(hh + (hl >> 16u) + (lh >> 16u) + (cross >> 16u), a * b);
}
fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var round = 0; round < 10; round++) {
    let p0 = mul_hi_lo(0xd2511f53u, c.x);
    let p1 = mul_hi_lo(0xcd9e8d57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
  }
  return c;
}`;

function randomCode(out: GpuStorage, distribution: 'uniform' | 'normal'): string {
  const pack = wgsl.packOf(out.dtype);
  const values =
    distribution === 'uniform'
      ? `  let u = vec4<f32>(w >> vec4<u32>(8u)) * 5.9604644775390625e-8;
  let v = vec4<f32>(p.a) + vec4<f32>(p.b - p.a) * u;`
      : `  let u = (vec4<f32>(w >> vec4<u32>(8u)) + vec4<f32>(0.5)) * 5.9604644775390625e-8;
  let r0 = sqrt(-2.0 * log(u.x));
  let r1 = sqrt(-2.0 * log(u.z));
  // 2 pi u is brought into [-pi, pi] where GPU sin and cos are accurate: cos(t + pi) = -cos(t).
  let t0 = 6.283185307179586 * (u.y - 0.5);
  let t1 = 6.283185307179586 * (u.w - 0.5);
  let v = vec4<f32>(p.a) + p.b * vec4<f32>(-r0 * cos(t0), -r0 * sin(t0), -r1 * cos(t1), -r1 * sin(t1));`;
  const op = { name: 'out', dtype: out.dtype, mode: 'write' as const };
  const lanes = ['v.x', 'v.y', 'v.z', 'v.w'];
  const stores: string[] = [];
  for (let w = 0; w < 4 / pack; w++) {
    const word = `index * ${4 / pack}u + ${w}u`;
    stores.push(
      `  if (index * 4u + ${w * pack}u < p.n) { ${wgsl.storeWord(op, word, lanes.slice(w * pack, w * pack + pack))} }`,
    );
  }
  const body = `  if (index * 4u >= p.n) { return; }
  let lo = p.offsetLo + index;
  let hi = p.offsetHi + select(0u, 1u, lo < index);
  let w = philox(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(p.key0, p.key1));
${values}
${stores.join('\n')}`;
  return [
    wgsl.PRELUDE,
    PHILOX,
    wgsl.declareParams(RANDOM_FIELDS),
    wgsl.declareBinding(1, op),
    wgsl.linearMain(body),
  ].join('\n');
}

export const random: GpuKernel<'random'> = (ctx, { out }, params) => {
  const kernel = 'WebGPUBackend.random';
  const code = randomCode(out, params.distribution);
  const compiled = ctx.executor.kernel(
    `${kernel}(${params.distribution})`,
    code,
    bindingKinds([{ name: 'out', dtype: out.dtype, mode: 'write' }]),
  );
  const chunk = out.byteLength + 16 > ctx.maxBindingBytes ? ctx.chunkElements([out.dtype]) : out.size;
  for (let start = 0; start < out.size; start += chunk) {
    const count = Math.min(chunk, out.size - start);
    const offset = params.offset + start / 4;
    const values = {
      n: count,
      offsetLo: offset % 2 ** 32,
      offsetHi: Math.floor(offset / 2 ** 32),
      key0: params.seed[0] >>> 0,
      key1: params.seed[1] >>> 0,
      a: params.a,
      b: params.b,
    };
    const binding = chunk === out.size ? ctx.binding(out, kernel, 'out') : ctx.rangeBinding(out, start, count);
    ctx.dispatchThreads(compiled, [binding], [RANDOM_FIELDS, values], count / 4);
  }
};
