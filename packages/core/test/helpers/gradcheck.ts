/**
 * Gradient checking by central finite differences in float64 on the CPU backend.
 *
 * The scalar checked is loss = sum(out * W) for a fixed random W of the output's shape, so every
 * output element contributes with its own weight (a plain sum would hide errors that cancel, e.g.
 * a softmax gradient). The analytic gradient of every input comes from `loss.backward()`; the
 * numeric one perturbs each input element by +-h, recomputes the forward pass under noGrad and
 * forms (L(x + h) - L(x - h)) / 2h in plain float64 JavaScript from the read-back outputs, so the
 * expected values never pass through the code under test's backward rules.
 *
 * The check also asserts that nothing leaks: once the inputs, outputs and gradients are disposed,
 * the backend's live byte count is back to where it started.
 */
import { expect } from 'vitest';
import { getBackend, noGrad, type Tensor, tensor, tidy } from '../../src/index.js';

/** mulberry32: a tiny seeded PRNG for test data (independent of the library's Philox). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Value generators for op domains. All take a uniform [0, 1) source. */
export const domains = {
  /** Uniform in [-2, 2). */
  any: (u: () => number) => u() * 4 - 2,
  /** Uniform in [0.5, 2.5): log, sqrt, rsqrt, pow bases, reciprocal denominators. */
  positive: (u: () => number) => 0.5 + u() * 2,
  /** |x| in [0.2, 2), random sign: keeps abs / relu / div denominators away from their kink or pole. */
  awayFromZero: (u: () => number) => (u() < 0.5 ? -1 : 1) * (0.2 + u() * 1.8),
} as const;

export type Domain = (u: () => number) => number;

export function randomValues(n: number, rand: () => number, domain: Domain = domains.any): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = domain(rand);
  return out;
}

/** A float64 leaf of `shape` that requires grad, filled from `rand` in `domain`. */
export function leaf(shape: readonly number[], rand: () => number, domain: Domain = domains.any): Tensor {
  return tensor(randomValues(sizeOfShape(shape), rand, domain), { shape, dtype: 'float64', requiresGrad: true });
}

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  h?: number;
  /** Allowed error: |analytic - numeric| <= tol * max(1, |numeric|) (default 1e-6). */
  tol?: number;
  /** Seed of the output weights W. */
  seed?: number;
  /** Assert that the backend's live bytes return to the starting figure (default true). */
  checkLeaks?: boolean;
  /** Names the check in failure messages. */
  label?: string;
}

function weightedSum(out: Tensor, weights: Float64Array): number {
  const values = out.dataSync();
  if (values.length !== weights.length)
    throw new Error(`gradcheck: output changed size (${values.length} vs ${weights.length})`);
  let s = 0;
  for (let i = 0; i < values.length; i++) s += (values[i] as number) * (weights[i] as number);
  return s;
}

/**
 * Checks the gradient of `fn` with respect to every input. `inputs` are float64 host values with
 * their shapes; the function receives float64 leaves that require grad (created fresh for every
 * evaluation) and must return one tensor.
 */
export function gradcheck(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: readonly { shape: readonly number[]; values: Float64Array }[],
  options: GradcheckOptions = {},
): void {
  const h = options.h ?? 1e-6;
  const tol = options.tol ?? 1e-6;
  const label = options.label ?? 'gradcheck';
  const tracker = getBackend().tracker;
  const liveBefore = tracker.snapshot().totalLive;

  // --- analytic ---
  const leaves = inputs.map((inp) =>
    tensor(Float64Array.from(inp.values), { shape: inp.shape, dtype: 'float64', requiresGrad: true }),
  );
  // Intermediates die with the tidy scope; autograd keeps what backward needs.
  const out = tidy(() => fn(...leaves));
  expect(out.dtype, `${label}: output dtype`).toBe('float64');
  const wRand = prng(options.seed ?? 12345);
  const weights = randomValues(out.size, wRand, domains.any);
  const weightTensor = tensor(weights, { shape: out.shape, dtype: 'float64' });
  const loss = tidy(() => out.mul(weightTensor).sum());
  loss.backward();
  const analytic = leaves.map((l, i) => {
    expect(l.grad, `${label}: input ${i} has no gradient`).not.toBeNull();
    const g = l.grad!;
    expect([...g.shape], `${label}: gradient shape of input ${i}`).toEqual([...l.shape]);
    expect(g.dtype, `${label}: gradient dtype of input ${i}`).toBe('float64');
    return Float64Array.from(g.dataSync());
  });
  // The forward value must agree with the plain-JS weighted sum of the output.
  const lossValue = loss.itemSync();
  expect(Math.abs(lossValue - weightedSum(out, weights))).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(lossValue)));
  for (const t of [out, loss, weightTensor]) t.dispose();
  for (const l of leaves) {
    l.zeroGrad();
    l.dispose();
  }

  // --- numeric ---
  const evaluate = (values: Float64Array[]): number =>
    noGrad(() =>
      tidy(() => {
        const xs = values.map((v, i) => tensor(v, { shape: inputs[i]!.shape, dtype: 'float64' }));
        return weightedSum(fn(...xs), weights);
      }),
    );
  const current = inputs.map((inp) => Float64Array.from(inp.values));
  for (let i = 0; i < inputs.length; i++) {
    const x = current[i]!;
    const grad = analytic[i]!;
    for (let j = 0; j < x.length; j++) {
      const original = x[j]!;
      x[j] = original + h;
      const plus = evaluate(current);
      x[j] = original - h;
      const minus = evaluate(current);
      x[j] = original;
      const numeric = (plus - minus) / (2 * h);
      const a = grad[j]!;
      const err = Math.abs(a - numeric);
      if (!(err <= tol * Math.max(1, Math.abs(numeric)))) {
        throw new Error(
          `${label}: gradient of input ${i} (shape [${inputs[i]!.shape.join(', ')}]) element ${j}: analytic ${a}, numeric ${numeric}, error ${err}`,
        );
      }
    }
  }
  if (options.checkLeaks ?? true) {
    expect(tracker.snapshot().totalLive, `${label}: live bytes after the check (leak)`).toBe(liveBefore);
  }
}

/** Shorthand: random float64 inputs of the given shapes and domains. */
export function randomInputs(
  rand: () => number,
  specs: readonly (readonly number[] | { shape: readonly number[]; domain: Domain })[],
): { shape: readonly number[]; values: Float64Array }[] {
  return specs.map((s) => {
    const { shape, domain } = Array.isArray(s)
      ? { shape: s as readonly number[], domain: domains.any }
      : (s as { shape: readonly number[]; domain: Domain });
    return { shape, values: randomValues(sizeOfShape(shape), rand, domain) };
  });
}
