/**
 * Dry runs on the meta backend: the peak memory of a 2-layer MLP's forward + backward, checked
 * against a byte count worked out by hand below, and the same count for a model far too large
 * to run for real. The CPU backend must report the very same figures (same allocation sequence).
 */
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  createCpuBackend,
  createMetaBackend,
  crossEntropy,
  linear,
  type MemorySnapshot,
  randn,
  relu,
  type Tensor,
  tidy,
  withCategory,
  zeros,
} from '../../src/index.js';

/*
 * The model: x [B, D] and int32 targets [B] (category 'other'); parameters W1 [H, D], b1 [H],
 * W2 [C, H], b2 [C] (category 'parameter'), all float32 (4 bytes):
 *
 *   loss = crossEntropy(linear(relu(linear(x, W1, b1)), W2, b2), targets)   // mean reduction
 *
 * What each op allocates and saves (activation bytes), forward:
 *   linear 1: matmul x @ W1^T reads W1 through the transpose flag (no copy) -> y1 [B, H] 4BH;
 *             + b1 -> h 4BH; add saves nothing, so y1 dies at once.            peak 8BH
 *   relu:     a 4BH, saves its output a (h is not needed by backward).
 *   linear 2: y2 4BC, logits 4BC, y2 dies.                                    peak 8BH + 8BC
 *   crossEntropy: per-row losses 4B, their sum 4 (per-row freed), the count of non-ignored
 *             targets (uint8 B, float32 4B, sum 4, max(.,1) 4, a 4-byte scalar) and the mean 4.
 *             Peak here 8BH + 4BC + 5B + 16, below linear 2's when 4BC > 5B + 16.
 *   After the tidy scope: alive are a (saved by relu and matmul 2), logits (saved by
 *   crossEntropy), the count (the mean's div saves its divisor only: the sum needs no gradient
 *   of the divisor) and the loss:                                            4BH + 4BC + 8.
 *
 * Backward (gradients of leaves are re-tagged 'gradient'; "+G" is gradient bytes alive):
 *   seed 4, div -> 4, sum -> expand 4B, crossEntropy -> dlogits 4BC (logits then freed).
 *   add 2:    db2 = sum over rows 4C -> b2's gradient.                                  G = 4C
 *   matmul 2: da = g @ W2 4BH, and dW2 computed directly in W2's layout as g^T @ a 4HC (no
 *             transpose copy); peak 4BH (a) + 4BC (g) + 4BH + 4HC + 4 (loss) = 8BH + 4BC + 4HC + 4.
 *             Then g and the lazy transpose's gradient hand W2 its gradient.       G = 4C + 4HC
 *   relu:     g * float(a > 0): uint8 mask BH, float mask 4BH, product 4BH while a and g (4BH
 *             each) are alive: 17BH + 4 activation bytes, the total peak when BH dominates.
 *   add 1:    db1 4H.  matmul 1: dW1 = g^T @ x 4HD (x needs no gradient).
 *   End: the loss (4) and the four gradients 4(HD + H + CH + C).
 *
 * Total peak (activation + gradient + constant parameter and input bytes) is the larger of
 *   relu:      17BH + 4 + 4C + 4HC
 *   matmul 2:  8BH + 4BC + 4HC + 4 + 4C
 *   matmul 1:  4BH + 4HD + 4 + 4C + 4HC + 4H
 *   forward:   8BH + 8BC
 * and for the shapes below it is the relu one.
 */
interface Dims {
  B: number;
  D: number;
  H: number;
  C: number;
}

function handCount({ B, D, H, C }: Dims) {
  const parameter = 4 * (H * D + H + C * H + C);
  const other = 4 * B * D + 4 * B;
  const reluActivation = 17 * B * H + 4;
  const reluGradient = 4 * C + 4 * H * C;
  const activationPeak = Math.max(
    8 * B * H + 8 * B * C,
    8 * B * H + 4 * B * C + 4 * H * C + 4,
    17 * B * H + 4,
    4 * B * H + 4 * H * D + 4,
  );
  return {
    parameter,
    other,
    forwardPeak: parameter + other + 8 * B * H + 8 * B * C,
    totalPeak: parameter + other + reluActivation + reluGradient,
    atPeak: { parameter, gradient: reluGradient, activation: reluActivation, other, optimizer: 0 },
    activationPeak,
    gradientEnd: 4 * (H * D + H + C * H + C),
  };
}

