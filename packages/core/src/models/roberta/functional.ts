/**
 * LayerNorm (with bias) and GELU (erf form) composed from public ops, so every backend runs them
 * and autograd derives their gradients. Fused kernels will replace these after the kernel boundary
 * is redesigned; until then they cost a few extra elementwise passes and saved activations.
 */
import { tidy } from '../../engine.js';
import { abs, add, exp, mul, reciprocal, rsqrt, sign, square, sub } from '../../ops/elementwise.js';
import { mean } from '../../ops/reduce.js';
import type { Tensor } from '../../tensor.js';

/** (x - mean) / sqrt(var + eps) * weight + bias over the last axis (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  return tidy(() => {
    const centred = sub(x, mean(x, -1, true));
    const inv = rsqrt(add(mean(square(centred), -1, true), eps));
    return add(mul(mul(centred, inv), weight), bias);
  });
}

// erfc(z) for z >= 0 as t * exp(-z^2 + P(t)), t = 1 / (1 + z/2): Chebyshev fit with fractional
// error below 1.2e-7 everywhere (Press et al., Numerical Recipes, erfcc), smooth for z > 0.
const ERFC_COEFFS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223,
  0.17087277,
];

/** erfc(z) for z >= 0, composed from ops (relative error below 1.2e-7). */
export function erfcNonNegative(z: Tensor): Tensor {
  return tidy(() => {
    const t = reciprocal(add(mul(z, 0.5), 1));
    let poly: Tensor = mul(t, ERFC_COEFFS[ERFC_COEFFS.length - 1]!);
    for (let i = ERFC_COEFFS.length - 2; i >= 1; i--) poly = mul(t, add(poly, ERFC_COEFFS[i]!));
    const exponent = sub(add(poly, ERFC_COEFFS[0]!), square(z));
    return mul(t, exp(exponent));
  });
}

/**
 * GELU, erf form: x/2 (1 + erf(x/sqrt 2)). Written as x (1/2 + s/2 - s/2 erfc(|x|/sqrt 2)) with
 * s = sign(x) treated as a constant, so the gradient is exact wherever erfc's is.
 */
export function gelu(x: Tensor): Tensor {
  return tidy(() => {
    const s = sign(x.detach());
    const e = erfcNonNegative(mul(abs(x), Math.SQRT1_2));
    const halfS = mul(s, 0.5);
    const factor = sub(add(halfS, 0.5), mul(halfS, e));
    return mul(x, factor);
  });
}
