/**
 * End to end: a tiny LLaMA (llama_tiny narrowed to 2 layers of width 64) trained for 20 AdamW steps
 * on WebGPU follows the CPU backend's loss curve. Both build the model right after the same
 * manualSeed, so Philox gives them identical initial weights; the curves then differ only by
 * float32 rounding in a different accumulation order (tiled matmuls, tree reductions in softmax,
 * RMSNorm and cross-entropy), which AdamW's normalised updates carry from step to step. On
 * lavapipe the worst step differs by ~3e-7 relative; we allow 1e-4, room for other adapters'
 * matmul tilings, while a wrong kernel or gradient moves the curve (5.5 -> 1.7) by far more.
 */
import { getBackend } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { adamwCurve, CURVE_CONFIG as CONFIG, CURVE_STEPS as STEPS } from '../../../test/llama-curve.js';
import { expectLossesClose, webgpuForSuite } from './open.js';

const LOSS_TOLERANCE = 1e-4;

describe('LLaMA training on WebGPU', () => {
  const webgpu = webgpuForSuite();

  it(`matches the CPU backend's losses over ${STEPS} steps within ${LOSS_TOLERANCE} relative`, async (context) => {
    const gpu = webgpu.get(context);
    let start = performance.now();
    const cpuLosses = await adamwCurve(getBackend());
    const cpuSeconds = (performance.now() - start) / 1000;
    start = performance.now();
    const gpuLosses = await adamwCurve(gpu);
    const gpuSeconds = (performance.now() - start) / 1000;

    expect(cpuLosses[0]).toBeCloseTo(Math.log(CONFIG.vocab_size), 0); // starts near a uniform guess
    expect(cpuLosses[STEPS - 1]).toBeLessThan((cpuLosses[0] as number) * 0.8); // and does learn
    const worst = expectLossesClose(gpuLosses, cpuLosses, LOSS_TOLERANCE);
    console.info(
      `LLaMA losses ${cpuLosses[0]?.toFixed(4)} -> ${cpuLosses[STEPS - 1]?.toFixed(4)}; ` +
        `worst relative difference webgpu vs cpu: ${worst.toExponential(2)} ` +
        `(cpu ${cpuSeconds.toFixed(1)} s, webgpu ${gpuSeconds.toFixed(1)} s)`,
    );
  });
});
