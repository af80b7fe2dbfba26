/** The official GaLore AdamW's step as the fused kernel's parameters, and its moment dtypes. */
import {
  type AdamHyperParameters,
  type AdamWParams,
  adamwKernelParams,
  adamwStepOf,
  describeValue,
} from '@galore-ts/core';

export type StateDType = 'float32' | 'bfloat16';

export function checkStateDType(where: string, value: unknown): void {
  if (value !== 'float32' && value !== 'bfloat16') {
    throw new RangeError(`${where}: stateDType must be 'float32' or 'bfloat16', got ${describeValue(value)}`);
  }
}

/**
 * Kernel parameters for the official (Hugging Face) AdamW step at moment step t:
 * p -= lr * sqrt(bc2) / bc1 * m / (sqrt(v) + eps). The kernel computes PyTorch's
 * p -= lr / bc1 * m / (sqrt(v / bc2) + eps'), equal to it for eps' = eps / sqrt(bc2).
 * Weight decay is left to the caller (the official code applies it after the step).
 */
export function officialAdamKernelParams(
  o: AdamHyperParameters,
  correctBias: boolean,
  t: number,
  lr: number,
): AdamWParams {
  const torch = adamwKernelParams(adamwStepOf({ ...o, lr, weightDecay: 0 }, t));
  if (!correctBias) return { ...torch, biasCorrection1: 1, biasCorrection2: 1 };
  return { ...torch, eps: o.eps / Math.sqrt(torch.biasCorrection2) };
}
