/**
 * GELU (erf form) and its backward pass. WGSL has no erf, so the shader evaluates the CPU
 * reference's rationals (W. J. Cody, Math. Comp. 23 (1969); core's ERF_RATIONALS) in f32: every
 * coefficient of each polynomial is positive for the positive argument they get, so Horner's rule
 * adds no cancellation and erfc keeps f32 relative accuracy into the tail, up to the error of the
 * platform's exp.
 */
import { ERF_RATIONALS } from '@galore-ts/core';
import type { GpuKernel } from './context.js';
import { runMap } from './map.js';

/** Horner's rule for `coefficients` (highest degree first) at `t`, as a WGSL f32 expression. */
function horner(coefficients: readonly number[], t: string): string {
  const literal = (c: number) => (Number.isInteger(c) ? `${c}.0` : String(c));
  return coefficients
    .slice(1)
    .reduce((acc, c) => `(${acc} * ${t} + ${literal(c)})`, literal(coefficients[0] as number));
}

const { r1, r2, r3 } = ERF_RATIONALS;

/** normal_cdf(x) = Phi(x) = erfc(-x / sqrt 2) / 2, and normal_pdf(x) = phi(x). */
const NORMAL = /* wgsl */ `
// exp(-y^2) with y = a + d, a a multiple of 1/16 so that a^2 is exact (no error from rounding y^2).
fn exp_neg_square(y: f32) -> f32 {
  let a = trunc(y * 16.0) / 16.0;
  return exp(-a * a) * exp(-(y - a) * (y + a));
}
fn erfc_f32(x: f32) -> f32 {
  let y = abs(x);
  if (y <= ${ERF_RATIONALS.small}) {
    let t = x * x;
    return 1.0 - x * ${horner(r1.num, 't')} / ${horner(r1.den, 't')};
  }
  var tail: f32;
  if (y <= ${ERF_RATIONALS.middle}.0) {
    tail = exp_neg_square(y) * ${horner(r2.num, 'y')} / ${horner(r2.den, 'y')};
  } else if (y <= 10.0) {
    let z = 1.0 / (y * y);
    tail = exp_neg_square(y) * (0.5641895835477563 - z * ${horner(r3.num, 'z')} / ${horner(r3.den, 'z')}) / y;
  } else {
    tail = select(0.0, y, y != y); // below f32's smallest subnormal; NaN stays NaN
  }
  return select(tail, 2.0 - tail, x < 0.0);
}
fn normal_cdf(x: f32) -> f32 { return 0.5 * erfc_f32(-x * 0.7071067811865476); }
fn normal_pdf(x: f32) -> f32 { return 0.3989422804014327 * exp(-0.5 * x * x); }
`;

export const gelu: GpuKernel<'gelu'> = (ctx, { x, out }) => {
  runMap(ctx, {
    kernel: 'WebGPUBackend.gelu',
    size: out.size,
    inputs: { x },
    outputs: { out },
    functions: NORMAL,
    pre: '    let v = ld_x(i_x);',
    values: { out: 'v * normal_cdf(v)' },
  });
};

/** dx = dy (Phi(x) + x phi(x)). */
export const geluBackward: GpuKernel<'geluBackward'> = (ctx, { x, dy, dx }) => {
  runMap(ctx, {
    kernel: 'WebGPUBackend.geluBackward',
    size: dx.size,
    inputs: { x, dy },
    outputs: { dx },
    functions: NORMAL,
    pre: '    let v = ld_x(i_x);',
    values: { dx: 'ld_dy(i_dy) * (normal_cdf(v) + v * normal_pdf(v))' },
  });
};
