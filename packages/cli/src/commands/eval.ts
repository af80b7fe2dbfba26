/**
 * `galore-ts eval`: loss and perplexity of a checkpoint. On a training run with no --data it
 * evaluates the run's validation split (the sequences training held out and reported on); with
 * --data, one pass over that data. It says what it evaluated, and fails on non-finite weights or loss.
 */

import { evaluate, firstNonFinite, loadTokenizer, type TokenBatch, TokenDataset } from '@galore-ts/core';
import { Command, Option } from 'commander';
import type { CliIO } from '../io.js';
import { positiveInteger } from '../parse.js';
import { BACKEND_NAMES, selectBackend } from '../setup/backend.js';
import { loadTrainedModel } from '../setup/method.js';
import { checkTokenizerFits, chooseTokenizer } from '../setup/tokenizer.js';
import { resolveModelFolder, savedSettings } from './saved-settings.js';
import type { RunSettings } from './train-settings.js';

interface EvalFlags {
  data?: string;
  tokenizer?: string;
  seqLen?: number;
  batchSize?: number;
  maxBatches?: number;
  backend: string;
  json?: boolean;
}

export interface EvalReport {
  checkpoint: string;
  data: string;
  /** 'validation': the run's held-out split; 'all': one pass over the data. */
  split: 'validation' | 'all';
  /** What was evaluated, in words. */
  evaluated: string;
  loss: number;
  perplexity: number;
  tokens: number;
  batches: number;
}

export function evalCommand(io: CliIO): Command {
  return new Command('eval')
    .description("loss and perplexity of a checkpoint: by default on its run's validation split")
    .argument(
      '<checkpoint>',
      'a checkpoint folder, a run folder (its latest checkpoint), or a Hugging Face model folder',
    )
    .option(
      '--data <path>',
      "text/JSONL file or folder, read in order, one pass (default: the run's validation split, the sequences training held out)",
    )
    .option('--tokenizer <byte|gpt2|path>', "tokenizer (default: the run's, else the model folder's tokenizer.json)")
    .option('--seq-len <n>', "tokens per sequence (default: the run's)", positiveInteger)
    .option('--batch-size <n>', "sequences per batch (default: the run's)", positiveInteger)
    .option('--max-batches <n>', 'evaluate only the first n batches', positiveInteger)
    .addOption(new Option('--backend <name>', 'compute backend').choices([...BACKEND_NAMES]).default('cpu'))
    .option('--json', 'print the result as JSON')
    .action(async (checkpoint: string, flags: EvalFlags) => {
      const report = await runEval(checkpoint, flags, io);
      io.stdout(
        flags.json
          ? `${JSON.stringify(report, null, 2)}\n`
          : `${report.checkpoint}\n  evaluated   ${report.evaluated}\n  loss ${report.loss.toFixed(4)}, perplexity ${report.perplexity.toFixed(3)} over ${report.tokens} tokens (${report.batches} batches)\n`,
      );
    });
}

export async function runEval(checkpointPath: string, flags: EvalFlags, io?: CliIO): Promise<EvalReport> {
  const checkpoint = await resolveModelFolder(checkpointPath);
  const saved = await savedSettings(checkpoint);
  const backend = await selectBackend(flags.backend);
  const tokenizer = await loadTokenizer(await chooseTokenizer(flags.tokenizer, saved.tokenizer, checkpoint));
  const { model } = await loadTrainedModel(checkpoint, backend, saved);
  let dataset: TokenDataset | undefined;
  try {
    checkTokenizerFits(tokenizer, model.config, checkpoint);
    const bad = await firstNonFinite(model.namedParameters());
    if (bad)
      throw new Error(`${checkpoint}: the weight ${bad.name} holds ${bad.value} (not finite); nothing to evaluate`);
    const source = evalSource(flags, saved, checkpoint);
    dataset = await TokenDataset.open({ ...source.options, tokenizer, shuffleBuffer: 0, epochs: 1 });
    const show = io?.interactive ? batchCounter(io, source.description) : undefined;
    const result = await evaluate(model, source.batches(dataset), {
      ...(flags.maxBatches ? { maxBatches: flags.maxBatches } : {}),
      ...(show ? { onBatch: show.update } : {}),
    }).finally(() => show?.done());
    if (!Number.isFinite(result.loss)) {
      throw new Error(`${checkpoint}: the loss on ${source.description} is ${result.loss} (not finite)`);
    }
    return { checkpoint, data: source.options.path, split: source.split, evaluated: source.description, ...result };
  } finally {
    model.dispose();
    await dataset?.close();
  }
}

interface EvalSource {
  split: EvalReport['split'];
  description: string;
  options: { path: string; seqLen: number; batchSize: number; validationSequences: number };
  batches: (dataset: TokenDataset) => AsyncIterable<TokenBatch>;
}

/** --data as given, else the run's validation split (or, when it held none out, its training data). */
function evalSource(flags: EvalFlags, saved: Partial<RunSettings>, checkpoint: string): EvalSource {
  const path = flags.data ?? saved.data;
  if (!path) throw new Error(`--data is required: ${checkpoint} does not record the data it was trained on`);
  const seqLen = flags.seqLen ?? saved.seqLen ?? 64;
  const batchSize = flags.batchSize ?? saved.batchSize ?? 8;
  const heldOut = (saved.evalEvery ?? 0) > 0 ? (saved.evalBatches ?? 0) * (saved.batchSize ?? 0) : 0;
  if (flags.data === undefined && heldOut > 0) {
    return {
      split: 'validation',
      description: `the validation split of ${path}: its first ${heldOut} sequences of ${seqLen} tokens, which training held out and reported on`,
      options: { path, seqLen, batchSize, validationSequences: heldOut },
      batches: (dataset) => dataset.validationBatches(batchSize),
    };
  }
  const what =
    flags.data === undefined ? `the run's training data ${path} (the run held out no validation split)` : path;
  return {
    split: 'all',
    description: `${what}, one pass in order`,
    options: { path, seqLen, batchSize, validationSequences: 0 },
    batches: allBatches,
  };
}

async function* allBatches(dataset: TokenDataset): AsyncGenerator<TokenBatch> {
  for (let batch = await dataset.nextBatch(); batch; batch = await dataset.nextBatch()) yield batch;
}

/** A one-line counter on the terminal, overwritten in place and cleared at the end. */
function batchCounter(io: CliIO, what: string) {
  return {
    update: ({ batches, tokens }: { batches: number; tokens: number }) =>
      io.stderr(`\revaluating ${what}: ${batches} batches, ${tokens} tokens`),
    done: () => io.stderr('\r\x1b[2K'),
  };
}
