import { PASS_START, PackedSequenceStream, type PassPosition } from './packed-sequences.js';
import { type PrngState, Xoshiro128 } from './prng.js';
import { ShuffleBuffer } from './shuffle-buffer.js';
import { type DataFile, listDataFiles } from './sources/files.js';
import type { SegmentReaderOptions } from './sources/segment-reader.js';
import { decodeInt32, encodeInt32 } from './state-codec.js';
import type { Tokenizer } from './tokenizers/tokenizer.js';

export interface TokenDatasetOptions {
  /** A data file (.txt, .jsonl, .json, .json.gz, .jsonl.gz, .txt.gz) or a folder of them. */
  readonly path: string;
  readonly tokenizer: Tokenizer;
  /** Model context length; each sequence holds seqLen + 1 tokens (inputs and shifted labels). */
  readonly seqLen: number;
  readonly batchSize: number;
  /** Seeds the shuffle buffer. Default 0. */
  readonly seed?: number;
  /** Sequences held for shuffling; 0 or 1 keeps file order. Default 256. */
  readonly shuffleBuffer?: number;
  /** The first N sequences of the data are held out for validation and never trained on. Default 0. */
  readonly validationSequences?: number;
  /** Passes over the data before nextBatch() returns null. Default: endless. */
  readonly epochs?: number;
  /** JSONL field holding the text. Default "text". */
  readonly textField?: string;
  /** Largest piece of a .txt file tokenised at once. Default 64 KiB. */
  readonly chunkBytes?: number;
}

/** A batch of token ids, row-major [batchSize, seqLen + 1]. */
export interface TokenBatch {
  readonly tokens: Int32Array;
  readonly shape: readonly [number, number];
  /**
   * Targets in the same [rows, seqLen + 1] layout (the target of input p is labels[p + 1]); -100 is
   * not scored. Absent: every next token is a target (packed pretraining rows).
   */
  readonly labels?: Int32Array;
  /** 1 for real tokens, 0 for padding, in the same layout; absent: no padding. */
  readonly attentionMask?: Int32Array;
}

/** Everything that decides which batches come: a restored state must match it. */
interface DatasetConfig {
  readonly files: readonly string[];
  readonly tokenizer: string;
  readonly seqLen: number;
  readonly seed: number;
  readonly shuffleBuffer: number;
  readonly validationSequences: number;
  readonly textField: string;
  readonly chunkBytes: number;
}

/** JSON-serialisable position of a TokenDataset (see state() / restore()). */
export interface TokenDatasetState {
  readonly version: 1;
  readonly config: DatasetConfig;
  readonly epoch: number;
  readonly fileIndex: number;
  readonly byteOffset: number;
  readonly line: number;
  readonly sequenceIndex: number;
  /** base64 of little-endian int32: tokens read but not yet packed into a sequence. */
  readonly carry: string;
  readonly rng: PrngState;
  /** base64 of little-endian int32: the shuffle buffer's sequences, concatenated. */
  readonly shuffleBuffer: string;
  /** True once the last epoch has been read and only the shuffle buffer remains. */
  readonly exhausted: boolean;
}

/**
 * Streams training batches from text on disk: documents are tokenised and packed into sequences of
 * seqLen + 1 tokens with no padding (see PackedSequenceStream), shuffled through a seeded buffer,
 * and grouped into batches. Each epoch re-reads the files in name order.
 *
 * Validation split: the first `validationSequences` sequences of the packed stream are held out.
 * They are skipped in every training epoch and served by validationBatches(), in order. This is
 * deterministic, disjoint from training, and works for a single text file as well as for shards.
 *
 * state() captures the exact position (file, byte and line offset, unpacked tokens, shuffle buffer,
 * PRNG, epoch); a dataset opened with the same options and given that state by restore() yields the
 * same batches the original would have.
 */
export class TokenDataset {
  private readonly sequenceLength: number;
  private stream: PackedSequenceStream;
  private rng: Xoshiro128;
  private shuffle: ShuffleBuffer<Int32Array>;
  private epochIndex = 0;
  private exhausted = false;
  private busy = false;

  private constructor(
    private readonly files: readonly DataFile[],
    private readonly options: TokenDatasetOptions,
    private readonly config: DatasetConfig,
  ) {
    this.sequenceLength = config.seqLen + 1;
    this.rng = Xoshiro128.fromSeed(config.seed);
    this.shuffle = new ShuffleBuffer(config.shuffleBuffer, this.rng);
    this.stream = this.newPass(PASS_START);
  }

  static async open(options: TokenDatasetOptions): Promise<TokenDataset> {
    const config = checkedConfig(options);
    const files = await listDataFiles(options.path);
    return new TokenDataset(files, options, { ...config, files: files.map((f) => f.name) });
  }

