/** The official GaLore AdamW's step as the fused kernel's parameters, and its moment dtypes. */
import {
  type AdamHyperParameters,
  type AdamWParams,
  adamwKernelParams,
  adamwStepOf,
  describeValue,
} from '@galore-ts/core';

/** The dtypes GaLore AdamW keeps its moments in. */
export const STATE_DTYPES = ['float32', 'bfloat16'] as const;
export type StateDType = (typeof STATE_DTYPES)[number];

export function checkStateDType(where: string, value: unknown): void {
  if (!(STATE_DTYPES as readonly unknown[]).includes(value)) {
    throw new RangeError(`${where}: stateDType must be one of ${STATE_DTYPES.join(', ')}, got ${describeValue(value)}`);
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
