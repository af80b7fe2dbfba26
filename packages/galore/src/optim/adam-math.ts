/** Pieces the Adam-family GaLore optimizers share: option checks and the fused kernel's parameters. */
import type { AdamWParams } from '@galore-ts/core';
import { checkNumber, describeValue, inUnitInterval, isNonNegative, isPositive } from './options.js';

export type StateDType = 'float32' | 'bfloat16';

export interface AdamHyperParameters {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
}

export function checkAdamOptions(where: string, o: AdamHyperParameters): void {
  checkNumber(where, 'lr', o.lr, isNonNegative, 'a finite number >= 0');
  if (!Array.isArray(o.betas) || o.betas.length !== 2) {
    throw new RangeError(`${where}: betas must be a pair [beta1, beta2], got ${describeValue(o.betas)}`);
  }
  checkNumber(where, 'betas[0]', o.betas[0], inUnitInterval, 'in [0, 1)');
  checkNumber(where, 'betas[1]', o.betas[1], inUnitInterval, 'in [0, 1)');
  checkNumber(where, 'eps', o.eps, isPositive, 'a finite number > 0');
  checkNumber(where, 'weightDecay', o.weightDecay, isNonNegative, 'a finite number >= 0');
}

export function checkStateDType(where: string, value: unknown): void {
  if (value !== 'float32' && value !== 'bfloat16') {
    throw new RangeError(`${where}: stateDType must be 'float32' or 'bfloat16', got ${describeValue(value)}`);
  }
}

/**
 * Kernel parameters for the official (Hugging Face) AdamW step at moment step t:
 * p -= lr * sqrt(bc2) / bc1 * m / (sqrt(v) + eps). The kernel computes
 * p -= lr / bc1 * m / (sqrt(v / bc2) + eps'), equal to it for eps' = eps / sqrt(bc2).
 * Weight decay is left to the caller (the official code applies it after the step).
 */
export function officialAdamKernelParams(
  o: AdamHyperParameters,
  correctBias: boolean,
  t: number,
  lr: number,
): AdamWParams {
  const [beta1, beta2] = o.betas;
  const biasCorrection1 = correctBias ? 1 - beta1 ** t : 1;
  const biasCorrection2 = correctBias ? 1 - beta2 ** t : 1;
  return {
    lr,
    beta1,
    beta2,
    eps: o.eps / Math.sqrt(biasCorrection2),
    weightDecay: 0,
    biasCorrection1,
    biasCorrection2,
  };
}

/**
 * Kernel parameters for PyTorch's (and bitsandbytes') AdamW step at moment step t:
 * p -= lr / bc1 * m / (sqrt(v / bc2) + eps), weight decay as given.
 */
export function torchAdamKernelParams(o: AdamHyperParameters, t: number, lr: number, weightDecay: number): AdamWParams {
  const [beta1, beta2] = o.betas;
  return {
    lr,
    beta1,
    beta2,
    eps: o.eps,
    weightDecay,
    biasCorrection1: 1 - beta1 ** t,
    biasCorrection2: 1 - beta2 ** t,
  };
}
