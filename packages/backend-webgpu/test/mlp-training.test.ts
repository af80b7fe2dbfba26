/**
 * End to end: a small MLP trained for 20 AdamW steps on WebGPU follows the CPU backend's loss
 * curve. Both start from the same Philox-drawn weights (same seed, same counters), so the curves
 * differ only by float32 rounding in a different order: we allow 1e-4 relative per step.
 */
import {
  AdamW,
  type Backend,
  crossEntropy,
  getBackend,
  Linear,
  manualSeed,
  setBackend,
  type Tensor,
  tensor,
} from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { expectLossesClose, webgpuForSuite } from './open.js';

const STEPS = 20;
const LOSS_TOLERANCE = 1e-4;

function dataset(): { x: number[][]; y: number[] } {
  // 32 points in 8 dimensions, 4 classes by the sign pattern of two coordinates: learnable.
  const x: number[][] = [];
  const y: number[] = [];
  let state = 12345;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
  for (let i = 0; i < 32; i++) {
    const row = Array.from({ length: 8 }, next);
    x.push(row);
    y.push(((row[0] as number) > 0 ? 1 : 0) + ((row[1] as number) > 0 ? 2 : 0));
  }
  return { x, y };
}

async function trainLosses(backend: Backend): Promise<number[]> {
  const previous = getBackend();
  setBackend(backend);
  try {
    manualSeed(7);
    const first = new Linear(8, 32, { bias: true, initStd: 0.3 });
    const second = new Linear(32, 4, { bias: true, initStd: 0.3 });
    const params = [...first.parameters(), ...second.parameters()];
    const optimizer = new AdamW(params, { lr: 0.01, weightDecay: 0.01 });
    const { x, y } = dataset();
    const inputs = tensor(x, { dtype: 'float32' });
    const targets = tensor(y, { dtype: 'int32' });
    const losses: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      optimizer.zeroGrad();
      const hidden: Tensor = first.forward(inputs).silu();
      const loss = crossEntropy(second.forward(hidden), targets);
      loss.backward();
      optimizer.step();
      losses.push(await loss.item());
      loss.dispose();
      hidden.dispose();
    }
    optimizer.dispose();
    for (const p of params) p.dispose();
    inputs.dispose();
    targets.dispose();
    return losses;
  } finally {
    setBackend(previous);
  }
}

describe('MLP training on WebGPU', () => {
  const webgpu = webgpuForSuite();

  it(`matches the CPU backend's losses over ${STEPS} steps within ${LOSS_TOLERANCE} relative`, async (context) => {
    const gpu = webgpu.get(context);
    const cpuLosses = await trainLosses(getBackend());
    const gpuLosses = await trainLosses(gpu);
    expect(cpuLosses[STEPS - 1]).toBeLessThan((cpuLosses[0] as number) * 0.8); // it does learn
    const worst = expectLossesClose(gpuLosses, cpuLosses, LOSS_TOLERANCE);
    console.info(
      `MLP losses ${cpuLosses[0]?.toFixed(4)} -> ${cpuLosses[STEPS - 1]?.toFixed(4)}; worst relative difference webgpu vs cpu: ${worst.toExponential(2)}`,
    );
  });
});
