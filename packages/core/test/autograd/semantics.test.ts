/** Autograd semantics: accumulation, zeroGrad, noGrad, detach, released graphs, retainGraph, hooks, depth. */
import { describe, expect, it } from 'vitest';
import {
  add,
  exp,
  getBackend,
  isGradEnabled,
  mul,
  noGrad,
  sum,
  type Tensor,
  tensor,
  tidy,
  withGradEnabled,
} from '../../src/index.js';

const values = (t: Tensor): number[] => [...t.dataSync()];

function disposeAll(...ts: Tensor[]): void {
  for (const t of ts) {
    t.zeroGrad();
    t.dispose();
  }
}

describe('gradient accumulation', () => {
  it('two backward calls add up; zeroGrad starts again', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    // d/dx sum(x^2) = 2x
    tidy(() => x.square().sum()).backward();
    expect(values(x.grad!)).toEqual([2, 4, 6]);
    tidy(() => x.mul(3).sum()).backward();
    expect(values(x.grad!)).toEqual([5, 7, 9]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
    tidy(() => x.sum()).backward();
    expect(values(x.grad!)).toEqual([1, 1, 1]);
    disposeAll(x);
  });

  it('gradients are counted as "gradient" memory and keep the leaf dtype', () => {
    const tracker = getBackend().tracker;
    const before = tracker.snapshot().live.gradient;
    const x = tensor([1, 2], { dtype: 'bfloat16', requiresGrad: true });
    const w = tensor([0.5, 0.25]);
    tidy(() => x.mul(w).sum()).backward();
    expect(x.grad!.dtype).toBe('bfloat16');
    expect(values(x.grad!)).toEqual([0.5, 0.25]);
    expect(tracker.snapshot().live.gradient - before).toBe(4);
    x.zeroGrad();
    expect(tracker.snapshot().live.gradient).toBe(before);
    disposeAll(x, w);
  });

  it('a leaf used twice by one op (x * x) and by several ops gets the sum of all paths', () => {
    const x = tensor([3], { dtype: 'float64', requiresGrad: true });
    // f = x*x + exp(x) + 2x  -> f' = 2x + exp(x) + 2
    tidy(() => add(add(mul(x, x), exp(x)), mul(x, 2)).sum()).backward();
    expect(x.grad!.itemSync()).toBeCloseTo(6 + Math.exp(3) + 2, 12);
    disposeAll(x);
  });

  it('explicit output gradient for a non-scalar root; shape and requirement errors', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(tensor([3, 4]));
    const g = tensor([10, 100]);
    y.backward(g);
    expect(values(x.grad!)).toEqual([30, 400]);
    const z = x.mul(2);
    expect(() => z.backward()).toThrow('backward: grad can be implicit only for a one-element tensor, got shape [2]');
    expect(() => z.backward(tensor([1, 2, 3]))).toThrow('backward: grad has shape [3], expected [2]');
    const c = tensor([1]);
    expect(() => c.backward()).toThrow(
      'backward: this tensor does not require grad (no input of the graph had requiresGrad set)',
    );
    disposeAll(x, y, g, z, c);
  });

  it('backward from a leaf seeds its gradient', () => {
    const x = tensor(2, { requiresGrad: true });
    x.backward();
    expect(x.grad!.itemSync()).toBe(1);
    disposeAll(x);
  });
});

describe('grad mode and graph cutting', () => {
  it('noGrad records nothing; withGradEnabled restores the mode even on throw', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return x.mul(2).exp();
    });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    const z = noGrad(() => withGradEnabled(true, () => x.mul(3)));
    expect(z.gradFn?.name).toBe('mul');
    disposeAll(x, y, z);
  });

  it('ops on tensors that do not require grad record nothing', () => {
    tidy(() => {
      const a = tensor([1, 2]);
      const b = a.mul(2).add(a);
      expect(b.requiresGrad).toBe(false);
      expect(b.gradFn).toBeNull();
    });
  });

  it('detach cuts the graph: no gradient flows through the detached path', () => {
    const x = tensor([2, 3], { requiresGrad: true });
    // f = x * detach(x): f' = detach(x) = x (only one path)
    tidy(() => x.mul(x.detach()).sum()).backward();
    expect(values(x.grad!)).toEqual([2, 3]);
    disposeAll(x);
  });
});

