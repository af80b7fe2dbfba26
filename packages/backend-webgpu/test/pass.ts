import type { Module, Tensor } from '@galore-ts/core';

/** What one forward/backward pass produced, read back to the host. */
export interface Pass {
  logits: number[];
  loss: number;
  grads: Map<string, number[]>;
}

/** Runs backward from `loss`, reads logits, loss and every parameter's gradient, then frees the model. */
export async function backwardPass(model: Module, logits: Tensor, loss: Tensor): Promise<Pass> {
  loss.backward();
  const grads = new Map<string, number[]>();
  for (const [name, p] of model.namedParameters()) grads.set(name, Array.from(await p.grad!.data()));
  const pass = { logits: Array.from(await logits.data()), loss: await loss.item(), grads };
  for (const t of [logits, loss]) t.dispose();
  model.dispose();
  return pass;
}