function dryRun(
  backend: Backend,
  dims: Dims,
): { forward: MemorySnapshot; backward: MemorySnapshot; end: MemorySnapshot } {
  const { B, D, H, C } = dims;
  const opts = { backend };
  const params = withCategory('parameter', () => ({
    w1: randn([H, D], { ...opts, requiresGrad: true }),
    b1: zeros([H], { ...opts, requiresGrad: true }),
    w2: randn([C, H], { ...opts, requiresGrad: true }),
    b2: zeros([C], { ...opts, requiresGrad: true }),
  }));
  const x = withCategory('other', () => randn([B, D], opts));
  const targets = withCategory('other', () => zeros([B], { ...opts, dtype: 'int32' }));
  backend.tracker.resetPeak();
  const loss = tidy(() => crossEntropy(linear(relu(linear(x, params.w1, params.b1)), params.w2, params.b2), targets));
  const forward = backend.tracker.snapshot();
  loss.backward();
  const backward = backend.tracker.snapshot();
  loss.dispose();
  for (const p of Object.values(params) as Tensor[]) {
    p.zeroGrad();
    p.dispose();
  }
  x.dispose();
  targets.dispose();
  return { forward, backward, end: backend.tracker.snapshot() };
}

describe('meta backend dry run of a 2-layer MLP', () => {
  const dims: Dims = { B: 8, D: 16, H: 32, C: 10 };

  it('reports the hand-counted peak, its breakdown and the per-category peaks', () => {
    const meta = createMetaBackend();
    const want = handCount(dims);
    const { forward, backward, end } = dryRun(meta, dims);
    // Forward: linear 2's moment; afterwards a, logits, count and loss remain.
    expect(forward.totalPeak).toBe(want.forwardPeak);
    const { B, H, C } = dims;
    expect(forward.live.activation).toBe(4 * B * H + 4 * B * C + 8);
    // Backward: the relu moment; only the loss is left as an activation.
    expect(backward.totalPeak).toBe(want.totalPeak);
    expect(backward.atPeak).toEqual(want.atPeak);
    expect(backward.peak.activation).toBe(want.activationPeak);
    expect(backward.peak.gradient).toBe(want.gradientEnd);
    expect(backward.live.activation).toBe(4);
    expect(backward.live.gradient).toBe(want.gradientEnd);
    expect(end.totalLive).toBe(0);
    expect(end.liveAllocations).toBe(0);
  });

  it('the CPU backend reports the same figures (same allocations, real numbers)', () => {
    const meta = dryRun(createMetaBackend(), dims);
    const cpu = dryRun(createCpuBackend(), dims);
    expect(cpu.forward).toEqual(meta.forward);
    expect(cpu.backward).toEqual(meta.backward);
    expect(cpu.end.totalLive).toBe(0);
  });

  it('a huge MLP (batch 4096, hidden 16384) dry-runs at once with the hand-counted peak', () => {
    const big: Dims = { B: 4096, D: 1024, H: 16384, C: 1024 };
    const want = handCount(big);
    // By hand: BH = 2^26, so relu = 17 * 2^26 + 4 + 4096 + 4 * 2^24 = 1,207,963,652 bytes of
    // activations and gradients, plus parameters 4 * (2^24 + 2^14 + 2^24 + 2^10) = 134,287,360
    // and inputs 4 * 2^22 + 4 * 2^12 = 16,793,600.
    expect(want.totalPeak).toBe(1_207_963_652 + 134_287_360 + 16_793_600);
    const start = performance.now();
    const { backward, end } = dryRun(createMetaBackend(), big);
    const elapsed = performance.now() - start;
    expect(backward.totalPeak).toBe(want.totalPeak);
    expect(backward.atPeak).toEqual(want.atPeak);
    expect(end.totalLive).toBe(0);
    // Nothing is computed: a generous bound for a shared machine (the real run would take minutes).
    expect(elapsed).toBeLessThan(2000);
  });
});
