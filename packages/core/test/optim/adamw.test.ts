import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32,
  createMetaBackend,
  type DType,
  float32ToBfloat16Bits,
  getBackend,
  type Tensor,
  tensor,
  zeros,
} from '../../src/index.js';
import { AdamW, type AdamWOptions } from '../../src/optim/index.js';
import { expectClose, param, pseudoRandom, setGrad, values } from './helpers.js';

interface Hyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  wd: number;
}

/** torch.optim.AdamW's update written out on plain float64 numbers, one step per gradient. */
function adamwByHand(p0: readonly number[], grads: readonly (readonly number[])[], h: Hyper) {
  const p = [...p0];
  const m = p0.map(() => 0);
  const v = p0.map(() => 0);
  grads.forEach((g, s) => {
    const t = s + 1;
    const bc1 = 1 - h.beta1 ** t;
    const bc2 = 1 - h.beta2 ** t;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      p[i]! *= 1 - h.lr * h.wd;
      m[i] = h.beta1 * m[i]! + (1 - h.beta1) * gi;
      v[i] = h.beta2 * v[i]! + (1 - h.beta2) * gi * gi;
      p[i]! -= (h.lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + h.eps));
    }
  });
  return { p, m, v };
}

function optionsOf(h: Hyper, fused: boolean): Partial<AdamWOptions> {
  return { lr: h.lr, betas: [h.beta1, h.beta2], eps: h.eps, weightDecay: h.wd, fused };
}

function stateTensor(opt: AdamW, index: number, name: string): Tensor {
  const t = opt.stateDict().tensors[`state.${index}.${name}`];
  if (!t) throw new Error(`no state.${index}.${name}`);
  return t;
}

describe('AdamW against the PyTorch formulas', () => {
  for (const fused of [true, false]) {
    const label = fused ? 'fused' : 'reference';

    it(`${label}: one step on a scalar, worked out by hand`, () => {
      // p = 1, g = 0.5, lr = 0.1, wd = 0.1, betas (0.9, 0.999):
      // p -> 0.99; m = 0.05, v = 0.00025; m_hat = 0.5, v_hat = 0.25; p -> 0.99 - 0.1 * 0.5 / (0.5 + 1e-8)
      const p = param([1]);
      const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.1, fused });
      setGrad(p, [0.5]);
      opt.step();
      expect(values(p)[0]).toBeCloseTo(0.89 + 2e-9, 14);
      expect(values(stateTensor(opt, 0, 'exp_avg'))[0]).toBeCloseTo(0.05, 15);
      expect(values(stateTensor(opt, 0, 'exp_avg_sq'))[0]).toBeCloseTo(0.00025, 15);
      expect(opt.stateDict().json.values['0']).toEqual({ step: 1 });
      opt.dispose();
    });

    it(`${label}: five float64 steps on two parameters with weight decay and bias correction`, () => {
      const h: Hyper = { lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, wd: 0.1 };
      const shapes = [[2, 3], [4]];
      const starts = shapes.map((s, k) =>
        pseudoRandom(
          10 + k,
          s.reduce((a, b) => a * b, 1),
        ),
      );
      const grads = shapes.map((_, k) =>
        Array.from({ length: 5 }, (_, s) => pseudoRandom(100 * k + s + 1, starts[k]!.length)),
      );
      const params = shapes.map((s, k) => param(starts[k]!, s));
      const opt = new AdamW(params, optionsOf(h, fused));
      for (let s = 0; s < 5; s++) {
        for (const [k, p] of params.entries()) setGrad(p, grads[k]![s]!);
        opt.step();
      }
      params.forEach((p, k) => {
        const want = adamwByHand(starts[k]!, grads[k]!, h);
        expectClose(values(p), want.p, 1e-12, 1e-15);
        expectClose(values(stateTensor(opt, k, 'exp_avg')), want.m, 1e-12, 1e-15);
        expectClose(values(stateTensor(opt, k, 'exp_avg_sq')), want.v, 1e-12, 1e-15);
        expect(opt.stateDict().json.values[String(k)]).toEqual({ step: 5 });
      });
      opt.dispose();
    });

    it(`${label}: float32 parameters follow the float64 formulas to float32 accuracy`, () => {
      const h: Hyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.01 };
      const start = pseudoRandom(7, 12).map(Math.fround);
      const grads = Array.from({ length: 4 }, (_, s) => pseudoRandom(50 + s, 12).map(Math.fround));
      const p = param(start, [3, 4], 'float32');
      const opt = new AdamW([p], optionsOf(h, fused));
      for (const g of grads) {
        setGrad(p, g);
        opt.step();
      }
      expectClose(values(p), adamwByHand(start, grads, h).p, 1e-6, 1e-7);
      opt.dispose();
    });
  }

  it('skips parameters without a gradient and keeps no state for them', () => {
    const a = param([1, 2]);
    const b = param([3]);
    const opt = new AdamW([a, b], { lr: 0.1 });
    setGrad(a, [1, 1]);
    opt.step();
    expect(values(b)).toEqual([3]);
    expect(Object.keys(opt.stateDict().tensors).sort()).toEqual(['state.0.exp_avg', 'state.0.exp_avg_sq']);
    opt.dispose();
  });

  it('trains a real loss through autograd', () => {
    const target = tensor([1, -2, 3], { dtype: 'float64' });
    const p = param([0, 0, 0]);
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0 });
    const loss = () => p.sub(target).square().sum();
    const first = loss().itemSync();
    for (let i = 0; i < 50; i++) {
      opt.zeroGrad();
      loss().backward();
      opt.step();
    }
    expect(loss().itemSync()).toBeLessThan(first / 10);
    opt.dispose();
  });
});

