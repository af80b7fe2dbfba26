import { AdamW, adamwKernelParams, manualSeed, noGrad, randn, tensor, tidy, zeros } from '@galore-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AdamW8bit,
  dequantize,
  dynamicQuantizationMap,
  GaLoreAdamW8bit,
  quantize,
  quantizedAdamStep,
} from '../src/index.js';

describe('dynamic quantisation maps (bitsandbytes)', () => {
  it.each([true, false])('signed %s: 256 sorted entries in range, with 0 and 1', (signed) => {
    const map = dynamicQuantizationMap(signed);
    expect(map).toHaveLength(256);
    for (let i = 1; i < 256; i++) expect(map[i]!).toBeGreaterThanOrEqual(map[i - 1]!);
    expect(map[0]!).toBeGreaterThanOrEqual(signed ? -1 : 0);
    expect(map[255]).toBe(1);
    expect(map.includes(0)).toBe(true);
  });

  it('signed: symmetric around 0 apart from the +1 end, finest step 5.5e-7, coarsest entries near 1', () => {
    const map = Array.from(dynamicQuantizationMap(true));
    const positives = map.filter((x) => x > 0 && x < 1);
    expect(positives).toHaveLength(127);
    for (const p of positives) expect(map).toContain(-p);
    // Decade 10^-6 has one value, the midpoint of [0.1, 1]; decade 10^0 has 64 values.
    expect(positives[0]).toBeCloseTo(0.55e-6, 15);
    expect(positives[126]).toBeCloseTo(0.1 + 0.9 * (63.5 / 64), 12);
  });

  it('unsigned: twice the values per decade, 254 strictly between 0 and 1', () => {
    const map = Array.from(dynamicQuantizationMap(false));
    expect(map.filter((x) => x > 0 && x < 1)).toHaveLength(254);
    expect(map.filter((x) => x > 0)[0]).toBeCloseTo(1e-6 * (0.1 + 0.9 * 0.25), 15);
  });
});

/** The round-trip error bound the block absmax implies: half the codebook gap around x / absmax. */
function errorBound(x: number, absmax: number, map: Float64Array): number {
  if (absmax === 0) return 0;
  const u = x / absmax;
  // The signed map ends at +1 but not at -1: below its first entry the error is the distance to it.
  if (u <= map[0]!) return (map[0]! - u) * absmax;
  const hi = map.findIndex((c) => c >= u);
  return ((map[hi]! - map[hi - 1]!) / 2) * absmax;
}

