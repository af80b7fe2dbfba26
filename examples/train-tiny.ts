/**
 * Train llama_tiny (1.3M parameters) on the Shakespeare excerpt the CLI ships, with the library's
 * Trainer: AdamW, linear warmup + cosine decay, gradient clipping, validation loss and perplexity
 * every 25 steps, and checkpoints you can resume from. About two minutes on two CPU cores:
 *
 *   npx tsx examples/train-tiny.ts
 *
 * For GaLore, build the optimizer with @galore-ts/galore instead:
 *   optimizer: (named) => createOptimizer('galore_adamw', named, { lr: 3e-3, rank: 32, updateProjGap: 50 })
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  AdamW,
  ByteTokenizer,
  LlamaForCausalLM,
  llamaPreset,
  manualSeed,
  TokenDataset,
  Trainer,
  type TrainSummary,
} from '@galore-ts/core';

const CORPUS = fileURLToPath(new URL('../packages/cli/corpus/tinyshakespeare-excerpt.txt', import.meta.url));

export interface TrainTinyOptions {
  steps?: number;
  /** Folder for the checkpoints. */
  out?: string;
  log?: (line: string) => void;
}

export async function trainTiny({
  steps = 100,
  out = 'runs/example-tiny',
  log = console.log,
}: TrainTinyOptions = {}): Promise<TrainSummary> {
  manualSeed(0); // the initial weights; the data order has its own seed below
  const data = await TokenDataset.open({
    path: CORPUS,
    tokenizer: new ByteTokenizer(),
    seqLen: 64,
    batchSize: 8,
    seed: 0,
    validationSequences: 32, // the first 32 sequences are held out for validation
  });
  const model = new LlamaForCausalLM(llamaPreset('llama_tiny'));
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
    evaluation: { every: 25, batches: () => data.validationBatches() },
    checkpoints: { dir: `${out}/checkpoints`, every: 50 },
    onMetrics: (row) => {
      const val =
        row.val_loss === undefined ? '' : `  val_loss ${row.val_loss.toFixed(3)}  val_ppl ${row.val_ppl!.toFixed(2)}`;
      if (row.step % 10 === 0 || val)
        log(`step ${row.step}  loss ${row.loss.toFixed(3)}  ${row.tokens_per_s.toFixed(0)} tok/s${val}`);
    },
  });
  // To continue an interrupted run: await trainer.resume(`${out}/checkpoints`);
  try {
    const summary = await trainer.train();
    log(
      `done: ${summary.steps} steps, final loss ${summary.finalLoss?.toFixed(3)}, checkpoint ${summary.lastCheckpoint}`,
    );
    return summary;
  } finally {
    trainer.dispose();
    model.dispose();
    await data.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await trainTiny();