describe('AdamW fused == reference', () => {
  const hyper = fc.record({
    lr: fc.double({ min: 0, max: 0.1, noNaN: true }),
    beta1: fc.double({ min: 0, max: 0.99, noNaN: true }),
    beta2: fc.double({ min: 0.5, max: 0.9999, noNaN: true }),
    eps: fc.double({ min: 1e-8, max: 1e-3, noNaN: true }),
    wd: fc.double({ min: 0, max: 0.2, noNaN: true }),
  });
  const shape = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 });

  function runBoth(dtype: DType, h: Hyper, dims: number[], steps: number, seed: number): [number[][], number[][]] {
    const size = dims.reduce((a, b) => a * b, 1);
    const start = pseudoRandom(seed, size);
    const results = [true, false].map((fused) => {
      const p = param(start, dims, dtype);
      const opt = new AdamW([p], optionsOf(h, fused));
      for (let s = 0; s < steps; s++) {
        setGrad(p, pseudoRandom(seed + 1000 * (s + 1), size));
        opt.step();
      }
      const out = [values(p), values(stateTensor(opt, 0, 'exp_avg')), values(stateTensor(opt, 0, 'exp_avg_sq'))];
      opt.dispose();
      p.dispose();
      return out;
    });
    return [results[0]!, results[1]!];
  }

  /** Fused and reference runs agree within `abs` / `rel` over random shapes, hyper-parameters and steps. */
  function agree(dtype: 'float32' | 'float64', abs: number, rel: number, numRuns: number): void {
    const steps = fc.integer({ min: 1, max: 3 });
    const seeds = fc.integer({ min: 1, max: 1e6 });
    fc.assert(
      fc.property(hyper, shape, steps, seeds, (h, dims, n, seed) => {
        const [fused, reference] = runBoth(dtype, h, dims, n, seed);
        for (let k = 0; k < 3; k++) expectClose(fused[k]!, reference[k]!, abs, rel);
      }),
      { numRuns },
    );
  }

  it('float32: params and both moments agree over random shapes and hyper-parameters', () => {
    agree('float32', 1e-5, 1e-6, 40);
  });

  it('float64: they agree to float64 rounding', () => {
    agree('float64', 1e-12, 1e-15, 30);
  });
});

