import { manualSeed, randn, tidy } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { GALORE_ADAFACTOR_DEFAULTS, GaLoreAdafactor, type GaLoreAdafactorOptions } from '../src/index.js';
import { type HostMatrix, host, hostMatmul, hostTranspose, maxAbsDiff } from './helpers.js';

/** The options the hand computation reads (eps as a mutable pair for the literals below). */
type HandOptions = Pick<GaLoreAdafactorOptions, 'lr' | 'clipThreshold' | 'decayRate' | 'beta1' | 'weightDecay'> &
  Pick<GaLoreAdafactorOptions, 'scaleParameter' | 'relativeStep' | 'warmupInit' | 'scale'> & { eps: [number, number] };

const rms = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0) / x.length);

/** Hugging Face Adafactor on host arrays, on R (rows x cols), with the update mapped back by `back`. */
function handAdafactor(
  w: Float64Array,
  r: HostMatrix,
  back: (u: HostMatrix) => HostMatrix,
  s: { row?: Float64Array; col?: Float64Array; m?: Float64Array },
  t: number,
  o: HandOptions,
): Float64Array {
  const { rows, cols } = r;
  let lr = o.lr ?? 0;
  if (o.relativeStep) lr = Math.min(o.warmupInit ? 1e-6 * t : 1e-2, 1 / Math.sqrt(t));
  if (o.scaleParameter) lr *= Math.max(o.eps[1], rms(w));
  const beta2t = 1 - t ** o.decayRate;
  s.row ??= new Float64Array(rows);
  s.col ??= new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    let mean = 0;
    for (let j = 0; j < cols; j++) mean += r.data[i * cols + j]! ** 2 + o.eps[0];
    s.row[i] = beta2t * s.row[i]! + (1 - beta2t) * (mean / cols);
  }
  for (let j = 0; j < cols; j++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += r.data[i * cols + j]! ** 2 + o.eps[0];
    s.col[j] = beta2t * s.col[j]! + (1 - beta2t) * (mean / rows);
  }
  const rowMean = s.row.reduce((a, b) => a + b, 0) / rows;
  let u = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++)
      u[i * cols + j] = r.data[i * cols + j]! / Math.sqrt(s.row[i]! / rowMean) / Math.sqrt(s.col[j]!);
  }
  const clip = Math.max(rms(u) / o.clipThreshold, 1);
  u = u.map((x) => (x / clip) * lr);
  if (o.beta1 !== null) {
    s.m ??= new Float64Array(rows * cols);
    for (let i = 0; i < u.length; i++) s.m[i] = o.beta1 * s.m[i]! + (1 - o.beta1) * u[i]!;
    u = Float64Array.from(s.m);
  }
  const full = back({ rows, cols, data: u });
  return w.map((x, i) => x - o.weightDecay * lr * x - o.scale * full.data[i]!);
}

describe('GaLoreAdafactor', () => {
  it("defaults to Hugging Face Adafactor's options", () => {
    const d = GALORE_ADAFACTOR_DEFAULTS;
    expect([d.lr, d.eps, d.clipThreshold, d.decayRate, d.beta1, d.weightDecay]).toEqual([
      undefined,
      [1e-30, 1e-3],
      1,
      -0.8,
      null,
      0,
    ]);
    expect([d.scaleParameter, d.relativeStep, d.warmupInit]).toEqual([true, true, false]);
  });

  const cases: [string, Partial<HandOptions>][] = [
    ['relative step, parameter scaling (HF defaults)', {}],
    [
      'fixed lr with first moment and weight decay',
      { lr: 0.02, relativeStep: false, scaleParameter: false, beta1: 0.9, weightDecay: 0.1 },
    ],
    ['tight update clipping', { lr: 0.5, relativeStep: false, scaleParameter: false, clipThreshold: 0.01 }],
  ];
  it.each(cases)('matches Adafactor by hand on R and mapped back: %s', (_, overrides) => {
    manualSeed(13);
    tidy(() => {
      const d = GALORE_ADAFACTOR_DEFAULTS;
      const o: HandOptions = { ...d, eps: [d.eps[0], d.eps[1]], scale: 0.25, ...overrides };
      const w = randn([7, 5], { dtype: 'float64', requiresGrad: true });
      const { scale, ...optimizerOptions } = o;
      const opt = new GaLoreAdafactor(
        [{ params: [w], options: { rank: 3, scale, updateProjGap: 100 } }],
        optimizerOptions as Partial<GaLoreAdafactorOptions>,
      );
      let expected: Float64Array = Float64Array.from(w.dataSync());
      const state = {};
      for (let t = 1; t <= 3; t++) {
        const g = randn([7, 5], { dtype: 'float64' });
        w.grad = g;
        opt.step();
        const Q = host(opt.stateDict().tensors['state.0.projector_right']!);
        const r = hostMatmul(host(g), hostTranspose(Q));
        expected = handAdafactor(expected, r, (u) => hostMatmul(u, Q), state, t, o);
        expect(maxAbsDiff(w.dataSync(), expected)).toBeLessThan(1e-12);
      }
      // The factored second moment: one statistic per row and per column of R (7 x 3).
      const tensors = opt.stateDict().tensors;
      expect(tensors['state.0.exp_avg_sq_row']!.shape).toEqual([7]);
      expect(tensors['state.0.exp_avg_sq_col']!.shape).toEqual([3]);
      opt.dispose();
    });
  });

  it('refuses a manual lr together with relativeStep, and warmupInit without it', () => {
    const w = randn([3, 3], { requiresGrad: true });
    expect(() => new GaLoreAdafactor([w], { lr: 0.1 })).toThrow(/cannot be combined with relativeStep: true/);
    expect(() => new GaLoreAdafactor([w], { lr: 0.1, relativeStep: false, warmupInit: true })).toThrow(
      /warmupInit: true needs relativeStep: true/,
    );
  });
});