describe('released graphs and retainGraph', () => {
  it('a second backward through a released graph fails clearly', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const loss = tidy(() => x.mul(x).sum());
    loss.backward();
    expect(() => loss.backward()).toThrow(
      /backward through '(sum|mul)' a second time: its saved tensors were already freed/,
    );
    disposeAll(x, loss);
  });

  it('retainGraph keeps the saved tensors for another pass (gradients accumulate)', () => {
    const tracker = getBackend().tracker;
    const x = tensor([1, 2], { requiresGrad: true });
    const before = tracker.snapshot().totalLive;
    const loss = tidy(() => x.mul(x).exp().sum());
    loss.backward(undefined, { retainGraph: true });
    const first = values(x.grad!);
    loss.backward();
    const second = values(x.grad!);
    // d/dx exp(x^2) = 2x exp(x^2)
    expect(first[0]).toBeCloseTo(2 * Math.exp(1), 4);
    expect(first[1]).toBeCloseTo(4 * Math.exp(4), 3);
    expect(second[0]).toBeCloseTo(2 * first[0]!, 4);
    expect(second[1]).toBeCloseTo(2 * first[1]!, 2);
    // The second (non-retaining) pass freed the graph: only loss and the gradient stay.
    x.zeroGrad();
    loss.dispose();
    expect(tracker.snapshot().totalLive).toBe(before);
    disposeAll(x);
  });
});

describe('onGradReady', () => {
  it('fires once per leaf per backward, after every path contributed', () => {
    const w = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const x = tensor([3, 4], { dtype: 'float64' });
    const seen: number[][] = [];
    const remove = w.onGradReady((t) => seen.push(values(t.grad!)));
    // w is used early (w * x), late (a sum on top), and twice in one op (w * w):
    // f = sum(exp(w * x) * 0.01) + sum(w * w) + sum(w)
    // df/dw = 0.01 x exp(w x) + 2 w + 1
    const loss = tidy(() => add(add(exp(mul(w, x)).mul(0.01).sum(), mul(w, w).sum()), sum(w)));
    loss.backward();
    const expected = [0.03 * Math.exp(3) + 3, 0.04 * Math.exp(8) + 5];
    expect(seen).toHaveLength(1);
    expect(seen[0]![0]).toBeCloseTo(expected[0]!, 10);
    expect(seen[0]![1]).toBeCloseTo(expected[1]!, 8);
    // A second pass fires again, once, with the accumulated gradient.
    tidy(() => w.sum()).backward();
    expect(seen).toHaveLength(2);
    expect(seen[1]![0]).toBeCloseTo(expected[0]! + 1, 10);
    remove();
    tidy(() => w.sum()).backward();
    expect(seen).toHaveLength(2);
    disposeAll(w, x, loss);
  });

  it('fires for each of several leaves, and a hook may consume and free the gradient (per-layer updates)', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3], { requiresGrad: true });
    const unused = tensor([5], { requiresGrad: true });
    const fired: string[] = [];
    const grads = new Map<string, number[]>();
    for (const [name, t] of [
      ['a', a],
      ['b', b],
      ['unused', unused],
    ] as const) {
      t.onGradReady((p) => {
        fired.push(name);
        grads.set(name, values(p.grad!));
        p.zeroGrad();
      });
    }
    tidy(() => a.mul(b).sum().add(b.mul(a.sum()))).backward();
    // f = b (a0 + a1) * 2 -> df/da = 2b, df/db = 2 (a0 + a1)
    expect(fired.sort()).toEqual(['a', 'b']);
    expect(grads.get('a')).toEqual([6, 6]);
    expect(grads.get('b')).toEqual([6]);
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
    disposeAll(a, b, unused);
  });

  it('is only for leaves', () => {
    const x = tensor([1], { requiresGrad: true });
    const y = x.mul(2);
    expect(() => y.onGradReady(() => {})).toThrow('onGradReady: hooks are for leaf tensors (parameters)');
    disposeAll(x, y);
  });
});

describe('deep graphs', () => {
  it('a chain of 20k ops runs backward without overflowing the stack, freeing as it goes', () => {
    const tracker = getBackend().tracker;
    const x = tensor([1], { dtype: 'float64', requiresGrad: true });
    const before = tracker.snapshot().totalLive;
    const n = 20_000;
    // y = x * c^n with c close to 1, built one multiply at a time.
    const c = 1.0001;
    const loss = tidy(() => {
      let y = x;
      for (let i = 0; i < n; i++) y = y.mul(c);
      return y.sum();
    });
    loss.backward();
    expect(x.grad!.itemSync()).toBeCloseTo(c ** n, 8);
    x.zeroGrad();
    loss.dispose();
    expect(tracker.snapshot().totalLive).toBe(before);
    disposeAll(x);
  });
});
