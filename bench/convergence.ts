/**
 * AdamW against GaLore AdamW on the same model, data, steps and tokens: trains `llama_small`
 * (byte tokenizer) on tinyshakespeare with each optimizer through core's Trainer and prints the
 * validation loss of both, their ratio, the time per step, and the optimizer-state bytes. Run by
 * hand (never in `npm test`): `npx tsx bench/convergence.ts`.
 *
 * Options (environment): DATA (default ../shared/data/tinyshakespeare.txt, else the CLI's excerpt),
 * MODEL (llama_small), STEPS (30), BATCH (4), SEQ (64), RANK (hidden / 4), GAP (15: short runs
 * need refreshes; the paper's 200 is for 10k+ steps), SVD (randomized: an exact Jacobi SVD of all
 * 56 llama_small weights takes minutes per refresh on a CPU core; `exact` is the official choice),
 * LR (3e-3 AdamW), GALORE_LR (1e-2 with alpha 0.25, the paper's pairing), SCALE (0.25),
 * WARMUP (10% of STEPS), VAL_BATCHES (8), SEED (0).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ByteTokenizer,
  LlamaForCausalLM,
  llamaPreset,
  manualSeed,
  TokenDataset,
  Trainer,
} from '../packages/core/src/index.js';
import { createOptimizer } from '../packages/galore/src/index.js';

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;

function dataPath(): string {
  const given = process.env.DATA;
  if (given) return given;
  for (const candidate of ['../shared/data/tinyshakespeare.txt', '../../shared/data/tinyshakespeare.txt']) {
    const path = fileURLToPath(new URL(candidate, new URL('../', import.meta.url)));
    if (existsSync(path)) return path;
  }
  return fileURLToPath(new URL('../packages/cli/corpus/tinyshakespeare-excerpt.txt', import.meta.url));
}

interface RunResult {
  name: string;
  valLoss: number;
  trainLoss: number;
  secondsPerStep: number;
  optimizerBytes: number;
  tokens: number;
}

async function run(name: 'adamw' | 'galore_adamw', settings: Settings): Promise<RunResult> {
  manualSeed(settings.seed);
  const model = new LlamaForCausalLM(llamaPreset(settings.model));
  const data = await TokenDataset.open({
    path: settings.data,
    tokenizer: new ByteTokenizer(),
    seqLen: settings.seq,
    batchSize: settings.batch,
    seed: settings.seed,
    validationSequences: settings.valBatches * settings.batch,
  });
  const optimizer =
    name === 'adamw'
      ? createOptimizer('adamw', model.namedParameters(), { lr: settings.lr, weightDecay: 0 })
      : createOptimizer('galore_adamw', model.namedParameters(), {
          lr: settings.galoreLr,
          weightDecay: 0,
          rank: settings.rank,
          updateProjGap: settings.gap,
          scale: settings.scale,
          svd: settings.svd,
        });
  const trainer = new Trainer({
    model,
    optimizer,
    data,
    steps: settings.steps,
    schedule: { warmupSteps: settings.warmup, minLrRatio: 0.1 },
    evaluation: { every: settings.steps, batches: () => data.validationBatches() },
    onMetrics: (row) => {
      if (row.step % 5 === 0 || row.step === 1) {
        process.stderr.write(
          `  ${name} step ${row.step}: loss ${row.loss.toFixed(3)} (${(row.tokens_per_s ?? 0).toFixed(0)} tok/s)\n`,
        );
      }
    },
  });
  const summary = await trainer.train();
  const optimizerBytes = model.backend.tracker.snapshot().live.optimizer;
  trainer.dispose();
  model.dispose();
  await data.close();
  return {
    name,
    valLoss: summary.finalValLoss ?? Number.NaN,
    trainLoss: summary.finalLoss ?? Number.NaN,
    secondsPerStep: summary.trainSeconds / summary.steps,
    optimizerBytes,
    tokens: summary.tokens,
  };
}

interface Settings {
  data: string;
  model: string;
  steps: number;
  batch: number;
  seq: number;
  rank: number;
  gap: number;
  lr: number;
  galoreLr: number;
  scale: number;
  svd: 'exact' | 'randomized';
  warmup: number;
  valBatches: number;
  seed: number;
}

function settingsFromEnv(): Settings {
  const model = env('MODEL', 'llama_small');
  const steps = Number(env('STEPS', '30'));
  return {
    data: dataPath(),
    model,
    steps,
    batch: Number(env('BATCH', '4')),
    seq: Number(env('SEQ', '64')),
    rank: Number(env('RANK', String(Math.round(llamaPreset(model).hidden_size / 4)))),
    gap: Number(env('GAP', '15')),
    lr: Number(env('LR', '3e-3')),
    galoreLr: Number(env('GALORE_LR', '1e-2')),
    scale: Number(env('SCALE', '0.25')),
    svd: env('SVD', 'randomized') === 'exact' ? 'exact' : 'randomized',
    warmup: Number(env('WARMUP', String(Math.max(1, Math.round(steps / 10))))),
    valBatches: Number(env('VAL_BATCHES', '8')),
    seed: Number(env('SEED', '0')),
  };
}

function table(results: RunResult[]): string {
  const [a, g] = results as [RunResult, RunResult];
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  const rows = [
    ['', 'AdamW', 'GaLore AdamW', 'GaLore / AdamW'],
    ['validation loss', a.valLoss.toFixed(4), g.valLoss.toFixed(4), (g.valLoss / a.valLoss).toFixed(4)],
    ['last training loss', a.trainLoss.toFixed(4), g.trainLoss.toFixed(4), (g.trainLoss / a.trainLoss).toFixed(4)],
    [
      'seconds per step',
      a.secondsPerStep.toFixed(2),
      g.secondsPerStep.toFixed(2),
      (g.secondsPerStep / a.secondsPerStep).toFixed(2),
    ],
    ['optimizer state', mb(a.optimizerBytes), mb(g.optimizerBytes), (g.optimizerBytes / a.optimizerBytes).toFixed(3)],
    ['tokens trained', String(a.tokens), String(g.tokens), ''],
  ];
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(20) : c.padStart(16))).join('')).join('\n');
}

async function main(): Promise<void> {
  const s = settingsFromEnv();
  console.log(
    `${s.model} on ${s.data}: ${s.steps} steps of ${s.batch} x ${s.seq} tokens; GaLore rank ${s.rank}, T ${s.gap}, alpha ${s.scale}, ${s.svd} SVD; lr ${s.lr} (AdamW), ${s.galoreLr} (GaLore)`,
  );
  const results = [await run('adamw', s), await run('galore_adamw', s)];
  console.log(table(results));
}

await main();
