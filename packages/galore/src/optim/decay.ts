/** Decoupled weight decay applied on its own: p <- p * factor, written back into p's storage. */
import { mul, type Tensor, tidy, writeInto } from '@galore-ts/core';

export function scaleInPlace(param: Tensor, factor: number, where: string): void {
  if (factor === 1) return;
  tidy(() => writeInto(param, mul(param, factor), where));
}
