/**
 * Gradient checkpointing (activation recomputation): run a block without recording it, keep only
 * its input, and in backward run the block again with autograd on and backpropagate through that.
 * Activation memory drops from every intermediate of the block to its input alone, for the price
 * of one more forward pass.
 */
import { isGradEnabled, noGrad, tidy, withGradEnabled } from '../engine.js';
import { recordOp, type Tensor } from '../tensor.js';
import type { Module } from './module.js';

/**
 * Runs `forward(input)` for `module`, recorded as one op whose backward recomputes it. The block's
 * gradients reach the module's parameters through the outer backward pass (so their onGradReady
 * hooks fire once, at the right time). `forward` must be deterministic (no dropout draws): the
 * recomputation must reproduce the first run. `extras` are other tensors the block reads without
 * needing their gradient (an attention mask): they are kept for the recomputation, which receives
 * its own handles on them, since the caller may free its own before backward runs.
 */
export function checkpoint(
  module: Module,
  input: Tensor,
  forward: (x: Tensor, extras: readonly Tensor[]) => Tensor,
  extras: readonly Tensor[] = [],
): Tensor {
  const params = module.parameters();
  const inputs = [input, ...params];
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return forward(input, extras);
  const out = noGrad(() => tidy(() => forward(input, extras)));
  const inputNeedsGrad = input.requiresGrad;
  return recordOp('checkpoint', out, inputs, [input, ...extras], (grad, [savedInput, ...savedExtras]) =>
    recomputeAndBackprop(module, params, savedInput!, inputNeedsGrad, grad, (x) => forward(x, savedExtras as Tensor[])),
  );
}

/** Re-runs the block on detached stand-ins for its input and parameters and returns their gradients. */
function recomputeAndBackprop(
  module: Module,
  params: readonly Tensor[],
  savedInput: Tensor,
  inputNeedsGrad: boolean,
  grad: Tensor,
  forward: (x: Tensor) => Tensor,
): (Tensor | null)[] {
  // Stand-ins share storage with the parameters but are fresh leaves, so this inner backward
  // cannot touch the real parameters' .grad or fire their hooks.
  const standIns = new Map<Tensor, Tensor>();
  const restore = module.replaceParameters((p) => {
    const standIn = p.detach();
    if (p.requiresGrad) standIn.requiresGrad_(true);
    standIns.set(p, standIn);
    return standIn;
  });
  const x = savedInput.detach();
  if (inputNeedsGrad) x.requiresGrad_(true);
  try {
    const y = withGradEnabled(true, () => forward(x));
    if (y.requiresGrad) y.backward(grad);
    y.dispose();
    return [x, ...params.map((p) => standIns.get(p)!)].map(takeGrad);
  } finally {
    restore();
    for (const t of [x, ...standIns.values()]) {
      t.zeroGrad();
      t.dispose();
    }
  }
}

/** Moves a leaf's gradient out of it (the caller owns it now). */
function takeGrad(t: Tensor): Tensor | null {
  const g = t.grad;
  t.grad = null;
  return g;
}
