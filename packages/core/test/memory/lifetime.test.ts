/**
 * Deterministic memory: tidy scopes, autograd releasing what it saved, and a 500-step training loop
 * whose live bytes never grow. Figures come from the CPU backend's tracker.
 */
import { describe, expect, it } from 'vitest';
import {
  crossEntropy,
  embedding,
  getBackend,
  keep,
  linear,
  manualSeed,
  noGrad,
  randn,
  relu,
  scaledDotProductAttention,
  type Tensor,
  tensor,
  tidy,
  where,
  withCategory,
  zeros,
} from '../../src/index.js';
import { recordOp } from '../../src/tensor.js';

const tracker = () => getBackend().tracker;
const live = () => tracker().snapshot().totalLive;
const liveOf = (c: 'parameter' | 'gradient' | 'activation' | 'other' | 'optimizer') => tracker().snapshot().live[c];

/** A 2 x 2 float32 leaf that requires grad (16 bytes). */
const leaf2x2 = () => tensor([1, 2, 3, 4], { shape: [2, 2], requiresGrad: true });

describe('tidy', () => {
  it('frees everything made inside except the returned tensor', () => {
    const before = live();
    const out = tidy(() => {
      const a = tensor([1, 2, 3]); // 12 bytes
      const b = a.mul(2); // 12
      const c = b.add(a).exp(); // 12 + 12
      expect(live() - before).toBe(48);
      return c.sum(); // 4
    });
    expect(live() - before).toBe(4);
    expect(out.itemSync()).toBeCloseTo(Math.exp(3) + Math.exp(6) + Math.exp(9), 0);
    out.dispose();
    expect(live()).toBe(before);
  });

  it('keeps tensors inside returned arrays and plain objects, and kept ones', () => {
    const before = live();
    let kept: Tensor | undefined;
    const result = tidy(() => {
      const a = zeros([2]); // 8
      const b = zeros([3]); // 12
      zeros([100]); // 400, dropped
      kept = keep(zeros([4])); // 16
      return { pair: [a, b], n: 1 };
    });
    expect(live() - before).toBe(8 + 12 + 16);
    for (const t of [...result.pair, kept!]) t.dispose();
    expect(live()).toBe(before);
  });

  it('nested scopes: an inner result moves to the outer scope and dies with it', () => {
    const before = live();
    tidy(() => {
      const inner = tidy(() => {
        zeros([10]);
        return zeros([5]);
      });
      expect(live() - before).toBe(20);
      expect(inner.isDisposed).toBe(false);
    });
    expect(live()).toBe(before);
  });

  it('keep works on a tensor of an outer scope and on an inner result that moved up', () => {
    const before = live();
    let outerKept: Tensor | undefined;
    let movedKept: Tensor | undefined;
    tidy(() => {
      const outer = zeros([3]);
      const moved = tidy(() => {
        // Kept from an inner scope: the outer scope that tracks it must let it go too.
        outerKept = keep(outer);
        return zeros([4]);
      });
      movedKept = keep(moved);
      zeros([6]);
    });
    expect(outerKept!.isDisposed).toBe(false);
    expect(movedKept!.isDisposed).toBe(false);
    expect(live() - before).toBe(28);
    outerKept!.dispose();
    movedKept!.dispose();
    expect(live()).toBe(before);
  });

  it('returning a tensor made outside every scope does not hand it to the outer scope', () => {
    const x = tensor([1, 2]);
    const before = live();
    tidy(() => {
      const same = tidy(() => x);
      expect(same).toBe(x);
    });
    expect(x.isDisposed).toBe(false);
    expect(live()).toBe(before);
    x.dispose();
  });

  it('frees everything when the function throws, and refuses async functions', () => {
    const before = live();
    expect(() =>
      tidy(() => {
        zeros([8]);
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(live()).toBe(before);
    expect(() => tidy(() => Promise.resolve(1))).toThrow(
      'tidy: the function returned a Promise; tidy only tracks synchronous work',
    );
  });

  it('withCategory counts allocations under the given category and restores the default', () => {
    const before = tracker().snapshot().live;
    const p = withCategory('parameter', () => zeros([4]));
    const o = withCategory('optimizer', () => tidy(() => zeros([2]).add(1)));
    const a = zeros([1]);
    const now = tracker().snapshot().live;
    expect(now.parameter - before.parameter).toBe(16);
    expect(now.optimizer - before.optimizer).toBe(8);
    expect(now.activation - before.activation).toBe(4);
    for (const t of [p, o, a]) t.dispose();
  });
});

describe('autograd releases what it saved', () => {
  function mlpParams(d: number, h: number, c: number) {
    return withCategory('parameter', () => ({
      w1: randn([h, d], { requiresGrad: true }),
      b1: zeros([h], { requiresGrad: true }),
      w2: randn([c, h], { requiresGrad: true }),
      b2: zeros([c], { requiresGrad: true }),
    }));
  }

  it('after backward no activation stays alive (loss made in tidy)', () => {
    manualSeed(1);
    const p = mlpParams(6, 8, 3);
    const x = randn([5, 6]);
    const y = tensor([0, 1, 2, 1, 0], { dtype: 'int32' });
    const activationBefore = liveOf('activation');
    const loss = tidy(() => crossEntropy(linear(relu(linear(x, p.w1, p.b1)), p.w2, p.b2), y));
    // The graph holds saved activations until backward.
    expect(liveOf('activation')).toBeGreaterThan(activationBefore + 5 * 8 * 4);
    loss.backward();
    expect(liveOf('activation') - activationBefore).toBe(4); // just the loss
    loss.dispose();
    expect(liveOf('activation')).toBe(activationBefore);
    // Gradients are exactly the parameters' sizes.
    expect(liveOf('gradient')).toBe(4 * (8 * 6 + 8 + 3 * 8 + 3));
    for (const t of Object.values(p)) {
      t.zeroGrad();
      t.dispose();
    }
    x.dispose();
    y.dispose();
  });

  it('after backward no activation stays alive (outputs held by the user, disposed after)', () => {
    manualSeed(2);
    const p = mlpParams(4, 4, 2);
    const x = randn([3, 4]);
    const y = tensor([0, 1, 1], { dtype: 'int32' });
    const activationBefore = liveOf('activation');
    const h = linear(x, p.w1, p.b1);
    const a = relu(h);
    const logits = linear(a, p.w2, p.b2);
    const loss = crossEntropy(logits, y);
    loss.backward();
    for (const t of [h, a, logits, loss]) t.dispose();
    expect(liveOf('activation')).toBe(activationBefore);
    for (const t of Object.values(p)) {
      t.zeroGrad();
      t.dispose();
    }
    x.dispose();
    y.dispose();
  });

  it('a graph dropped without backward() frees its saved tensors once its outputs are disposed', () => {
    const w = leaf2x2();
    const before = live();
    // exp saves its output, matmul saves both operands (w itself: no new bytes).
    const loss = tidy(() => w.matmul(w).exp().sum());
    expect(live() - before).toBe(16 + 4);
    loss.dispose();
    expect(live()).toBe(before);
    // The same with the intermediates held and disposed by hand, in any order.
    const m = w.matmul(w);
    const e = m.exp();
    const s = e.sum();
    e.dispose();
    s.dispose();
    expect(live() - before).toBe(16); // m still alive, nothing saved by a dead graph
    m.dispose();
    expect(live()).toBe(before);
    w.dispose();
  });

  it('noGrad saves nothing, and retainGraph graphs are freed with their output', () => {
    const w = leaf2x2();
    const before = live();
    const out = noGrad(() => tidy(() => w.matmul(w).exp().sum()));
    expect(live() - before).toBe(4);
    out.dispose();
    expect(live()).toBe(before);
    const loss = tidy(() => w.matmul(w).exp().sum());
    loss.backward(undefined, { retainGraph: true });
    expect(live() - before).toBe(16 + 4 + 16); // saved exp output, loss, gradient
    w.zeroGrad();
    loss.dispose();
    expect(live()).toBe(before);
    w.dispose();
  });

  it('dropping a 20k-op graph without backward is iterative and frees everything', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const before = live();
    const y = tidy(() => {
      let t = x;
      for (let i = 0; i < 20_000; i++) t = t.mul(1.0001);
      return t;
    });
    expect(live()).toBeGreaterThan(before + 8 * 1000);
    y.dispose();
    expect(live()).toBe(before);
    x.dispose();
  });
});

describe('what the graph saves', () => {
  it('causal attention on the CPU keeps only its inputs and output (the fused kernel recomputes the probabilities)', () => {
    const [s, d] = [6, 4];
    const q = randn([1, s, d], { requiresGrad: true });
    const k = randn([1, s, d], { requiresGrad: true });
    const v = randn([1, s, d], { requiresGrad: true });
    const before = live();
    const out = tidy(() => scaledDotProductAttention(q, k, v, { causal: true }));
    expect(live() - before).toBe(4 * s * d);
    out.dispose();
    expect(live()).toBe(before);
    for (const t of [q, k, v]) t.dispose();
  });

  it('composed attention keeps only its inputs, the probabilities and its output (not the raw or scaled scores)', () => {
    const [s, d] = [6, 4];
    const q = randn([1, s, d], { requiresGrad: true });
    const k = randn([1, s, d], { requiresGrad: true });
    const v = randn([1, s, d], { requiresGrad: true });
    // A mask takes the composed path (the fused kernel is causal only).
    const mask = zeros([s, s]);
    const before = live();
    // scores 4SS, scaled 4SS (scores die: x * scale saves only the 4-byte scale), masked 4SS (add
    // saves nothing), probs 4SS (softmax saves its output), out 4SD; probs stay, saved by the
    // second matmul.
    const out = tidy(() => scaledDotProductAttention(q, k, v, { causal: true, mask }));
    expect(live() - before).toBe(4 * s * d + 4 * s * s + 4);
    out.dispose();
    expect(live()).toBe(before);
    for (const t of [q, k, v, mask]) t.dispose();
  });

  it('x * c and x / c save nothing of x when only x needs a gradient... but x * w saves w', () => {
    const x = randn([100], { requiresGrad: true });
    const w = randn([100]);
    const before = live();
    const a = tidy(() => x.exp().mul(0.5).div(3).sum());
    // exp saves its output (400), mul and div save their scalar operands (4 each), loss 4.
    expect(live() - before).toBe(400 + 4 + 4 + 4);
    a.dispose();
    const b = tidy(() => x.exp().mul(w).sum());
    // exp's output (saved by exp) and w (saved by mul, already counted outside), loss 4.
    expect(live() - before).toBe(400 + 4);
    b.dispose();
    expect(live()).toBe(before);
    for (const t of [x, w]) t.dispose();
  });

  it('mean of an integer tensor frees its float copy', () => {
    const i = tensor([1, 2, 3, 4], { dtype: 'int32' });
    const before = live();
    const m = i.mean();
    expect(m.itemSync()).toBe(2.5);
    expect(live() - before).toBe(4);
    m.dispose();
    i.dispose();
  });
});

describe('errors do not leak', () => {
  const cases: [string, () => Tensor[], (...t: Tensor[]) => unknown, RegExp][] = [
    [
      'matmul of a vector',
      () => [tensor([1, 2, 3]), zeros([2, 2])],
      (a, b) => a!.matmul(b!),
      /matmul: inner dimensions differ: a is \[3\], b is \[2, 2\]/,
    ],
    [
      'matmul by a vector',
      () => [zeros([2, 2]), tensor([1, 2, 3])],
      (a, b) => a!.matmul(b!),
      /a is \[2, 2\], b is \[3\]/,
    ],
    [
      'crossEntropy with a target out of range',
      () => [zeros([2, 3]), tensor([0, 5], { dtype: 'int32' })],
      (a, b) => crossEntropy(a!, b!),
      /crossEntropy: target 5 is out of range/,
    ],
    [
      'embedding with an id out of range',
      () => [tensor([5], { dtype: 'int32' }), zeros([2, 2])],
      (i, t) => embedding(i!, t!),
      /gatherRows: id 5 is out of range/,
    ],
    [
      'where with mismatched shapes',
      () => [tensor([1, 0], { dtype: 'uint8' }), zeros([3])],
      (c, a) => where(c!, a!, 0),
      /where: shapes \[2\] and \[3\]/,
    ],
    [
      'backward through a released graph',
      () => [tensor([1, 2], { requiresGrad: true })],
      (x) => {
        const loss = tidy(() => x!.mul(x!).sum());
        loss.backward();
        x!.zeroGrad();
        try {
          loss.backward();
        } finally {
          loss.dispose();
        }
      },
      /a second time.*retainGraph/,
    ],
    [
      'a backward rule that throws mid-graph',
      () => [tensor([1, 2], { requiresGrad: true })],
      (x) => {
        const loss = tidy(() => {
          const e = x!.exp();
          const broken = recordOp('broken', e.detach().mul(2), [e], [e], () => {
            throw new Error('rule failed');
          });
          return broken.mul(broken).sum();
        });
        try {
          loss.backward();
        } finally {
          loss.dispose();
        }
      },
      /rule failed/,
    ],
    [
      'a gradient hook that throws',
      () => [tensor([1, 2], { requiresGrad: true })],
      (x) => {
        const loss = tidy(() => x!.exp().sum());
        const remove = x!.onGradReady(() => {
          throw new Error('hook failed');
        });
        try {
          loss.backward();
        } finally {
          remove();
          x!.zeroGrad();
          loss.dispose();
        }
      },
      /hook failed/,
    ],
  ];
  for (const [name, make, fn, message] of cases) {
    it(name, () => {
      const before = live();
      const inputs = make();
      expect(() => fn(...inputs)).toThrow(message);
      for (const t of inputs) t.dispose();
      expect(live()).toBe(before);
    });
  }
});

describe('a training loop does not leak', () => {
  it('500 SGD steps of a small MLP: live bytes after every step equal those after the first', () => {
    manualSeed(3);
    const [n, d, h, c] = [16, 8, 16, 4];
    const params = withCategory('parameter', () => [
      randn([h, d], { requiresGrad: true, std: 0.5 }),
      zeros([h], { requiresGrad: true }),
      randn([c, h], { requiresGrad: true, std: 0.5 }),
      zeros([c], { requiresGrad: true }),
    ]) as [Tensor, Tensor, Tensor, Tensor];
    const x = withCategory('other', () => randn([n, d]));
    const y = withCategory('other', () =>
      tensor(
        Array.from({ length: n }, (_, i) => i % c),
        { dtype: 'int32' },
      ),
    );
    const lr = 0.2;
    const losses: number[] = [];
    let liveAfterFirst = -1;
    let allocationsAfterFirst = -1;
    for (let step = 0; step < 500; step++) {
      const loss = tidy(() => {
        const [w1, b1, w2, b2] = params;
        return crossEntropy(linear(relu(linear(x, w1, b1)), w2, b2), y);
      });
      loss.backward();
      losses.push(loss.itemSync());
      loss.dispose();
      noGrad(() => {
        for (const p of params) {
          tidy(() => {
            const next = p.sub(p.grad!.mul(lr));
            // In-place update: copy the new values into the parameter's own storage.
            const view = { shape: p.shape, strides: contiguous(p.shape), offset: 0 };
            p.backend.run('copy', { src: next.storage, dst: p.storage }, { srcView: view, dstView: view });
          });
          p.zeroGrad();
        }
      });
      const snap = tracker().snapshot();
      if (step === 0) {
        liveAfterFirst = snap.totalLive;
        allocationsAfterFirst = snap.liveAllocations;
      } else if (snap.totalLive !== liveAfterFirst || snap.liveAllocations !== allocationsAfterFirst) {
        throw new Error(
          `step ${step}: ${snap.totalLive} live bytes in ${snap.liveAllocations} allocations, expected ${liveAfterFirst} in ${allocationsAfterFirst}`,
        );
      }
    }
    expect(liveAfterFirst).toBeGreaterThan(0);
    // Only parameters and data are alive between steps.
    const snap = tracker().snapshot();
    expect(snap.live.gradient).toBe(0);
    // It did train: the loss on the fixed batch went down a lot.
    expect(losses[499]!).toBeLessThan(losses[0]! * 0.5);
    for (const t of [...params, x, y]) t.dispose();
  });
});

function contiguous(shape: readonly number[]): number[] {
  const s: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}