  /** The epoch the reader is in (0-based). */
  get epoch(): number {
    return this.epochIndex;
  }

  get batchSize(): number {
    return this.options.batchSize;
  }

  get seqLen(): number {
    return this.config.seqLen;
  }

  /** The next training batch, or null once `epochs` passes have been served (a final partial batch is dropped). */
  async nextBatch(): Promise<TokenBatch | null> {
    return this.exclusive(async () => {
      const { batchSize } = this.options;
      const tokens = new Int32Array(batchSize * this.sequenceLength);
      for (let row = 0; row < batchSize; row++) {
        const sequence = await this.nextShuffledSequence();
        if (sequence === null) return null;
        tokens.set(sequence, row * this.sequenceLength);
      }
      return { tokens, shape: [batchSize, this.sequenceLength] as const };
    });
  }

  /**
   * The held-out validation sequences in order, in batches of `batchSize` rows (the last may be
   * smaller). Reads the data independently of training; each call starts from the beginning.
   */
  async *validationBatches(batchSize = this.options.batchSize): AsyncGenerator<TokenBatch> {
    checkPositiveInteger(batchSize, 'batchSize');
    const total = this.config.validationSequences;
    const stream = this.newPass(PASS_START);
    try {
      for (let served = 0; served < total; ) {
        const rows = Math.min(batchSize, total - served);
        const tokens = new Int32Array(rows * this.sequenceLength);
        for (let row = 0; row < rows; row++) {
          const sequence = await stream.next();
          if (sequence === null) throw this.tooSmallError(stream.sequencesCut);
          tokens.set(sequence.tokens, row * this.sequenceLength);
        }
        served += rows;
        yield { tokens, shape: [rows, this.sequenceLength] as const };
      }
    } finally {
      await stream.close();
    }
  }

  /** The reader's exact position, as plain JSON. */
  state(): TokenDatasetState {
    if (this.busy) throw new Error('TokenDataset.state() called while nextBatch() is running; await it first');
    const position = this.stream.position();
    const buffered = this.shuffle.contents();
    const flat = new Int32Array(buffered.length * this.sequenceLength);
    for (const [i, sequence] of buffered.entries()) flat.set(sequence, i * this.sequenceLength);
    return {
      version: 1,
      config: this.config,
      epoch: this.epochIndex,
      fileIndex: position.fileIndex,
      byteOffset: position.byteOffset,
      line: position.line,
      sequenceIndex: position.sequenceIndex,
      carry: encodeInt32(position.carry),
      rng: this.rng.state(),
      shuffleBuffer: encodeInt32(flat),
      exhausted: this.exhausted,
    };
  }

  /** Moves the reader to a position saved by state() of a dataset opened with the same options. */
  async restore(state: TokenDatasetState): Promise<void> {
    if (this.busy) throw new Error('TokenDataset.restore() called while nextBatch() is running; await it first');
    if (typeof state !== 'object' || state === null || state.version !== 1) {
      throw new TypeError(
        `data loader state must be an object with version 1, got ${JSON.stringify((state as { version?: unknown } | null)?.version)}`,
      );
    }
    this.checkSameConfig(state.config);
    for (const key of ['epoch', 'fileIndex', 'byteOffset', 'line', 'sequenceIndex'] as const) {
      if (!Number.isSafeInteger(state[key]) || state[key] < 0)
        throw new TypeError(
          `data loader state: ${key} must be a non-negative integer, got ${JSON.stringify(state[key])}`,
        );
    }
    if (state.fileIndex > this.files.length)
      throw new RangeError(`data loader state: fileIndex ${state.fileIndex} is beyond the ${this.files.length} files`);
    const flat = decodeInt32(state.shuffleBuffer, 'data loader state: shuffleBuffer');
    if (flat.length % this.sequenceLength !== 0) {
      throw new RangeError(
        `data loader state: shuffleBuffer holds ${flat.length} tokens, not a whole number of ${this.sequenceLength}-token sequences`,
      );
    }
    const sequences = Array.from({ length: flat.length / this.sequenceLength }, (_, i) =>
      flat.slice(i * this.sequenceLength, (i + 1) * this.sequenceLength),
    );
    const rng = Xoshiro128.fromState(state.rng);
    const shuffle = new ShuffleBuffer(this.config.shuffleBuffer, rng, sequences);
    const carry = decodeInt32(state.carry, 'data loader state: carry');
    await this.stream.close();
    this.rng = rng;
    this.shuffle = shuffle;
    this.epochIndex = state.epoch;
    this.exhausted = state.exhausted === true;
    const { fileIndex, byteOffset, line, sequenceIndex } = state;
    this.stream = this.newPass({ fileIndex, byteOffset, line, sequenceIndex, carry });
  }

