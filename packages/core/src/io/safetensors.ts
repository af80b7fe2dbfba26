/**
 * Reader and writer of the safetensors format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header
 * `{"__metadata__": {str: str}, name: {dtype, shape, data_offsets: [begin, end]}}`, then the data
 * buffer, little-endian and row-major. Reading opens the file, validates the whole header, then
 * reads one tensor at a time with positioned reads, so a large checkpoint is never held whole.
 * Writing streams one tensor at a time into a temporary file renamed over the target.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { DType, HostArray } from '../dtype.js';
import { withAtomicFile, writeFully } from './atomic-write.js';
import { decodeTensorBytes, hostDTypeOf, type SafetensorsDType, toSafetensorsDType } from './safetensors-dtype.js';
import {
  encodeHeader,
  parseHeader,
  parseHeaderLength,
  SafetensorsError,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './safetensors-header.js';

/** A tensor read from a file: its host dtype and raw host storage (int64 narrowed to int32, etc.). */
export interface LoadedTensor {
  readonly dtype: DType;
  /** The dtype as stored in the file. */
  readonly storedDType: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: HostArray;
}

/** A tensor to write; `bytes` is called once, when its turn comes, so callers can produce data lazily. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: DType | SafetensorsDType;
  readonly shape: readonly number[];
  /** Little-endian element bytes: any typed array (Float32Array, BigInt64Array, ...) or a Uint8Array of raw bytes. */
  readonly bytes: () => Promise<ArrayBufferView> | ArrayBufferView;
}

/** Largest single read: Linux transfers at most 0x7ffff000 bytes per read(2). */
const MAX_READ_CHUNK = 1 << 30;

function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') throw new Error('safetensors I/O needs a little-endian host; this machine is big-endian');
}

/** An open safetensors file whose header has been validated; read tensors one at a time, then close(). */
export class SafetensorsFile {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly header: SafetensorsHeader,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    assertLittleEndianHost();
    const handle = await open(path, 'r');
    try {
      const header = await readHeaderFrom(handle, path);
      return new SafetensorsFile(path, handle, header);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Tensor descriptions in file order. */
  get tensors(): ReadonlyMap<string, SafetensorsTensorInfo> {
    return this.header.tensors;
  }

  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }

  info(name: string): SafetensorsTensorInfo {
    const info = this.header.tensors.get(name);
    if (info === undefined) {
      const names = [...this.header.tensors.keys()];
      const shown =
        names.length > 8 ? `${names.slice(0, 8).join(', ')}, ... (${names.length} in all)` : names.join(', ');
      throw new SafetensorsError(this.path, `no such tensor; the file holds: ${shown || '(none)'}`, name);
    }
    return info;
  }

  /** The tensor's bytes exactly as stored (little-endian). */
  async readBytes(name: string): Promise<Uint8Array> {
    if (this.closed) throw new SafetensorsError(this.path, 'file is closed', name);
    const info = this.info(name);
    const bytes = new Uint8Array(info.byteLength);
    let done = 0;
    while (done < bytes.byteLength) {
      const length = Math.min(MAX_READ_CHUNK, bytes.byteLength - done);
      const { bytesRead } = await this.handle.read(bytes, done, length, info.fileOffset + done);
      if (bytesRead === 0) {
        throw new SafetensorsError(
          this.path,
          `file ended after ${done} of ${info.byteLength} bytes (was it truncated since it was opened?)`,
          name,
        );
      }
      done += bytesRead;
    }
    return bytes;
  }

  /** Reads one tensor into host storage of its host dtype. */
  async read(name: string): Promise<LoadedTensor> {
    const info = this.info(name);
    const bytes = await this.readBytes(name);
    const data = decodeTensorBytes(info.dtype, bytes, `${this.path}: tensor ${JSON.stringify(name)}`);
    return { dtype: hostDTypeOf(info.dtype), storedDType: info.dtype, shape: info.shape, data };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

async function readHeaderFrom(handle: FileHandle, path: string): Promise<SafetensorsHeader> {
  const { size } = await handle.stat();
  const prefix = new Uint8Array(8);
  await handle.read(prefix, 0, Math.min(8, size), 0);
  const headerLength = parseHeaderLength(prefix, size, path);
  const headerBytes = new Uint8Array(headerLength);
  const { bytesRead } = await handle.read(headerBytes, 0, headerLength, 8);
  if (bytesRead !== headerLength)
    throw new SafetensorsError(path, `could read only ${bytesRead} of the ${headerLength} header bytes`);
  return parseHeader(headerBytes, size, path);
}

/** Reads and validates the header only: tensor names, dtypes, shapes, offsets and metadata. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const handle = await open(path, 'r');
  try {
    return await readHeaderFrom(handle, path);
  } finally {
    await handle.close();
  }
}

/** Reads every tensor of a (small) file into memory; for large files use SafetensorsFile. */
export async function readSafetensors(
  path: string,
): Promise<{ tensors: Map<string, LoadedTensor>; metadata: Record<string, string> }> {
  const file = await SafetensorsFile.open(path);
  try {
    const tensors = new Map<string, LoadedTensor>();
    for (const name of file.tensors.keys()) tensors.set(name, await file.read(name));
    return { tensors, metadata: { ...file.metadata } };
  } finally {
    await file.close();
  }
}

/**
 * Writes tensors to `path` in the layout of the reference writer (see encodeHeader), asking each
 * entry for its bytes in turn. The write is atomic: on any error the previous file is untouched.
 */
export async function writeSafetensors(
  path: string,
  entries: Iterable<SafetensorsEntry>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  assertLittleEndianHost();
  const normalized = [...entries].map((entry) => ({ ...entry, dtype: toSafetensorsDType(entry.dtype), source: entry }));
  const { bytes: header, layout } = encodeHeader(normalized, metadata, path);
  await withAtomicFile(path, async (file) => {
    await writeFully(file, header, 0);
    for (const { entry, begin, end } of layout) {
      const data = await entry.source.bytes();
      const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (view.byteLength !== end - begin) {
        throw new SafetensorsError(
          path,
          `bytes() returned ${view.byteLength} bytes but ${entry.dtype} with shape [${entry.shape.join(', ')}] needs ${end - begin}`,
          entry.name,
        );
      }
      await writeFully(file, view, header.byteLength + begin);
    }
  });
}
