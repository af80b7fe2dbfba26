/** Unary, broadcasting binary, where, cast and the SiLU-gate kernels, all through `runMap`. */
import type { UnaryOp } from '@galore-ts/core';
import { isIntegral } from '../wgsl.js';
import type { GpuKernel } from './context.js';
import { runMap } from './map.js';

/** f32 expressions of `x`; sin and cos reduce their argument first (GPU sin/cos lose accuracy far from 0). */
const UNARY: Readonly<Record<UnaryOp, string>> = {
  neg: '-x',
  exp: 'exp(x)',
  log: 'log(x)',
  sqrt: 'sqrt(x)',
  rsqrt: '1.0 / sqrt(x)',
  abs: 'abs(x)',
  sigmoid: '1.0 / (1.0 + exp(-x))',
  silu: 'x / (1.0 + exp(-x))',
  tanh: 'tanh_stable(x)',
  relu: 'select(x, 0.0, x < 0.0)',
  sign: 'select(select(select(x, -1.0, x < 0.0), 1.0, x > 0.0), x, x == 0.0)',
  square: 'x * x',
  reciprocal: '1.0 / x',
  sin: 'sin(reduce_angle(x))',
  cos: 'cos(reduce_angle(x))',
};

export const unary: GpuKernel<'unary'> = (ctx, { x, out }, { op }) => {
  runMap(ctx, {
    kernel: `WebGPUBackend.unary(${op})`,
    size: out.size,
    inputs: { x },
    outputs: { out },
    pre: '    let x = ld_x(i_x);',
    values: { out: UNARY[op] },
  });
};

const ARITHMETIC_F32: Readonly<Record<string, string>> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'pow_js(a, b)',
  maximum: 'max_js(a, b)',
  minimum: 'min_js(a, b)',
};

const ARITHMETIC_I32: Readonly<Record<string, string>> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'select(0, a / b, b != 0)',
  pow: 'i32_of(pow_js(f32(a), f32(b)))',
  maximum: 'max(a, b)',
  minimum: 'min(a, b)',
};

const COMPARISON: Readonly<Record<string, string>> = {
  eq: 'a == b',
  ne: 'a != b',
  lt: 'a < b',
  le: 'a <= b',
  gt: 'a > b',
  ge: 'a >= b',
};

export const binary: GpuKernel<'binary'> = (ctx, { a, b, out }, layout) => {
  const op = layout.op;
  const kernel = `WebGPUBackend.binary(${op})`;
  const comparison = Object.hasOwn(COMPARISON, op) ? COMPARISON[op] : undefined;
  const intInputs = isIntegral(a.dtype) && isIntegral(b.dtype);
  const integer = comparison ? intInputs : intInputs && isIntegral(out.dtype);
  const load = integer ? 'ldi' : 'ld';
  const value = comparison
    ? `select(0, 1, ${comparison})`
    : ((integer ? ARITHMETIC_I32 : ARITHMETIC_F32)[op] as string);
  runMap(ctx, {
    kernel,
    size: out.size,
    shape: layout.shape,
    inputs: {
      a: { storage: a, strides: layout.aStrides },
      b: { storage: b, strides: layout.bStrides },
    },
    outputs: { out: { storage: out, integer: integer || comparison !== undefined } },
    pre: `    let a = ${load}_a(i_a);\n    let b = ${load}_b(i_b);`,
    values: { out: value },
  });
};

export const where: GpuKernel<'where'> = (ctx, { cond, a, b, out }, layout) => {
  const kernel = 'WebGPUBackend.where';
  const integer = isIntegral(a.dtype) && isIntegral(b.dtype) && isIntegral(out.dtype);
  const load = integer ? 'ldi' : 'ld';
  runMap(ctx, {
    kernel,
    size: out.size,
    shape: layout.shape,
    inputs: {
      cond: { storage: cond, strides: layout.condStrides },
      a: { storage: a, strides: layout.aStrides },
      b: { storage: b, strides: layout.bStrides },
    },
    outputs: { out: { storage: out, integer } },
    pre: `    let c = ld_cond(i_cond) != 0.0;`,
    values: { out: `select(${load}_b(i_b), ${load}_a(i_a), c)` },
  });
};

export const cast: GpuKernel<'cast'> = (ctx, { x, out }) => {
  const integer = isIntegral(x.dtype) && isIntegral(out.dtype);
  runMap(ctx, {
    kernel: `WebGPUBackend.cast(${x.dtype}->${out.dtype})`,
    size: out.size,
    inputs: { x },
    outputs: { out: { storage: out, integer } },
    values: { out: integer ? 'ldi_x(i_x)' : 'ld_x(i_x)' },
  });
};

export const siluMul: GpuKernel<'siluMul'> = (ctx, { gate, up, out }) => {
  runMap(ctx, {
    kernel: 'WebGPUBackend.siluMul',
    size: out.size,
    inputs: { gate, up },
    outputs: { out },
    pre: '    let g = ld_gate(i_gate);',
    values: { out: 'g / (1.0 + exp(-g)) * ld_up(i_up)' },
  });
};

export const siluMulBackward: GpuKernel<'siluMulBackward'> = (ctx, { gate, up, dy, dgate, dup }) => {
  runMap(ctx, {
    kernel: 'WebGPUBackend.siluMulBackward',
    size: gate.size,
    inputs: { gate, up, dy },
    outputs: { dgate, dup },
    pre: ['    let g = ld_gate(i_gate);', '    let s = 1.0 / (1.0 + exp(-g));', '    let d = ld_dy(i_dy);'].join('\n'),
    values: { dgate: 'd * ld_up(i_up) * s * (1.0 + g * (1.0 - s))', dup: 'd * g * s' },
  });
};