describe('AdamW on bfloat16 parameters', () => {
  const toBf16 = (x: number) => bfloat16BitsToFloat32(float32ToBfloat16Bits(x));
  // bf16-representable inputs, so the float32 and bf16 runs start from identical values.
  const start = pseudoRandom(3, 8).map(toBf16);
  const grads = [pseudoRandom(4, 8).map(toBf16), pseudoRandom(5, 8).map(toBf16)];

  /** Runs steps on a param of `dtype`, returning the param values before the final step and after it. */
  function run(dtype: DType, fused: boolean | undefined, lastStart?: readonly number[]) {
    const p = param(lastStart ?? start, [2, 4], dtype);
    const opt = new AdamW([p], { lr: 0.01, weightDecay: 0.1, fused });
    setGrad(p, grads[0]!);
    opt.step();
    const before = values(p);
    setGrad(p, grads[1]!);
    opt.step();
    const moments = [values(stateTensor(opt, 0, 'exp_avg')), values(stateTensor(opt, 0, 'exp_avg_sq'))];
    const dtypes = [stateTensor(opt, 0, 'exp_avg').dtype, stateTensor(opt, 0, 'exp_avg_sq').dtype];
    const out = { before, after: values(p), moments, dtypes, paramDType: p.dtype };
    opt.dispose();
    return out;
  }

  for (const fused of [undefined, true]) {
    it(`keeps float32 moments and rounds the float32 update once (fused: ${String(fused)})`, () => {
      const bf = run('bfloat16', fused);
      expect(bf.paramDType).toBe('bfloat16');
      expect(bf.dtypes).toEqual(['float32', 'float32']);
      // The second step starts from the bf16 param after step 1; a float32 param started there and
      // given the same moments history must land on the same value before rounding.
      const f32 = run('float32', fused);
      expect(bf.moments).toEqual(f32.moments);
      // Step 1 alone: bf16 result = bf16(float32 result).
      expect(bf.before).toEqual(f32.before.map(toBf16));
    });
  }

  it('the reference path on bf16 equals the float32 reference rounded, step for step', () => {
    const p = param(start, [2, 4], 'bfloat16');
    const q = param(start, [2, 4], 'float32');
    const optP = new AdamW([p], { lr: 0.01, weightDecay: 0.1, fused: false });
    const optQ = new AdamW([q], { lr: 0.01, weightDecay: 0.1, fused: false });
    for (const g of grads) {
      setGrad(p, g);
      setGrad(q, g);
      optP.step();
      optQ.step();
      expect(values(p)).toEqual(values(q).map(toBf16));
      // Continue the float32 run from the rounded values, as the bf16 run does.
      const rounded = tensor(values(q).map(toBf16), { shape: q.shape, dtype: 'float32' });
      q.backend.run(
        'copy',
        { src: rounded.storage, dst: q.storage },
        {
          srcView: { shape: [8], strides: [1], offset: 0 },
          dstView: {
            shape: [8],
            strides: [1],
            offset: 0,
          },
        },
      );
      rounded.dispose();
    }
    optP.dispose();
    optQ.dispose();
  });
});

describe('AdamW memory', () => {
  for (const [dtype, fused] of [
    ['float32', true],
    ['float32', false],
    ['bfloat16', undefined],
  ] as const) {
    it(`counts 2 * 4 bytes * numel of optimizer state and leaks nothing (${dtype}, fused: ${String(fused)})`, () => {
      const tracker = getBackend().tracker;
      const params = [param(pseudoRandom(1, 12), [3, 4], dtype), param(pseudoRandom(2, 5), [5], dtype)];
      for (const [k, p] of params.entries()) setGrad(p, pseudoRandom(9 + k, p.size));
      const before = tracker.snapshot();
      const opt = new AdamW(params, { fused });
      opt.step();
      opt.step();
      const after = tracker.snapshot();
      expect(after.live.optimizer - before.live.optimizer).toBe(2 * 4 * 17);
      expect(after.totalLive - before.totalLive).toBe(2 * 4 * 17);
      expect(after.liveAllocations - before.liveAllocations).toBe(4);
      opt.dispose();
      const end = tracker.snapshot();
      expect(end.live.optimizer).toBe(before.live.optimizer);
      expect(end.liveAllocations).toBe(before.liveAllocations);
    });
  }
});

