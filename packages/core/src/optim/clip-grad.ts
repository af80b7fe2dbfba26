/**
 * Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_: the norm of all gradients
 * taken together; when it exceeds maxNorm, every gradient is multiplied by
 * maxNorm / (total + 1e-6).
 *
 * The decision is made on the device (no read-back before scaling), so the tensor form never waits
 * for the device; `clipGradNorm` and `clipGradNormSync` only read the norm afterwards. A non-finite
 * norm (NaN or Infinity) leaves the gradients as they are and is returned for the caller to act on
 * (skip the step, lower the loss scale, stop).
 */
import type { DType } from '../dtype.js';
import { getBackend, keep, noGrad, tidy, withCategory } from '../engine.js';
import { zeros } from '../ops/creation.js';
import { abs, add, cast, div, gt, lt, maximum, mul, pow, sqrt, square, where } from '../ops/elementwise.js';
import { max, sum } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';

/** Keeps the scale finite when the norm is 0, as PyTorch does. */
const CLIP_EPS = 1e-6;

function checkArguments(where: string, maxNorm: number, normType: number): void {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm) || maxNorm < 0) {
    throw new RangeError(`${where}: maxNorm must be a number >= 0, got ${String(maxNorm)}`);
  }
  if (typeof normType !== 'number' || !(normType > 0)) {
    throw new RangeError(`${where}: normType must be a number > 0 or Infinity, got ${String(normType)}`);
  }
}

/** The parameters that have gradients, each once. */
function withGrads(params: readonly Tensor[] | Tensor): Tensor[] {
  const list = Array.isArray(params) ? (params as readonly Tensor[]) : [params as Tensor];
  return [...new Set(list)].filter((p) => p.grad !== null);
}

/** One gradient's contribution: sum |g|^p, or max |g| for the infinity norm. */
function partialNorm(g: Tensor, normType: number, dtype: DType): Tensor {
  return tidy(() => {
    const x = cast(g, dtype);
    if (normType === Number.POSITIVE_INFINITY) return max(abs(x));
    if (normType === 2) return sum(square(x));
    return sum(pow(abs(x), normType));
  });
}

/** The norm of all gradients taken together, computed in float32 (float64 when all are float64). */
function totalNorm(grads: readonly Tensor[], normType: number): Tensor {
  const dtype: DType = grads.every((g) => g.dtype === 'float64') ? 'float64' : 'float32';
  return tidy(() => {
    let acc: Tensor | undefined;
    for (const g of grads) {
      const part = partialNorm(g, normType, dtype);
      acc = acc === undefined ? part : normType === Number.POSITIVE_INFINITY ? maximum(acc, part) : add(acc, part);
    }
    if (normType === Number.POSITIVE_INFINITY) return acc!;
    return normType === 2 ? sqrt(acc!) : pow(acc!, 1 / normType);
  });
}

/** maxNorm / (total + 1e-6) where total is finite and above maxNorm, else 1. */
function clipCoefficient(total: Tensor, maxNorm: number): Tensor {
  const scale = div(maxNorm, add(total, CLIP_EPS));
  return where(gt(total, maxNorm), where(lt(total, Number.POSITIVE_INFINITY), scale, 1), 1);
}

/**
 * Clips in place (each `param.grad` is replaced by a scaled copy) and returns the total norm as a
 * 0-d tensor the caller owns. Parameters without a gradient are skipped; with none, the norm is 0.
 */
export function clipGradNormTensor(params: readonly Tensor[] | Tensor, maxNorm: number, normType = 2): Tensor {
  checkArguments('clipGradNorm', maxNorm, normType);
  const targets = withGrads(params);
  if (targets.length === 0) {
    const backend =
      (Array.isArray(params) ? (params as readonly Tensor[])[0] : (params as Tensor))?.backend ?? getBackend();
    return zeros([], { backend });
  }
  return noGrad(() => {
    const total = withCategory('other', () =>
      totalNorm(
        targets.map((p) => p.grad!),
        normType,
      ),
    );
    tidy(() => {
      const coef = withCategory('other', () => clipCoefficient(total, maxNorm));
      for (const p of targets) replaceGrad(p, coef);
    });
    return total;
  });
}

/**
 * The grad is replaced rather than scaled in its storage: autograd may hand two leaves handles on
 * one storage (the gradient of a + b), which an in-place write would scale twice.
 */
function replaceGrad(p: Tensor, coef: Tensor): void {
  const old = p.grad!;
  const scaled = withCategory('gradient', () =>
    tidy(() => {
      const product = mul(old, coef);
      return product.dtype === old.dtype ? product : cast(product, old.dtype);
    }),
  );
  p.grad = keep(scaled);
  old.dispose();
}

/** Clips and resolves to the total norm (waits for the device only to read that one number). */
export async function clipGradNorm(params: readonly Tensor[] | Tensor, maxNorm: number, normType = 2): Promise<number> {
  const total = clipGradNormTensor(params, maxNorm, normType);
  try {
    return await total.item();
  } finally {
    total.dispose();
  }
}

/** Clips and returns the total norm, on backends that read synchronously (CPU). */
export function clipGradNormSync(params: readonly Tensor[] | Tensor, maxNorm: number, normType = 2): number {
  const total = clipGradNormTensor(params, maxNorm, normType);
  try {
    return total.itemSync();
  } finally {
    total.dispose();
  }
}