  async close(): Promise<void> {
    await this.stream.close();
  }

  private newPass(start: PassPosition): PackedSequenceStream {
    const reader: SegmentReaderOptions = { textField: this.config.textField, chunkBytes: this.config.chunkBytes };
    return new PackedSequenceStream(this.files, this.options.tokenizer, this.sequenceLength, reader, start);
  }

  private async nextShuffledSequence(): Promise<Int32Array | null> {
    while (!this.exhausted) {
      const sequence = await this.nextTrainingSequence();
      if (sequence === null) {
        this.exhausted = true;
        break;
      }
      const out = this.shuffle.offer(sequence);
      if (out !== undefined) return out;
    }
    return this.shuffle.take() ?? null;
  }

  /** The next training sequence in file order, moving to the next epoch as needed; null after the last. */
  private async nextTrainingSequence(): Promise<Int32Array | null> {
    const epochs = this.options.epochs ?? Number.POSITIVE_INFINITY;
    for (;;) {
      if (this.epochIndex >= epochs) return null;
      const sequence = await this.stream.next();
      if (sequence === null) {
        if (this.stream.sequencesCut <= this.config.validationSequences)
          throw this.tooSmallError(this.stream.sequencesCut);
        await this.stream.close();
        this.epochIndex++;
        this.stream = this.newPass(PASS_START);
        continue;
      }
      if (sequence.index >= this.config.validationSequences) return sequence.tokens;
    }
  }

  private tooSmallError(perEpoch: number): Error {
    const { path } = this.options;
    const { seqLen, validationSequences } = this.config;
    return new Error(
      `dataset ${JSON.stringify(path)} yields ${perEpoch} sequences of ${seqLen + 1} tokens per epoch, ` +
        `but ${validationSequences} are held out for validation and training needs at least one more; ` +
        'add data, or lower seqLen or validationSequences',
    );
  }

  private checkSameConfig(saved: unknown): void {
    const mismatches: string[] = [];
    const savedConfig = (saved ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(this.config)) {
      if (JSON.stringify(savedConfig[key]) !== JSON.stringify(value)) {
        mismatches.push(`${key}: state has ${short(savedConfig[key])}, this dataset has ${short(value)}`);
      }
    }
    if (mismatches.length > 0) {
      throw new Error(`data loader state was saved for a different dataset or settings; ${mismatches.join('; ')}`);
    }
  }

  /** Runs one call at a time: state() between overlapping nextBatch() calls would be torn. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new Error('TokenDataset.nextBatch() called again before the previous call finished');
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }
}

function checkedConfig(options: TokenDatasetOptions): Omit<DatasetConfig, 'files'> {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('TokenDataset.open: expected an options object');
  if (typeof options.path !== 'string' || options.path === '')
    throw new TypeError(`TokenDataset.open: path must be a non-empty string, got ${JSON.stringify(options.path)}`);
  const tokenizer = options.tokenizer;
  if (typeof tokenizer?.encode !== 'function' || typeof tokenizer.name !== 'string') {
    throw new TypeError(
      'TokenDataset.open: tokenizer must implement Tokenizer (name, encode, decode); use loadTokenizer()',
    );
  }
  checkPositiveInteger(options.seqLen, 'seqLen');
  checkPositiveInteger(options.batchSize, 'batchSize');
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new RangeError(`TokenDataset.open: seed must be a non-negative integer, got ${seed}`);
  const shuffleBuffer = options.shuffleBuffer ?? 256;
  checkNonNegativeInteger(shuffleBuffer, 'shuffleBuffer');
  const validationSequences = options.validationSequences ?? 0;
  checkNonNegativeInteger(validationSequences, 'validationSequences');
  const epochs = options.epochs ?? Number.POSITIVE_INFINITY;
  if (epochs !== Number.POSITIVE_INFINITY) checkPositiveInteger(epochs, 'epochs');
  const textField = options.textField ?? 'text';
  if (typeof textField !== 'string' || textField === '')
    throw new TypeError(`TokenDataset.open: textField must be a non-empty string, got ${JSON.stringify(textField)}`);
  const chunkBytes = options.chunkBytes ?? 1 << 16;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 4)
    throw new RangeError(`TokenDataset.open: chunkBytes must be an integer >= 4, got ${chunkBytes}`);
  return {
    tokenizer: tokenizer.name,
    seqLen: options.seqLen,
    seed,
    shuffleBuffer,
    validationSequences,
    textField,
    chunkBytes,
  };
}

function checkPositiveInteger(value: unknown, name: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 1)
    throw new RangeError(`TokenDataset: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
}

function checkNonNegativeInteger(value: unknown, name: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new RangeError(`TokenDataset: ${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
