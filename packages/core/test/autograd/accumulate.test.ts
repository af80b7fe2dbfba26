/**
 * In-place gradient accumulation: when several paths lead into a tensor, backward adds their
 * gradients into the buffer it alone holds instead of allocating a sum per path, and a leaf's .grad
 * grows in place across backward calls (as in PyTorch); a gradient whose storage another tensor
 * shares is never written in place.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KernelIO, Storage } from '../../src/backend.js';
import { getBackend, mul, sum, type Tensor, tensor, tidy } from '../../src/index.js';
import { gradcheck, prng, randomInputs } from '../helpers/gradcheck.js';

const values = (t: Tensor): number[] => [...t.dataSync()];

/** Counts binary adds written into their first operand while `fn` runs. */
function countInPlaceAdds(fn: () => void): number {
  const backend = getBackend();
  const run = backend.run.bind(backend);
  let inPlace = 0;
  const spy = vi.spyOn(backend, 'run').mockImplementation((name, io, params) => {
    const storages = io as KernelIO<'binary'> as Record<string, Storage>;
    if (name === 'binary' && storages.out === storages.a) inPlace++;
    run(name, io, params as never);
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return inPlace;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('in-place gradient accumulation', () => {
  it('sums the gradients of a tensor used by three consumers into one buffer', () => {
    const x = tensor([1, -2, 3], { requiresGrad: true });
    // y feeds three products: d/dx sum(2y + 3y + y*y) with y = 2x is 2 * (5 + 2y).
    const loss = tidy(() => {
      const y = mul(x, 2);
      return sum(mul(y, 2))
        .add(sum(mul(y, 3)))
        .add(sum(mul(y, y)));
    });
    const inPlace = countInPlaceAdds(() => loss.backward());
    expect(inPlace).toBeGreaterThanOrEqual(2);
    expect(values(x.grad!)).toEqual([1, -2, 3].map((v) => 2 * (5 + 4 * v)));
    loss.dispose();
    x.zeroGrad();
    x.dispose();
  });

  it('does not write into a gradient another tensor shares (add hands the same storage to both inputs)', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = tidy(() => mul(x, 3));
    // z = y + y: both of add's input gradients are views of one storage.
    const loss = tidy(() => sum(y.add(y).mul(y)));
    loss.backward();
    // d/dx 2y^2 = 4y * 3.
    expect(values(x.grad!)).toEqual([36, 72]);
    for (const t of [loss, y, x]) t.dispose();
    x.zeroGrad();
  });

  it('accumulates a leaf used twice, and its .grad across two backward calls, in place', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const forward = () => tidy(() => sum(mul(x, x)).add(sum(mul(x, 4))));
    const first = forward();
    expect(countInPlaceAdds(() => first.backward())).toBeGreaterThanOrEqual(1);
    const firstGrad = x.grad!;
    expect(values(firstGrad)).toEqual([6, 8, 10]);
    const second = forward();
    expect(countInPlaceAdds(() => second.backward())).toBeGreaterThanOrEqual(2);
    expect(x.grad).toBe(firstGrad);
    expect(values(x.grad!)).toEqual([12, 16, 20]);
    for (const t of [first, second]) t.dispose();
    x.zeroGrad();
    x.dispose();
  });

  it('adds into a new tensor when a view shares the leaf gradient, and the view keeps its values', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const first = tidy(() => sum(mul(x, 3)));
    first.backward();
    const view = x.grad!.reshape([2, 1]);
    const second = tidy(() => sum(mul(x, 5)));
    expect(countInPlaceAdds(() => second.backward())).toBe(0);
    expect(values(view)).toEqual([3, 3]);
    expect(values(x.grad!)).toEqual([8, 8]);
    for (const t of [first, second, view]) t.dispose();
    x.zeroGrad();
    x.dispose();
  });

  it('with retainGraph, backward twice through the same graph gives twice the gradient', () => {
    const x = tensor([0.5, -1], { requiresGrad: true });
    const y = tidy(() => mul(x, x));
    const loss = tidy(() => sum(mul(y, y)).add(sum(y)));
    loss.backward(undefined, { retainGraph: true });
    const once = values(x.grad!);
    loss.backward();
    expect(values(x.grad!)).toEqual(once.map((g) => 2 * g));
    // d/dx (x^4 + x^2) = 4x^3 + 2x.
    expect(once).toEqual([0.5, -1].map((v) => 4 * v ** 3 + 2 * v));
    for (const t of [loss, y, x]) t.dispose();
    x.zeroGrad();
  });

  it('matches float64 finite differences on graphs with shared intermediates and leaves', () => {
    const rand = prng(7);
    const fn = (a: Tensor, b: Tensor) => {
      const h = a.mul(b);
      const s = h.sigmoid();
      return h.mul(s).add(h.mul(a)).add(s.mul(b)).add(a.mul(a));
    };
    gradcheck(
      fn,
      randomInputs(rand, [
        [3, 4],
        [3, 4],
      ]),
      { label: 'shared intermediates' },
    );
  });
});
