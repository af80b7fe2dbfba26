/**
 * What --data, --format, --text-field, --eval-data and --epochs name: packed text (plain text or
 * JSONL with a text field, the pretraining stream) or instruction data (chat, prompt-completion,
 * Alpaca JSONL), padded per example with the loss on responses only.
 */
import { type BatchSource, InstructionDataset, type TokenBatch, TokenDataset, type Tokenizer } from '@galore-ts/core';
import type { RunSettings } from '../commands/train-settings.js';

export const DATA_FORMATS = ['text', 'chat', 'prompt-completion', 'alpaca'] as const;
export type DataFormatName = (typeof DATA_FORMATS)[number];

export interface TrainingData {
  data: BatchSource;
  /** A fresh pass over the validation batches, when evaluating. */
  validation?: () => Iterable<TokenBatch> | AsyncIterable<TokenBatch>;
  /** Optimizer steps in --epochs passes (instruction data only). */
  epochSteps?: number;
  /** Closes the files the data sets hold open. */
  close(): Promise<void>;
}

export async function openTrainingData(
  settings: RunSettings,
  tokenizer: Tokenizer,
  evaluating: boolean,
): Promise<TrainingData> {
  const format = settings.format ?? 'text';
  if (format === 'text') {
    if (settings.epochs !== undefined)
      throw new Error('--epochs applies to --format chat, prompt-completion or alpaca');
    return openPackedText(settings, tokenizer, evaluating);
  }
  const options = {
    format,
    batchSize: settings.batchSize,
    // A row holds seqLen inputs and their targets, so seqLen + 1 tokens.
    maxLength: settings.seqLen + 1,
    epochs: settings.epochs ?? 1,
    seed: settings.seed,
  };
  const data = await InstructionDataset.fromFile(settings.data, tokenizer, options);
  const result: TrainingData = {
    data,
    epochSteps: Math.ceil(data.size / (settings.batchSize * settings.gradAccum)) * options.epochs,
    close: async () => {},
  };
  if (evaluating && settings.evalData) {
    const held = await InstructionDataset.fromFile(settings.evalData, tokenizer, { ...options, shuffle: false });
    result.validation = () => held.batches();
  }
  return result;
}

async function openPackedText(settings: RunSettings, tokenizer: Tokenizer, evaluating: boolean): Promise<TrainingData> {
  const open = (path: string, validationSequences: number) =>
    TokenDataset.open({
      path,
      tokenizer,
      seqLen: settings.seqLen,
      batchSize: settings.batchSize,
      seed: settings.seed,
      validationSequences,
      ...(settings.textField ? { textField: settings.textField } : {}),
    });
  const held = evaluating ? settings.evalBatches * settings.batchSize : 0;
  // Without --eval-data, validation sequences are held out of the training data itself.
  const data = await open(settings.data, settings.evalData ? 0 : held);
  if (!evaluating) return { data, close: () => data.close() };
  const source = settings.evalData ? await open(settings.evalData, held) : data;
  const close = async () => {
    await data.close();
    if (source !== data) await source.close();
  };
  return { data, validation: () => source.validationBatches(settings.batchSize), close };
}