describe('block-wise quantisation round trip', () => {
  it('stays within half a codebook gap times the block absmax (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), {
          minLength: 1,
          maxLength: 700,
        }),
        fc.constantFrom(256, 2048),
        fc.boolean(),
        (raw, blockSize, signed) => {
          const values = signed ? raw : raw.map(Math.abs);
          tidy(() => {
            const x = tensor(values, { dtype: 'float32' });
            const { codes, absmax } = quantize(x, signed, blockSize);
            const back = dequantize(codes, absmax, signed, blockSize).dataSync();
            const scales = absmax.dataSync();
            const xs = x.dataSync();
            const map = dynamicQuantizationMap(signed);
            for (let i = 0; i < xs.length; i++) {
              const a = scales[Math.floor(i / blockSize)]!;
              // Each block's absmax is the largest magnitude in it, stored as float32.
              expect(Math.abs(xs[i]!)).toBeLessThanOrEqual(a);
              expect(Math.abs(back[i]! - xs[i]!)).toBeLessThanOrEqual(errorBound(xs[i]!, a, map) * (1 + 1e-5) + 1e-35);
            }
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

/**
 * `steps` updates of one weight of `shape` by AdamW8bit and, from a copy, by core's float32 AdamW
 * with bitsandbytes' defaults (eps 1e-8, weight decay 1e-2 unless `options` says otherwise).
 */
function stepBoth(shape: number[], steps: number, options: { weightDecay?: number }) {
  const init = randn(shape);
  const a = noGrad(() => init.clone()).requiresGrad_();
  const b = noGrad(() => init.clone()).requiresGrad_();
  const ours = new AdamW8bit([a], { lr: 0.01, ...options });
  const core = new AdamW([b], { lr: 0.01, weightDecay: 1e-2, eps: 1e-8, ...options });
  for (let i = 0; i < steps; i++) {
    const g = randn(shape);
    a.grad = g.clone();
    b.grad = g.clone();
    ours.step();
    core.step();
  }
  return { init, a, b, ours, core };
}

describe('8-bit Adam', () => {
  it('chunked updates equal one whole update (chunks are block-aligned)', () => {
    manualSeed(1);
    const run = (chunk: number) =>
      tidy(() => {
        const target = zeros([3000]);
        const grad = randn([3000]);
        const moment = (signed: boolean) => ({ ...quantize(randn([3000]).abs(), signed, 256), signed });
        manualSeed(2);
        const m = moment(true);
        const v = moment(false);
        quantizedAdamStep(
          target,
          grad,
          m,
          v,
          adamwKernelParams({ lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 3 }),
          256,
          chunk,
        );
        return [...target.dataSync(), ...dequantize(m.codes, m.absmax, true, 256).dataSync()];
      });
    manualSeed(1);
    const whole = run(1 << 22);
    manualSeed(1);
    expect(run(512)).toEqual(whole);
  });

  it('keeps states under 4096 elements in float32 and then equals core AdamW exactly', () => {
    manualSeed(3);
    const { a, b, ours, core } = stepBoth([30, 20], 3, {});
    expect(Object.keys(ours.stateDict().tensors)).toEqual(['state.0.exp_avg', 'state.0.exp_avg_sq']);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    ours.dispose();
    core.dispose();
  });

  it('quantises large states and tracks float32 AdamW closely', () => {
    manualSeed(4);
    const { init, a, b, ours, core } = stepBoth([128, 64], 5, { weightDecay: 0 });
    const keys = Object.keys(ours.stateDict().tensors);
    expect(keys).toEqual([
      'state.0.exp_avg_codes',
      'state.0.exp_avg_absmax',
      'state.0.exp_avg_sq_codes',
      'state.0.exp_avg_sq_absmax',
    ]);
    const moved = (t: typeof a) => Array.from(t.dataSync(), (x, i) => x - init.dataSync()[i]!);
    const da = moved(a);
    const db = moved(b);
    const relative = Math.sqrt(da.reduce((s, x, i) => s + (x - db[i]!) ** 2, 0) / db.reduce((s, x) => s + x * x, 0));
    expect(relative).toBeLessThan(0.05);
    expect(relative).toBeGreaterThan(0); // it is quantised
    ours.dispose();
    core.dispose();
  });

  it('GaLoreAdamW8bit quantises the moments of R (shape of the projected gradient)', () => {
    manualSeed(5);
    const w = randn([256, 64], { requiresGrad: true });
    const opt = new GaLoreAdamW8bit([{ params: [w], options: { rank: 16 } }]);
    w.grad = randn([256, 64]);
    opt.step();
    const state = opt.stateDict().tensors;
    expect(state['state.0.exp_avg_codes']!.shape).toEqual([256, 16]);
    expect(state['state.0.exp_avg_codes']!.dtype).toBe('uint8');
    expect(state['state.0.exp_avg_absmax']!.shape).toEqual([16]);
    expect(state['state.0.projector_right']!.shape).toEqual([16, 64]);
    expect(Array.from(w.dataSync()).every(Number.isFinite)).toBe(true);
    opt.dispose();
  });

  it('refuses unsupported block sizes and rank on plain AdamW8bit', () => {
    const w = randn([4, 4], { requiresGrad: true });
    expect(() => new AdamW8bit([w], { blockSize: 512 as 256 })).toThrow(/blockSize must be one of 256, 2048, got 512/);
    expect(() => new AdamW8bit([{ params: [w], options: { rank: 2 } }])).toThrow(
      /AdamW8bit: parameter group 0: unknown option 'rank'/,
    );
  });
});