describe('AdamW on the meta backend', () => {
  for (const fused of [true, false]) {
    it(`tracks the state of a large parameter without computing (fused: ${fused})`, () => {
      const meta = createMetaBackend();
      const p = zeros([4096, 4096], { backend: meta, dtype: 'bfloat16' }).requiresGrad_();
      p.grad = zeros([4096, 4096], { backend: meta, dtype: 'bfloat16' });
      const before = meta.tracker.snapshot();
      const opt = new AdamW([p], { fused });
      opt.step();
      const after = meta.tracker.snapshot();
      expect(after.live.optimizer - before.live.optimizer).toBe(2 * 4 * 4096 * 4096);
      expect(after.liveAllocations - before.liveAllocations).toBe(2);
      opt.dispose();
    });
  }
});

describe('AdamW transient memory', () => {
  // Measured on the meta backend from the second step on (the state already exists).
  function transientPeak(fused: boolean, dtype: DType): number {
    const meta = createMetaBackend();
    const p = zeros([1000], { backend: meta, dtype }).requiresGrad_();
    p.grad = zeros([1000], { backend: meta, dtype });
    const opt = new AdamW([p], { fused });
    opt.step();
    meta.tracker.resetPeak();
    const live = meta.tracker.snapshot().totalLive;
    opt.step();
    const after = meta.tracker.snapshot();
    opt.dispose();
    expect(after.totalLive).toBe(live);
    return after.totalPeak - live;
  }

  it('the fused update allocates nothing', () => {
    expect(transientPeak(true, 'float32')).toBe(0);
    expect(transientPeak(true, 'bfloat16')).toBe(0);
  });

  it('the reference update holds at most five float32 copies of the parameter at once', () => {
    expect(transientPeak(false, 'float32')).toBeLessThanOrEqual(5 * 4 * 1000);
    expect(transientPeak(false, 'bfloat16')).toBeLessThanOrEqual(5 * 4 * 1000);
  });
});

describe('AdamW options', () => {
  const p = () => param([1]);
  it.each([
    [{ lr: -1 }, /AdamW: parameter group 0: lr must be a finite number >= 0, got -1/],
    [{ lr: Number.NaN }, /group 0: lr must be .* got NaN/],
    [{ betas: [1, 0.999] as [number, number] }, /group 0: betas\[0\] must be in \[0, 1\), got 1/],
    [{ betas: [0.9, -0.1] as [number, number] }, /group 0: betas\[1\] must be in \[0, 1\), got -0.1/],
    [{ eps: 0 }, /group 0: eps must be a finite number > 0, got 0/],
    [{ weightDecay: -0.1 }, /group 0: weightDecay must be a finite number >= 0/],
  ])('rejects %o', (options, message) => {
    expect(() => new AdamW([p()], options as Partial<AdamWOptions>)).toThrow(message);
  });

  it('names the offending group', () => {
    expect(() => new AdamW([{ params: [p()] }, { params: [p()], options: { eps: -1 } }])).toThrow(
      /parameter group 1: eps/,
    );
  });

  it('refuses amsgrad, which is not implemented', () => {
    expect(() => new AdamW([p()], { amsgrad: true } as Partial<AdamWOptions>)).toThrow(/amsgrad is not implemented/);
  });

  it('re-checks options changed after construction', () => {
    const x = p();
    const opt = new AdamW([x]);
    opt.setOption('lr', -0.5);
    setGrad(x, [1]);
    expect(() => opt.step()).toThrow(/group 0: lr must be a finite number >= 0, got -0.5/);
  });

  it('rejects a gradient of the wrong shape', () => {
    const x = param([1, 2]);
    const opt = new AdamW([x]);
    x.grad = tensor([1, 2, 3], { dtype: 'float64' });
    expect(() => opt.step()).toThrow(/gradient has shape \[3\], expected the parameter's \[2\]/);
  });

  it('per-group options override the defaults', () => {
    const a = param([1]);
    const b = param([1]);
    const opt = new AdamW([{ params: [a] }, { params: [b], options: { lr: 0 } }], { lr: 0.1, weightDecay: 0 });
    setGrad(a, [1]);
    setGrad(b, [1]);
    opt.step();
    expect(values(a)[0]).toBeCloseTo(0.9, 6);
    expect(values(b)).toEqual([1]);
    opt.dispose();
  });
});
