/**
 * End to end: a tiny LLaMA (llama_tiny narrowed to 2 layers of width 64) trained for 20 AdamW steps
 * on WebGPU follows the CPU backend's loss curve. Both build the model right after the same
 * manualSeed, so Philox gives them identical initial weights; the curves then differ only by
 * float32 rounding in a different accumulation order (tiled matmuls, tree reductions in softmax,
 * RMSNorm and cross-entropy), which AdamW's normalised updates carry from step to step. On
 * lavapipe the worst step differs by ~3e-7 relative; we allow 1e-4, room for other adapters'
 * matmul tilings, while a wrong kernel or gradient moves the curve (5.5 -> 1.7) by far more.
 */
import {
  AdamW,
  type Backend,
  ByteTokenizer,
  getBackend,
  LlamaForCausalLM,
  llamaPreset,
  manualSeed,
  setBackend,
  tensor,
  tidy,
} from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { expectLossesClose, webgpuForSuite } from './open.js';

const STEPS = 20;
const LOSS_TOLERANCE = 1e-4;
const BATCH = 2;
const SEQ_LEN = 32;

// A small config so 20 steps on lavapipe (WebGPU on two CPU cores) take seconds.
const CONFIG = llamaPreset('llama_tiny', {
  hidden_size: 64,
  intermediate_size: 160,
  num_attention_heads: 4,
  num_hidden_layers: 2,
  max_position_embeddings: SEQ_LEN,
});

/** One fixed batch of byte tokens: the model learns to memorise it, so the loss falls steadily. */
function batchIds(): number[][] {
  const text = 'To be, or not to be, that is the question: whether tis nobler in the mind to suffer';
  const bytes = new ByteTokenizer().encode(text);
  return Array.from({ length: BATCH }, (_, row) => bytes.slice(row * SEQ_LEN, (row + 1) * SEQ_LEN));
}

async function trainLosses(backend: Backend): Promise<number[]> {
  const previous = getBackend();
  setBackend(backend);
  try {
    manualSeed(11);
    const model = new LlamaForCausalLM(CONFIG);
    expect(model.backend).toBe(backend); // else the "webgpu" curve would be the CPU's again
    const optimizer = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.01 });
    const ids = tensor(batchIds(), { dtype: 'int32' });
    const losses: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      optimizer.zeroGrad();
      const loss = tidy(() => model.forward(ids, { labels: ids }).loss!);
      loss.backward();
      optimizer.step();
      losses.push(await loss.item());
      loss.dispose();
    }
    optimizer.dispose();
    model.dispose();
    ids.dispose();
    return losses;
  } finally {
    setBackend(previous);
  }
}

describe('LLaMA training on WebGPU', () => {
  const webgpu = webgpuForSuite();

  it(`matches the CPU backend's losses over ${STEPS} steps within ${LOSS_TOLERANCE} relative`, async (context) => {
    const gpu = webgpu.get(context);
    let start = performance.now();
    const cpuLosses = await trainLosses(getBackend());
    const cpuSeconds = (performance.now() - start) / 1000;
    start = performance.now();
    const gpuLosses = await trainLosses(gpu);
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
