/**
 * One LLaMA training configuration on a backend (plan.ts plans the same step on the meta backend):
 * bf16 weights, `--batch` x `--seq` random tokens, the named
 * optimizer (per-layer updates for *_layerwise names), `--steps` steps. Step 1 refreshes the GaLore
 * projectors (an SVD of every projected gradient), so throughput is the median of the steps after
 * it; memory is the tracker's peak over all steps (the plan's measure) and the CUDA allocator's.
 *
 *   node scripts/gpu-check/dist/train-step.mjs --backend cuda --model llama_1b \
 *     --optimizer galore_adamw_8bit_layerwise --rank 512 --seq 256 --steps 4 --out r.json
 */
import {
  type Backend,
  LlamaForCausalLM,
  type LlamaPresetName,
  llamaPreset,
  manualSeed,
  type Tensor,
  tensor,
  tidy,
  useBackend,
} from '@galore-ts/core';
import { createOptimizer } from '@galore-ts/galore';
import {
  type Args,
  describeBackend,
  gigabytes,
  intArg,
  median,
  memoryReport,
  optimizerOptions,
  PAPER,
  parseArgs,
  Result,
  round,
  runMain,
} from './common.js';

let result: Result | undefined;

function randomIds(batch: number, seq: number, vocab: number, backend: Backend): Tensor {
  let state = 42;
  const rows = Array.from({ length: batch }, () =>
    Array.from({ length: seq }, () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % vocab;
    }),
  );
  return tensor(rows, { dtype: 'int32', backend });
}

async function main(args: Args): Promise<void> {
  const modelName = (args.model ?? 'llama_1b') as LlamaPresetName;
  const optimizerName = args.optimizer ?? 'adamw';
  const batch = intArg(args, 'batch', 1);
  const seq = intArg(args, 'seq', 256);
  const steps = intArg(args, 'steps', 4);
  const rank = intArg(args, 'rank', 512);
  const svd = (args.svd ?? 'exact') as 'exact' | 'randomized';
  const config = llamaPreset(modelName);
  const options = optimizerOptions(optimizerName, rank, svd);
  result = new Result(args.out, {
    model: modelName,
    parameters: null,
    optimizer: optimizerName,
    options,
    batch,
    seq,
    dtype: 'bfloat16',
    paper: PAPER[modelName]?.[optimizerName] ?? null,
  });

  const backend = await useBackend(args.backend ?? 'cuda');
  result.set('backend', describeBackend(backend));
  manualSeed(0);
  let started = performance.now();
  const model = new LlamaForCausalLM(config, { dtype: 'bfloat16', backend });
  await backend.sync();
  result.set('parameters', model.numParameters());
  result.set('init', { seconds: round((performance.now() - started) / 1000, 2), memory: memoryReport(backend) });
  console.log(`${modelName}: ${model.numParameters()} parameters on ${backend.name}`);

  const created = createOptimizer(optimizerName, model.namedParameters(), options);
  const ids = randomIds(batch, seq, config.vocab_size, backend);
  const records: { seconds: number; loss: number; memory: ReturnType<typeof memoryReport> }[] = [];
  let peak = 0;
  for (let step = 0; step < steps; step++) {
    backend.tracker.resetPeak();
    started = performance.now();
    const loss = tidy(() => model.forward(ids, { labels: ids }).loss as Tensor);
    if (created.layerwise) created.layerwise.backward(loss);
    else {
      loss.backward();
      created.optimizer.step();
      created.optimizer.zeroGrad();
    }
    const value = await loss.item();
    loss.dispose();
    await backend.sync();
    const seconds = (performance.now() - started) / 1000;
    const snapshot = backend.tracker.snapshot();
    peak = Math.max(peak, snapshot.totalPeak);
    records.push({ seconds: round(seconds, 4), loss: round(value, 4), memory: memoryReport(backend, snapshot) });
    result.set('steps', records);
    console.log(
      `step ${step + 1}: ${seconds.toFixed(3)} s, loss ${value.toFixed(4)}, peak ${gigabytes(snapshot.totalPeak)} GB`,
    );
  }

  const steady = records.slice(1).map((r) => r.seconds);
  const tokens = batch * seq;
  const final = memoryReport(backend);
  result.set('summary', {
    firstStepSeconds: records[0]?.seconds ?? null,
    tokensPerSecond: steady.length > 0 ? round(tokens / median(steady), 2) : null,
    tokensPerSecondFirstStep: records[0] ? round(tokens / records[0].seconds, 2) : null,
    trackerPeakGB: gigabytes(peak),
    allocatorPeakReservedGB: final.allocator?.peakReservedGB ?? null,
  });
  ids.dispose();
  created.layerwise?.dispose();
  created.optimizer.dispose();
  model.dispose();
  result.finish();
}

runMain(
  () => main(parseArgs(process.argv.slice(2))),
  () => result,
);
