import { ByteQueue } from '../byte-queue.js';
import { readBytesFrom } from './byte-stream.js';
import type { DataFile } from './files.js';

/** A piece of text to tokenise; `endOfDocument` marks the last piece of a document. */
export interface TextSegment {
  readonly text: string;
  readonly endOfDocument: boolean;
}

/** Where the next segment of a file starts: a byte offset (in decompressed data) and a 1-based line. */
export interface FilePosition {
  readonly byteOffset: number;
  readonly line: number;
}

export const FILE_START: FilePosition = { byteOffset: 0, line: 1 };

export interface SegmentReaderOptions {
  /** JSONL field that holds the document text. */
  readonly textField: string;
  /** Largest piece of a text file tokenised at once. */
  readonly chunkBytes: number;
}

const NEWLINE = 0x0a;

/**
 * Streams one data file as text segments. A text file is one document, read in pieces of at most
 * `chunkBytes` bytes cut after the last newline in the piece (or at a UTF-8 character boundary when
 * a piece has no newline), so no huge file is held at once. A JSONL file gives one document per
 * non-blank line, from its `textField`. Segment boundaries depend only on the file's bytes, so a
 * reader started at a saved position yields exactly what the first reader would have.
 */
export class FileSegmentReader {
  private readonly queue = new ByteQueue();
  private readonly chunks: AsyncGenerator<Buffer>;
  private ended = false;
  private current: FilePosition;

  constructor(
    readonly file: DataFile,
    start: FilePosition,
    private readonly options: SegmentReaderOptions,
  ) {
    this.current = start;
    this.chunks = readBytesFrom(file, start.byteOffset);
  }

  /** The position of the next unread segment. */
  get position(): FilePosition {
    return this.current;
  }

  /** The next segment, or null when the file is exhausted. */
  async next(): Promise<TextSegment | null> {
    return this.file.format === 'text' ? this.nextTextPiece() : this.nextJsonDocument();
  }

  async close(): Promise<void> {
    await this.chunks.return(undefined);
  }

  /** Reads until at least `bytes` are queued or the file ends. */
  private async fill(bytes: number): Promise<void> {
    while (!this.ended && this.queue.length < bytes) {
      const { value, done } = await this.chunks.next();
      if (done) this.ended = true;
      else this.queue.push(value);
    }
  }

  private async nextTextPiece(): Promise<TextSegment | null> {
    const { chunkBytes } = this.options;
    // One byte past a full piece tells whether this piece is the document's last.
    await this.fill(chunkBytes + 1);
    const available = this.queue.length;
    if (available === 0) return null;
    if (this.ended && available <= chunkBytes) return { text: this.take(available, 0), endOfDocument: true };
    const afterNewline = this.queue.lastIndexOf(NEWLINE, chunkBytes) + 1;
    const cut = afterNewline > 0 ? afterNewline : this.characterBoundaryAtOrBefore(chunkBytes);
    return { text: this.take(cut, 0), endOfDocument: false };
  }

  /** The largest index <= n that does not split a UTF-8 sequence (continuation bytes are 10xxxxxx). */
  private characterBoundaryAtOrBefore(n: number): number {
    let cut = n;
    while (cut > n - 4 && cut > 0 && (this.queue.at(cut) & 0xc0) === 0x80) cut--;
    return cut > 0 ? cut : n;
  }

  private async nextJsonDocument(): Promise<TextSegment | null> {
    for (;;) {
      let newline = this.queue.indexOf(NEWLINE);
      while (newline < 0 && !this.ended) {
        const scanned = this.queue.length;
        await this.fill(scanned + 1);
        newline = this.queue.indexOf(NEWLINE, scanned);
      }
      if (newline < 0 && this.queue.length === 0) return null;
      const lineNumber = this.current.line;
      const line = newline < 0 ? this.take(this.queue.length, 1) : this.take(newline + 1, 1);
      if (line.trim() === '') continue;
      return { text: this.documentText(line, lineNumber), endOfDocument: true };
    }
  }

  private documentText(line: string, lineNumber: number): string {
    const where = `${this.file.path}:${lineNumber}`;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new Error(`${where}: not valid JSON (${(error as Error).message})`);
    }
    const field = this.options.textField;
    const text =
      typeof record === 'object' && record !== null && !Array.isArray(record)
        ? (record as Record<string, unknown>)[field]
        : undefined;
    if (typeof text !== 'string') {
      const found = text === undefined ? `no "${field}" field` : `"${field}" is ${JSON.stringify(text)?.slice(0, 40)}`;
      throw new Error(`${where}: expected a JSON object with a string field "${field}", found ${found}`);
    }
    return text;
  }

  private take(bytes: number, lines: number): string {
    this.current = { byteOffset: this.current.byteOffset + bytes, line: this.current.line + lines };
    return this.queue.shiftText(bytes);
  }
}
