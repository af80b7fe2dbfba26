import {
  describeUnsupportedDType,
  isSafetensorsDType,
  type SafetensorsDType,
  safetensorsItemBytes,
  safetensorsOrder,
} from './safetensors-dtype.js';

/** One tensor as the header describes it; offsets are absolute positions in the file. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** [begin, end) relative to the start of the data buffer, as written in the header. */
  readonly dataOffsets: readonly [number, number];
  /** Absolute byte position of the first element in the file. */
  readonly fileOffset: number;
  readonly byteLength: number;
}

export interface SafetensorsHeader {
  /** Tensors in file order (by offset). */
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Length of the JSON header in bytes (the u64 at the start of the file). */
  readonly headerLength: number;
  /** Absolute byte position where the data buffer starts: 8 + headerLength. */
  readonly dataStart: number;
}

/** A malformed safetensors file or a bad argument to the writer; the message names the file and tensor. */
export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${tensor === undefined ? '' : `tensor ${JSON.stringify(tensor)}: `}${message}`);
    this.name = 'SafetensorsError';
  }
}

/** The reference implementation refuses headers above 100 MB; so do we, before allocating them. */
export const MAX_HEADER_LENGTH = 100_000_000;
export const METADATA_KEY = '__metadata__';

/** Reads the u64 header length at the start of the file and checks it against the file size. */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new SafetensorsError(
      file,
      `file is ${fileSize} bytes, too short for the 8-byte header length of a safetensors file`,
    );
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_LENGTH)) {
    throw new SafetensorsError(
      file,
      `header length ${length} exceeds the ${MAX_HEADER_LENGTH}-byte limit (not a safetensors file?)`,
    );
  }
  const n = Number(length);
  if (8 + n > fileSize) {
    throw new SafetensorsError(
      file,
      `header length ${n} goes beyond the end of the file (${fileSize} bytes; truncated or not a safetensors file)`,
    );
  }
  return n;
}

/**
 * Parses and validates the JSON header: UTF-8, a JSON object, string-to-string metadata, known
 * dtypes, integer shapes, byte ranges matching prod(shape) * itemsize, and ranges that tile the data
 * buffer exactly (no overlap, no gap, ending at the end of the file). The spec forbids duplicate
 * keys; JSON.parse keeps the last one silently, but the tensor it drops leaves a gap that the tiling
 * check reports.
 */
export function parseHeader(headerBytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const headerLength = headerBytes.byteLength;
  const dataStart = 8 + headerLength;
  const raw = parseJsonObject(headerBytes, file);
  let metadata: Record<string, string> = {};
  const entries: SafetensorsTensorInfo[] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, file);
    else entries.push(parseTensorInfo(name, value, dataStart, file));
  }
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  checkTiling(entries, fileSize - dataStart, file);
  return { tensors: new Map(entries.map((e) => [e.name, e])), metadata, headerLength, dataStart };
}

function parseJsonObject(bytes: Uint8Array, file: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SafetensorsError(file, 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    throw new SafetensorsError(file, `header must start with "{", found ${JSON.stringify(text.slice(0, 16))}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(file, `header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(value)) throw new SafetensorsError(file, 'header must be a JSON object');
  return value;
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(file, `${METADATA_KEY} must be an object of string values, got ${describe(value)}`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new SafetensorsError(
        file,
        `${METADATA_KEY}[${JSON.stringify(key)}] must be a string, got ${describe(item)}`,
      );
    }
  }
  return value as Record<string, string>;
}

function parseTensorInfo(name: string, value: unknown, dataStart: number, file: string): SafetensorsTensorInfo {
  const fail = (message: string) => new SafetensorsError(file, message, name);
  if (!isPlainObject(value)) throw fail(`expected {dtype, shape, data_offsets}, got ${describe(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isSafetensorsDType(dtype)) throw fail(describeUnsupportedDType(dtype));
  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInteger)) {
    throw fail(`shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeSafeInteger)) {
    throw fail(`data_offsets must be [begin, end] with non-negative integers, got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw fail(`data_offsets [${begin}, ${end}] end before they begin`);
  const expected = byteLengthOf(dtype, shape as number[]);
  if (expected === undefined) throw fail(`shape [${shape.join(', ')}] is too large`);
  if (end - begin !== expected) {
    throw fail(
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} with shape [${shape.join(', ')}] needs ${expected}`,
    );
  }
  return {
    name,
    dtype,
    shape: shape as number[],
    dataOffsets: [begin, end],
    fileOffset: dataStart + begin,
    byteLength: expected,
  };
}

/** prod(shape) * itemsize, or undefined if it exceeds what a double represents exactly. */
export function byteLengthOf(dtype: SafetensorsDType, shape: readonly number[]): number | undefined {
  let bytes = safetensorsItemBytes(dtype);
  for (const dim of shape) {
    bytes *= dim;
    if (!Number.isSafeInteger(bytes)) return undefined;
  }
  return bytes;
}

function checkTiling(entries: readonly SafetensorsTensorInfo[], bufferLength: number, file: string): void {
  let expectedBegin = 0;
  let previous: string | undefined;
  for (const entry of entries) {
    const [begin, end] = entry.dataOffsets;
    if (begin < expectedBegin) {
      throw new SafetensorsError(
        file,
        `data_offsets [${begin}, ${end}] overlap tensor ${JSON.stringify(previous)}, which ends at ${expectedBegin}`,
        entry.name,
      );
    }
    if (begin > expectedBegin) {
      const after = previous === undefined ? 'the start of the data buffer' : `tensor ${JSON.stringify(previous)}`;
      throw new SafetensorsError(
        file,
        `data_offsets [${begin}, ${end}] leave a gap of ${begin - expectedBegin} bytes after ${after}`,
        entry.name,
      );
    }
    if (end > bufferLength) {
      throw new SafetensorsError(
        file,
        `data ends at buffer offset ${end} but the file holds only ${bufferLength} data bytes (file truncated?)`,
        entry.name,
      );
    }
    expectedBegin = end;
    previous = entry.name;
  }
  if (expectedBegin !== bufferLength) {
    throw new SafetensorsError(
      file,
      `tensors cover ${expectedBegin} bytes of the ${bufferLength}-byte data buffer; the rest is not described by the header`,
    );
  }
}

/** A tensor to lay out: name, dtype, shape. */
export interface HeaderEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
}

export interface EncodedHeader<E extends HeaderEntry> {
  /** The 8-byte length prefix followed by the space-padded JSON header. */
  readonly bytes: Uint8Array;
  /** Entries in the order their data follows the header, with their byte ranges. */
  readonly layout: readonly { readonly entry: E; readonly begin: number; readonly end: number }[];
}

/**
 * Lays tensors out as the reference writer does: by dtype alignment descending, then by name; the
 * JSON header (metadata first) is padded with spaces to a multiple of 8 bytes so every tensor starts
 * aligned to its element size.
 */
export function encodeHeader<E extends HeaderEntry>(
  entries: readonly E[],
  metadata: Readonly<Record<string, string>> | undefined,
  file: string,
): EncodedHeader<E> {
  const sorted = [...entries].sort(
    (a, b) => safetensorsOrder(b.dtype) - safetensorsOrder(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const json: Record<string, unknown> = {};
  if (metadata !== undefined) json[METADATA_KEY] = checkedMetadata(metadata, file);
  const layout: { entry: E; begin: number; end: number }[] = [];
  let offset = 0;
  for (const entry of sorted) {
    checkEntry(entry, json, file);
    const length = byteLengthOf(entry.dtype, entry.shape);
    if (length === undefined)
      throw new SafetensorsError(file, `shape [${entry.shape.join(', ')}] is too large`, entry.name);
    layout.push({ entry, begin: offset, end: offset + length });
    json[entry.name] = { dtype: entry.dtype, shape: entry.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  const text = JSON.stringify(json);
  const padded = text + ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8);
  const body = Buffer.from(padded, 'utf8');
  const bytes = new Uint8Array(8 + body.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(body.byteLength), true);
  bytes.set(body, 8);
  return { bytes, layout };
}

function checkEntry(entry: HeaderEntry, seen: Record<string, unknown>, file: string): void {
  if (typeof entry.name !== 'string')
    throw new SafetensorsError(file, `tensor name must be a string, got ${describe(entry.name)}`);
  if (entry.name === METADATA_KEY)
    throw new SafetensorsError(file, `${METADATA_KEY} is reserved and cannot name a tensor`);
  if (Object.hasOwn(seen, entry.name))
    throw new SafetensorsError(file, 'appears twice in the list of tensors to write', entry.name);
  if (!isSafetensorsDType(entry.dtype))
    throw new SafetensorsError(file, describeUnsupportedDType(entry.dtype), entry.name);
  if (!Array.isArray(entry.shape) || !entry.shape.every(isNonNegativeSafeInteger)) {
    throw new SafetensorsError(
      file,
      `shape must be an array of non-negative integers, got ${describe(entry.shape)}`,
      entry.name,
    );
  }
}

function checkedMetadata(metadata: Readonly<Record<string, string>>, file: string): Record<string, string> {
  if (!isPlainObject(metadata))
    throw new SafetensorsError(file, `metadata must be an object of strings, got ${describe(metadata)}`);
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string')
      throw new SafetensorsError(file, `metadata[${JSON.stringify(key)}] must be a string, got ${describe(value)}`);
  }
  return { ...metadata };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
