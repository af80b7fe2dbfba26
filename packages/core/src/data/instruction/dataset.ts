/**
 * An instruction-tuning data set held in memory (fine-tuning sets are small next to pretraining
 * corpora): JSONL records read in one format, encoded once with response-only labels, shuffled
 * per epoch from a seed, and served as padded batches in the Trainer's row layout: each row is an
 * example's tokens followed by padding to the longest row of the batch, with `labels` (-100 on
 * prompt and padding) and an `attentionMask` (0 on padding). The position (epoch, index) is the
 * whole resumable state.
 */
import { readFile } from 'node:fs/promises';
import { IGNORE_INDEX } from '../../models/llama/loss.js';
import { Xoshiro128 } from '../prng.js';
import type { TokenBatch } from '../token-dataset.js';
import { type EncodedExample, encodeExample, type InstructionTokenizer } from './encode.js';
import { type InstructionFormat, type RecordOptions, readRecord } from './records.js';

export interface InstructionDatasetOptions extends RecordOptions {
  format: InstructionFormat;
  /** Rows per batch. */
  batchSize: number;
  /** Longest example in tokens; longer ones are cut at the end. */
  maxLength: number;
  /** Passes over the data before nextBatch() returns null (default 1; Infinity to cycle). */
  epochs?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  seed?: number;
  /** Id written into padding (default the tokenizer's pad, else EOS, else 0); never attended nor scored. */
  padId?: number;
}

export interface InstructionDatasetState {
  epoch: number;
  index: number;
}

export interface InstructionTokenizerWithPad extends InstructionTokenizer {
  readonly padId?: number;
}

export class InstructionDataset {
  private epoch = 0;
  private index = 0;
  private order: number[] = [];

  private constructor(
    readonly examples: readonly EncodedExample[],
    /** Records dropped because no response token survived truncation. */
    readonly skipped: number,
    private readonly options: Required<Pick<InstructionDatasetOptions, 'batchSize' | 'epochs' | 'shuffle' | 'seed'>> & {
      padId: number;
    },
  ) {
    this.order = this.epochOrder(0);
  }

  /** Reads a JSONL file of records in `options.format`. */
  static async fromFile(
    path: string,
    tokenizer: InstructionTokenizerWithPad,
    options: InstructionDatasetOptions,
  ): Promise<InstructionDataset> {
    const lines = (await readFile(path, 'utf8')).split('\n');
    const records = lines.flatMap((line, i) => {
      if (line.trim() === '') return [];
      try {
        return [{ record: JSON.parse(line) as unknown, where: `${path}:${i + 1}` }];
      } catch (error) {
        throw new Error(`${path}:${i + 1}: not valid JSON (${(error as Error).message})`);
      }
    });
    return InstructionDataset.fromRecords(records, tokenizer, options);
  }

  static fromRecords(
    records: readonly { record: unknown; where: string }[],
    tokenizer: InstructionTokenizerWithPad,
    options: InstructionDatasetOptions,
  ): InstructionDataset {
    const { batchSize, maxLength } = options;
    if (!(Number.isInteger(batchSize) && batchSize > 0))
      throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    if (!(Number.isInteger(maxLength) && maxLength >= 2))
      throw new RangeError(`maxLength must be an integer >= 2, got ${maxLength}`);
    const epochs = options.epochs ?? 1;
    if (!(epochs > 0)) throw new RangeError(`epochs must be positive, got ${epochs}`);
    const examples: EncodedExample[] = [];
    let skipped = 0;
    for (const { record, where } of records) {
      const encoded = encodeExample(readRecord(record, options.format, where, options), tokenizer);
      const ids = encoded.ids.slice(0, maxLength);
      const labels = encoded.labels.slice(0, maxLength);
      // Position 0 is never a target (nothing precedes it), so it cannot count as trained.
      if (ids.length < 2 || labels.slice(1).every((l) => l === IGNORE_INDEX)) skipped++;
      else examples.push({ ids, labels });
    }
    if (examples.length === 0) throw new Error(`no example has a response token to train on (${skipped} skipped)`);
    const padId = options.padId ?? tokenizer.padId ?? tokenizer.eosId ?? 0;
    const settings = { batchSize, epochs, shuffle: options.shuffle ?? true, seed: options.seed ?? 0, padId };
    return new InstructionDataset(examples, skipped, settings);
  }

  get size(): number {
    return this.examples.length;
  }

  /** The next batch, or null after the last epoch. */
  async nextBatch(): Promise<TokenBatch | null> {
    if (this.index >= this.order.length) {
      if (this.epoch + 1 >= this.options.epochs) return null;
      this.epoch++;
      this.index = 0;
      this.order = this.epochOrder(this.epoch);
    }
    const picked = this.order.slice(this.index, this.index + this.options.batchSize);
    this.index += picked.length;
    return padBatch(
      picked.map((i) => this.examples[i]!),
      this.options.padId,
    );
  }

  /** Every example once, in file order, as batches (for evaluation). */
  *batches(): Generator<TokenBatch> {
    for (let start = 0; start < this.examples.length; start += this.options.batchSize) {
      yield padBatch(this.examples.slice(start, start + this.options.batchSize), this.options.padId);
    }
  }

  state(): InstructionDatasetState {
    return { epoch: this.epoch, index: this.index };
  }

  async restore(state: unknown): Promise<void> {
    const { epoch, index } = (state ?? {}) as Partial<InstructionDatasetState>;
    if (!Number.isInteger(epoch) || !Number.isInteger(index) || epoch! < 0 || index! < 0 || index! > this.size) {
      throw new Error(
        `InstructionDataset.restore: expected {epoch, index} within the data, got ${JSON.stringify(state)}`,
      );
    }
    this.epoch = epoch!;
    this.index = index!;
    this.order = this.epochOrder(this.epoch);
  }

  /** A permutation per epoch, drawn from (seed, epoch) alone so a restore needs no PRNG state. */
  private epochOrder(epoch: number): number[] {
    const order = this.examples.map((_, i) => i);
    if (!this.options.shuffle) return order;
    const rng = Xoshiro128.fromSeed(this.options.seed * 65536 + epoch);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.nextUint32() % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  }
}

/** Rows padded to the longest example: tokens, labels (-100 on padding) and the attention mask. */
export function padBatch(examples: readonly EncodedExample[], padId: number): TokenBatch {
  const width = Math.max(...examples.map((e) => e.ids.length));
  const rows = examples.length;
  const tokens = new Int32Array(rows * width).fill(padId);
  const labels = new Int32Array(rows * width).fill(IGNORE_INDEX);
  const attentionMask = new Int32Array(rows * width);
  for (const [r, e] of examples.entries()) {
    tokens.set(e.ids, r * width);
    labels.set(e.labels, r * width);
    attentionMask.fill(1, r * width, r * width + e.ids.length);
  }
  return { tokens, shape: [rows, width], labels, attentionMask };
}
