/**
 * Train llama_tiny on WebGPU (dawn-node: Vulkan, Metal or D3D12; lavapipe on a machine without a
 * GPU, see scripts/setup-webgpu-cpu.sh) with the library's Trainer, on the Shakespeare excerpt the
 * CLI ships:
 *
 *   npx tsx examples/train-webgpu.ts            # 20 steps, about a minute on lavapipe
 *   STEPS=200 npx tsx examples/train-webgpu.ts
 *
 * The only WebGPU-specific lines are opening the backend and destroying it at the end: everything
 * else is the same code as on the CPU (compare examples/train-tiny.ts).
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
// Types only: core loads the package itself, on demand, when asked for 'webgpu'.
import type { WebGPUAdapterReport, WebGPUBackend } from '@galore-ts/backend-webgpu';
import {
  AdamW,
  ByteTokenizer,
  disposeBackends,
  LlamaForCausalLM,
  llamaPreset,
  manualSeed,
  TokenDataset,
  Trainer,
  type TrainSummary,
  useBackend,
} from '@galore-ts/core';

const CORPUS = fileURLToPath(new URL('../packages/cli/corpus/tinyshakespeare-excerpt.txt', import.meta.url));

export interface TrainWebGPUOptions {
  steps?: number;
  log?: (line: string) => void;
}

export interface TrainWebGPUResult {
  adapter: WebGPUAdapterReport;
  /** The training loss of every step. */
  losses: number[];
  summary: TrainSummary;
}

export async function trainWebGPU({
  steps = Number(process.env.STEPS ?? 20),
  log = console.log,
}: TrainWebGPUOptions = {}): Promise<TrainWebGPUResult> {
  // Makes WebGPU the backend every new tensor lives on; throws with the reason when there is no adapter.
  const backend = (await useBackend('webgpu')) as WebGPUBackend;
  try {
    const adapter = backend.info;
    log(`WebGPU adapter: ${adapter.description || adapter.name} (${adapter.vendor || 'unknown vendor'})`);
    log(`  software: ${adapter.isSoftware}, shader-f16: ${adapter.shaderF16}, subgroup size: ${adapter.subgroupSize}`);

    manualSeed(0); // the initial weights; the data order has its own seed below
    const data = await TokenDataset.open({
      path: CORPUS,
      tokenizer: new ByteTokenizer(),
      seqLen: 64,
      batchSize: 8,
      seed: 0,
    });
    const model = new LlamaForCausalLM(llamaPreset('llama_tiny'));
    const losses: number[] = [];
    const trainer = new Trainer({
      model,
      optimizer: (named) =>
        new AdamW(
          named.map(([, p]) => p),
          { lr: 3e-3, weightDecay: 0 },
        ),
      data,
      steps,
      maxGradNorm: 1,
      schedule: { warmupSteps: Math.floor(steps / 10), minLrRatio: 0.1 },
      onMetrics: (row) => {
        losses.push(row.loss);
        log(`step ${row.step}  loss ${row.loss.toFixed(3)}  ${row.tokens_per_s.toFixed(0)} tok/s`);
      },
    });
    try {
      const summary = await trainer.train();
      log(
        `done: ${summary.steps} steps in ${summary.trainSeconds.toFixed(1)} s, final loss ${summary.finalLoss?.toFixed(3)}`,
      );
      return { adapter, losses, summary };
    } finally {
      trainer.dispose();
      model.dispose();
      await data.close();
    }
  } finally {
    // Releases the device (dawn keeps the process alive until then) and unselects it.
    await disposeBackends();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await trainWebGPU();
