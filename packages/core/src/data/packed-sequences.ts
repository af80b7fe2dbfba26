import type { DataFile } from './sources/files.js';
import { FILE_START, FileSegmentReader, type SegmentReaderOptions } from './sources/segment-reader.js';
import { TokenQueue } from './token-queue.js';
import type { Tokenizer } from './tokenizers/tokenizer.js';

/** Where one pass over the files stands: the next segment to read and the tokens not yet packed. */
export interface PassPosition {
  readonly fileIndex: number;
  readonly byteOffset: number;
  readonly line: number;
  /** Index within the pass of the next sequence to be cut. */
  readonly sequenceIndex: number;
  /** Tokens read but not yet part of a sequence. */
  readonly carry: Int32Array;
}

export const PASS_START: PassPosition = { fileIndex: 0, ...FILE_START, sequenceIndex: 0, carry: new Int32Array(0) };

export interface PackedSequence {
  readonly tokens: Int32Array;
  /** 0-based position of the sequence within the pass. */
  readonly index: number;
}

/**
 * One pass over a dataset's files as a stream of sequences of exactly `length` tokens: documents
 * are tokenised in file order, EOS is appended after each document when the tokenizer has one, and
 * the token stream is cut into consecutive, non-overlapping windows, with no padding. Tokens left
 * over at the end of the pass (fewer than `length`) are dropped.
 */
export class PackedSequenceStream {
  private readonly queue: TokenQueue;
  private fileIndex: number;
  private sequenceIndex: number;
  private reader: FileSegmentReader | undefined;
  private pendingStart: { byteOffset: number; line: number };

  constructor(
    private readonly files: readonly DataFile[],
    private readonly tokenizer: Tokenizer,
    readonly length: number,
    private readonly options: SegmentReaderOptions,
    start: PassPosition = PASS_START,
  ) {
    this.fileIndex = start.fileIndex;
    this.sequenceIndex = start.sequenceIndex;
    this.queue = new TokenQueue(start.carry);
    this.pendingStart = { byteOffset: start.byteOffset, line: start.line };
  }

  /** Sequences cut so far in this pass (including held-out ones). */
  get sequencesCut(): number {
    return this.sequenceIndex;
  }

  position(): PassPosition {
    const file = this.reader?.position ?? this.pendingStart;
    return {
      fileIndex: this.fileIndex,
      byteOffset: file.byteOffset,
      line: file.line,
      sequenceIndex: this.sequenceIndex,
      carry: this.queue.toArray(),
    };
  }

  /** The next sequence, or null at the end of the pass. */
  async next(): Promise<PackedSequence | null> {
    while (this.queue.length < this.length) {
      if (!(await this.readSegment())) return null;
    }
    return { tokens: this.queue.shift(this.length), index: this.sequenceIndex++ };
  }

  async close(): Promise<void> {
    await this.reader?.close();
    this.reader = undefined;
  }

  /** Tokenises the next segment into the queue; false when every file is exhausted. */
  private async readSegment(): Promise<boolean> {
    for (;;) {
      const file = this.files[this.fileIndex];
      if (file === undefined) return false;
      this.reader ??= new FileSegmentReader(file, this.pendingStart, this.options);
      const segment = await this.reader.next();
      if (segment !== null) {
        this.queue.pushAll(this.tokenizer.encode(segment.text));
        const eos = this.tokenizer.eosId;
        if (segment.endOfDocument && eos !== undefined) this.queue.push(eos);
        return true;
      }
      await this.reader.close();
      this.reader = undefined;
      this.fileIndex++;
      this.pendingStart = FILE_START;
    }
  }
}
