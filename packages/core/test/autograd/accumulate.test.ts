/**
 * In-place gradient accumulation: when several paths lead into a tensor, backward adds their
 * gradients into the buffer it alone holds instead of allocating a sum per path, and a leaf's .grad
 * grows in place across backward calls (as in PyTorch); a gradient whose storage another tensor
 * shares is never written in place.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KernelIO, Storage } from '../../src/backend.js';
import { getBackend, linear, matmul, mul, sum, type Tensor, tensor, tidy } from '../../src/index.js';
import { gradcheck, leaf, prng, randomInputs } from '../helpers/gradcheck.js';

const values = (t: Tensor): number[] => [...t.dataSync()];

/** Counts, while `fn` runs, binary adds written into their first operand, and accumulating matmuls. */
function countInPlace(fn: () => void): { adds: number; matmuls: number } {
  const backend = getBackend();
  const run = backend.run.bind(backend);
  const counts = { adds: 0, matmuls: 0 };
  const spy = vi.spyOn(backend, 'run').mockImplementation((name, io, params) => {
    const storages = io as KernelIO<'binary'> as Record<string, Storage>;
    if (name === 'binary' && storages.out === storages.a) counts.adds++;
    if (name === 'matmul' && (params as { accumulate?: boolean }).accumulate) counts.matmuls++;
    run(name, io, params as never);
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return counts;
}

function countInPlaceAdds(fn: () => void): number {
  return countInPlace(fn).adds;
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

  it('adds the input gradient of a linear into the one other paths collected, in the GEMM itself', () => {
    const rand = prng(11);
    const x = leaf([2, 3, 4], rand);
    const ws = [leaf([5, 4], rand), leaf([6, 4], rand), leaf([4, 4], rand)];
    const h = tidy(() => x.mul(2));
    // h feeds three linears (q, k, v projections): two of their input gradients accumulate.
    const loss = tidy(() =>
      sum(linear(h, ws[0]!).square())
        .add(sum(linear(h, ws[1]!)))
        .add(sum(linear(h, ws[2]!))),
    );
    const { matmuls, adds } = countInPlace(() => loss.backward());
    expect(matmuls).toBe(2);
    expect(adds).toBe(0);
    // The reference: the same sums of products, each gradient computed on its own.
    const ref = tidy(() => {
      const parts = ws.map((w, i) => {
        const hx = x.detach().mul(2);
        const y = linear(hx, w.detach());
        const g = i === 0 ? y.mul(2) : y.mul(0).add(1);
        return matmul(g, w.detach()).mul(2);
      });
      return parts[0]!.add(parts[1]!).add(parts[2]!);
    });
    const got = values(x.grad!);
    const want = values(ref);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 12);
    for (const t of [loss, h, ref, x, ...ws]) {
      t.zeroGrad();
      t.dispose();
    }
  });

  it('leaves a broadcast matmul operand to the reduce-then-add path', () => {
    const rand = prng(12);
    const a = leaf([3, 4], rand);
    const b = leaf([2, 4, 5], rand);
    const c = leaf([5, 4], rand);
    const h = tidy(() => a.mul(1));
    // h is broadcast over b's batch: that gradient is a sum over the batch, not one GEMM's output,
    // so it is reduced and then added to the gradient h @ c^T gave (backward runs that one first).
    const loss = tidy(() => sum(matmul(h, b)).add(sum(matmul(h, c.transpose()))));
    const counts = countInPlace(() => loss.backward());
    expect(counts.matmuls).toBe(0);
    expect(counts.adds).toBe(1);
    const expected = tidy(() => sum(b.detach(), [0]).sum(1).add(c.detach().sum(0)));
    const row = values(expected);
    const got = values(a.grad!);
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(row[i % 4]!, 12);
    for (const t of [loss, h, expected, a, b, c]) {
      t.zeroGrad();
      t.dispose();
    }
  });

  it('matches float64 finite differences on linears sharing their input', () => {
    gradcheck(
      (x, w1, w2, w3) => {
        const h = x.mul(x);
        return linear(h, w1).add(linear(h, w2).square()).add(linear(h, w3).sigmoid());
      },
      randomInputs(prng(13), [
        [2, 3, 4],
        [5, 4],
        [5, 4],
        [5, 4],
      ]),
      { label: 'linears sharing their input' },
    );
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
