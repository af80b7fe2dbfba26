import type { Tensor } from '../tensor.js';

/**
 * Applies `steps` in order to `input`, disposing each intermediate handle (the input included) as
 * soon as the next result exists. Autograd keeps what it saved, so this frees exactly the
 * temporaries nothing needs any more, as early as a refcounted framework would.
 */
export function pipe(input: Tensor, ...steps: ((t: Tensor) => Tensor)[]): Tensor {
  let current = input;
  for (const step of steps) {
    const next = step(current);
    if (next !== current) current.dispose();
    current = next;
  }
  return current;
}
