/** `galore-ts eval`: perplexity of a checkpoint on a dataset. */

import { evaluate, loadTokenizer, TokenDataset } from '@galore-ts/core';
import { Command, Option } from 'commander';
import type { CliIO } from '../io.js';
import { positiveInteger } from '../parse.js';
import { BACKEND_NAMES, selectBackend } from '../setup/backend.js';
import { loadTrainedModel } from '../setup/method.js';
import { resolveModelFolder, savedSettings } from './saved-settings.js';

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
  loss: number;
  perplexity: number;
  tokens: number;
  batches: number;
}

export function evalCommand(io: CliIO): Command {
  return new Command('eval')
    .description('perplexity of a checkpoint on a dataset (read in order, one pass)')
    .argument(
      '<checkpoint>',
      'a checkpoint folder, a run folder (its latest checkpoint), or a Hugging Face model folder',
    )
    .option('--data <path>', "text/JSONL file or folder (default: the run's training data)")
    .option('--tokenizer <byte|gpt2|path>', "tokenizer (default: the run's)")
    .option('--seq-len <n>', "tokens per sequence (default: the run's)", positiveInteger)
    .option('--batch-size <n>', "sequences per batch (default: the run's)", positiveInteger)
    .option(
      '--max-batches <n>',
      'evaluate only the first n batches (the run held out its first --eval-batches)',
      positiveInteger,
    )
    .addOption(new Option('--backend <name>', 'compute backend').choices([...BACKEND_NAMES]).default('cpu'))
    .option('--json', 'print the result as JSON')
    .action(async (checkpoint: string, flags: EvalFlags) => {
      const report = await runEval(checkpoint, flags);
      io.stdout(
        flags.json
          ? `${JSON.stringify(report, null, 2)}\n`
          : `${report.checkpoint}\n  loss ${report.loss.toFixed(4)}, perplexity ${report.perplexity.toFixed(3)} over ${report.tokens} tokens (${report.batches} batches)\n`,
      );
    });
}

export async function runEval(checkpointPath: string, flags: EvalFlags): Promise<EvalReport> {
  const checkpoint = await resolveModelFolder(checkpointPath);
  const saved = await savedSettings(checkpoint);
  const data = flags.data ?? saved.data;
  if (!data) throw new Error(`--data is required: ${checkpoint} does not record the data it was trained on`);
  const backend = await selectBackend(flags.backend);
  const tokenizer = await loadTokenizer(flags.tokenizer ?? saved.tokenizer ?? 'byte');
  const seqLen = flags.seqLen ?? saved.seqLen ?? 64;
  const batchSize = flags.batchSize ?? saved.batchSize ?? 8;
  const { model } = await loadTrainedModel(checkpoint, backend, saved);
  const dataset = await TokenDataset.open({ path: data, tokenizer, seqLen, batchSize, shuffleBuffer: 0, epochs: 1 });
  try {
    const result = await evaluate(model, batchesOf(dataset), flags.maxBatches ? { maxBatches: flags.maxBatches } : {});
    return { checkpoint, data, ...result };
  } finally {
    model.dispose();
    await dataset.close();
  }
}

async function* batchesOf(dataset: TokenDataset) {
  for (let batch = await dataset.nextBatch(); batch; batch = await dataset.nextBatch()) yield batch;
}
