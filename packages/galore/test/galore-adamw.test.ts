import {
  CpuBackend,
  type KernelIO,
  type KernelParams,
  manualSeed,
  noGrad,
  randn,
  type Storage,
  tensor,
  tidy,
} from '@galore-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GaLoreAdafactor,
  GaLoreAdamW,
  GaLoreAdamW8bit,
  type GaLoreAdamWOptions,
  type SvdFailure,
} from '../src/index.js';
import { type HostMatrix, host, hostMatmul, hostTranspose, maxAbsDiff } from './helpers.js';

interface HandState {
  m: Float64Array;
  v: Float64Array;
}

/**
 * The official GaLore AdamW step written out on host arrays: Adam on R, N = m / (sqrt(v) + eps),
 * W -= lr sqrt(bc2) / bc1 * alpha * back(N), then W -= lr wd W.
 */
function handStep(
  w: Float64Array,
  r: HostMatrix,
  back: (n: HostMatrix) => HostMatrix,
  s: HandState,
  t: number,
  o: { lr: number; betas: [number, number]; eps: number; weightDecay: number; scale: number },
): Float64Array {
  const [b1, b2] = o.betas;
  const n = new Float64Array(r.data.length);
  for (let i = 0; i < n.length; i++) {
    const g = r.data[i]!;
    s.m[i] = b1 * s.m[i]! + (1 - b1) * g;
    s.v[i] = b2 * s.v[i]! + (1 - b2) * g * g;
    n[i] = s.m[i]! / (Math.sqrt(s.v[i]!) + o.eps);
  }
  const stepSize = (o.lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
  const full = back({ rows: r.rows, cols: r.cols, data: n });
  const out = w.map((x, i) => x - stepSize * o.scale * full.data[i]!);
  return out.map((x) => x - o.lr * o.weightDecay * x);
}

const shapes = fc.record({
  m: fc.integer({ min: 2, max: 9 }),
  n: fc.integer({ min: 2, max: 9 }),
  rank: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
  projType: fc.constantFrom('std', 'reverse_std', 'left', 'right', 'full' as const),
  weightDecay: fc.constantFrom(0, 0.1),
});

describe('GaLoreAdamW', () => {
  it('matches the AdamW formulas applied by hand to R = project(G) and mapped back (property)', () => {
    fc.assert(
      fc.property(shapes, ({ m, n, rank, seed, projType, weightDecay }) => {
        manualSeed(seed);
        tidy(() => {
          const w = randn([m, n], { dtype: 'float64', requiresGrad: true });
          const o = { lr: 0.05, betas: [0.9, 0.99] as [number, number], eps: 1e-6, weightDecay, scale: 0.5 };
          const opt = new GaLoreAdamW(
            [{ params: [w], options: { rank, projType, updateProjGap: 100, scale: o.scale } }],
            o,
          );
          let expected: Float64Array = Float64Array.from(w.dataSync());
          let hand: HandState | undefined;
          for (let t = 1; t <= 3; t++) {
            const g = randn([m, n], { dtype: 'float64' });
            w.grad = g;
            opt.step();
            const state = opt.stateDict().tensors;
            const P = state['state.0.projector_left'] ? host(state['state.0.projector_left']) : undefined;
            const Q = state['state.0.projector_right'] ? host(state['state.0.projector_right']) : undefined;
            let r = host(g);
            if (P) r = hostMatmul(hostTranspose(P), r);
            if (Q) r = hostMatmul(r, hostTranspose(Q));
            hand ??= { m: new Float64Array(r.data.length), v: new Float64Array(r.data.length) };
            const back = (x: HostMatrix) => {
              let y = x;
              if (Q) y = hostMatmul(y, Q);
              if (P) y = hostMatmul(P, y);
              return y;
            };
            expected = handStep(expected, r, back, hand, t, o);
            expect(maxAbsDiff(w.dataSync(), expected)).toBeLessThan(1e-10);
            w.zeroGrad();
          }
          opt.dispose();
        });
      }),
      { numRuns: 30 },
    );
  });

  it('updates groups without rank with the same official formula, no projection', () => {
    manualSeed(5);
    tidy(() => {
      const b = randn([7], { dtype: 'float64', requiresGrad: true });
      const o = { lr: 0.1, betas: [0.8, 0.95] as [number, number], eps: 1e-6, weightDecay: 0.05, scale: 1 };
      const opt = new GaLoreAdamW([b], o);
      let expected: Float64Array = Float64Array.from(b.dataSync());
      const hand = { m: new Float64Array(7), v: new Float64Array(7) };
      for (let t = 1; t <= 3; t++) {
        const g = randn([7], { dtype: 'float64' });
        b.grad = g;
        opt.step();
        expected = handStep(
          expected,
          { rows: 1, cols: 7, data: Float64Array.from(g.dataSync()) },
          (x) => x,
          hand,
          t,
          o,
        );
        expect(maxAbsDiff(b.dataSync(), expected)).toBeLessThan(1e-12);
      }
      opt.dispose();
    });
  });

  it('refreshes the projector at steps 0, T, 2T only', () => {
    manualSeed(6);
    tidy(() => {
      const w = randn([6, 4], { requiresGrad: true });
      const opt = new GaLoreAdamW([{ params: [w], options: { rank: 2, updateProjGap: 3 } }]);
      const bases: Float32Array[] = [];
      for (let t = 0; t < 7; t++) {
        w.grad = randn([6, 4]);
        opt.step();
        bases.push(opt.stateDict().tensors['state.0.projector_right']!.dataSync() as Float32Array);
        w.zeroGrad();
      }
      const changed = bases.map((b, i) => i > 0 && maxAbsDiff(b, bases[i - 1]!) > 0);
      expect(changed).toEqual([false, false, false, true, false, false, true]);
      opt.dispose();
    });
  });

  describe('moments when the subspace changes', () => {
    function runTwoSubspaces(subspaceChange: GaLoreAdamWOptions['subspaceChange']) {
      manualSeed(11);
      const w = randn([5, 8], { requiresGrad: true, dtype: 'float64' });
      const opt = new GaLoreAdamW([{ params: [w], options: { rank: 2, updateProjGap: 1, subspaceChange } }], {
        betas: [0.9, 0.999],
      });
      w.grad = randn([5, 8], { dtype: 'float64' });
      opt.step();
      const before = opt.stateDict().tensors;
      const oldP = host(before['state.0.projector_left']!);
      const oldM = host(before['state.0.exp_avg']!);
      const g2 = randn([5, 8], { dtype: 'float64' });
      w.grad = g2;
      opt.step();
      const after = opt.stateDict();
      const newP = host(after.tensors['state.0.projector_left']!);
      const r2 = hostMatmul(hostTranspose(newP), host(g2));
      const result = {
        oldP,
        oldM,
        newP,
        r2,
        m: host(after.tensors['state.0.exp_avg']!),
        values: after.json.values['0']!,
      };
      opt.dispose();
      w.dispose();
      return result;
    }

    it('keep (the official behaviour) leaves them in the old coordinates', () => {
      const { oldM, r2, m } = runTwoSubspaces('keep');
      expect(
        maxAbsDiff(
          m.data,
          oldM.data.map((x, i) => 0.9 * x + 0.1 * r2.data[i]!),
        ),
      ).toBeLessThan(1e-12);
    });

    it('reset zeroes them and restarts bias correction', () => {
      const { r2, m, values } = runTwoSubspaces('reset');
      expect(
        maxAbsDiff(
          m.data,
          r2.data.map((x) => 0.1 * x),
        ),
      ).toBeLessThan(1e-12);
      expect(values).toMatchObject({ step: 2, moment_step: 1 });
    });

    it('project carries the first moment into the new basis with P_new^T P_old', () => {
      const { oldP, oldM, newP, r2, m } = runTwoSubspaces('project');
      const carried = hostMatmul(hostMatmul(hostTranspose(newP), oldP), oldM);
      expect(
        maxAbsDiff(
          m.data,
          carried.data.map((x, i) => 0.9 * x + 0.1 * r2.data[i]!),
        ),
      ).toBeLessThan(1e-12);
    });
  });

  it.each([
    ['GaLoreAdamW', 'exact'],
    ['GaLoreAdamW', 'randomized'],
    ['GaLoreAdamW8bit', 'exact'],
    ['GaLoreAdafactor', 'randomized'],
  ] as const)('%s (%s SVD) resumes bit-for-bit from a state dict, projectors included', (kind, svd) => {
    manualSeed(21);
    const shape = [96, 64];
    const grads = Array.from({ length: 6 }, () => randn(shape));
    const init = randn(shape);
    const options = { rank: 48, updateProjGap: 2, svd, oversampling: 2 };
    const build = (w: ReturnType<typeof randn>) => {
      const groups = [{ params: [w], options }];
      if (kind === 'GaLoreAdamW') return new GaLoreAdamW(groups, { lr: 0.01, weightDecay: 0.1 });
      if (kind === 'GaLoreAdamW8bit') return new GaLoreAdamW8bit(groups, { lr: 0.01 });
      return new GaLoreAdafactor(groups, { lr: 0.01, relativeStep: false, beta1: 0.9 });
    };
    const train = (w: ReturnType<typeof randn>, opt: ReturnType<typeof build>, from: number, to: number) => {
      for (const g of grads.slice(from, to)) {
        w.grad = g.clone();
        opt.step();
      }
    };
    const straightW = noGrad(() => init.clone()).requiresGrad_();
    const straight = build(straightW);
    train(straightW, straight, 0, 6);
    const firstW = noGrad(() => init.clone()).requiresGrad_();
    const first = build(firstW);
    train(firstW, first, 0, 3);
    const saved = first.stateDict();
    if (kind === 'GaLoreAdamW8bit') expect(saved.tensors['state.0.exp_avg_codes']!.dtype).toBe('uint8');
    const resumedW = noGrad(() => firstW.clone()).requiresGrad_();
    const resumed = build(resumedW);
    resumed.loadStateDict(saved);
    first.dispose();
    train(resumedW, resumed, 3, 6);
    expect(Array.from(resumedW.dataSync())).toEqual(Array.from(straightW.dataSync()));
    straight.dispose();
    resumed.dispose();
  });

  describe('SVD failures', () => {
    /** A CPU backend whose SVD returns NaN: the case a real SVD failure on finite input produces. */
    class NaNSvdBackend extends CpuBackend {
      failing = false;
      override run<K extends string>(name: K, io: KernelIO<K>, params: KernelParams<K>): void {
        super.run(name, io, params);
        if (!this.failing || name !== 'svd') return;
        const { u, s, vt } = io as Record<string, Storage>;
        for (const x of [u, s, vt]) super.run('fill', { out: x as Storage }, { value: Number.NaN });
      }
    }

    it('keeps the previous projector (no NaN in the weights) and reports once per failure through the hook', () => {
      const backend = new NaNSvdBackend();
      const failures: SvdFailure[] = [];
      const w = randn([6, 4], { backend, requiresGrad: true });
      const opt = new GaLoreAdamW(
        [{ params: [w], options: { rank: 2, updateProjGap: 1 } }],
        {},
        { onSvdFailure: (f) => failures.push(f) },
      );
      w.grad = randn([6, 4], { backend });
      opt.step();
      const basis = Array.from(opt.stateDict().tensors['state.0.projector_right']!.dataSync());
      backend.failing = true;
      w.grad = randn([6, 4], { backend });
      opt.step();
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ step: 1, action: 'previous' });
      expect(Array.from(opt.stateDict().tensors['state.0.projector_right']!.dataSync())).toEqual(basis);
      expect(Array.from(w.dataSync()).every(Number.isFinite)).toBe(true);
      opt.dispose();
    });

    it('skips the update when there is no projector yet, and warns once on the console without a hook', () => {
      const backend = new NaNSvdBackend();
      backend.failing = true;
      const w = randn([6, 4], { backend, requiresGrad: true });
      const before = Array.from(w.dataSync());
      const opt = new GaLoreAdamW([{ params: [w], options: { rank: 2 } }]);
      const warnings: string[] = [];
      const original = console.warn;
      console.warn = (message: string) => warnings.push(message);
      try {
        for (let i = 0; i < 2; i++) {
          w.grad = randn([6, 4], { backend });
          opt.step();
        }
      } finally {
        console.warn = original;
      }
      expect(Array.from(w.dataSync())).toEqual(before);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/non-finite.*skipping this update/);
      opt.dispose();
    });
  });

  describe('option errors', () => {
    const w = () => randn([4, 3], { requiresGrad: true });
    it.each([
      [{ rank: 0 }, /rank must be a positive integer, got 0/],
      [{ rank: 2.5 }, /rank must be a positive integer, got 2.5/],
      [{ rank: 2, updateProjGap: 0 }, /updateProjGap must be a positive integer/],
      [
        { rank: 2, projType: 'diagonal' },
        /projType must be one of std, reverse_std, left, right, full, got "diagonal"/,
      ],
      [{ rank: 2, subspaceChange: 'rotate' }, /subspaceChange must be one of keep, reset, project/],
      [{ rank: 2, svd: 'qr' }, /svd must be 'exact' or 'randomized'/],
    ])('%j', (options, message) => {
      expect(() => new GaLoreAdamW([{ params: [w()], options: options as Partial<GaLoreAdamWOptions> }])).toThrow(
        message,
      );
    });

    it('a projected parameter that is not 2-D', () => {
      const bias = tensor([1, 2, 3], { requiresGrad: true });
      bias.name = 'model.norm.weight';
      expect(() => new GaLoreAdamW([{ params: [bias], options: { rank: 2 }, names: ['model.norm.weight'] }])).toThrow(
        /'model.norm.weight' has shape \[3\]; GaLore projects 2-D weights only/,
      );
    });
  });
});
