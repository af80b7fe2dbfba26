import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { DataFile } from './files.js';

const READ_CHUNK = 1 << 16;

/**
 * The (decompressed) bytes of a data file from byte `start` on, in chunks. Plain files seek
 * straight to `start`; gzip cannot seek, so it is decompressed from the beginning and the first
 * `start` bytes are dropped. Ending the iteration early closes the file.
 */
export async function* readBytesFrom(file: DataFile, start: number): AsyncGenerator<Buffer> {
  if (!file.gzip) {
    const { size } = await stat(file.path);
    if (start > size)
      throw new Error(
        `${file.path}: position ${start} is beyond the end of the file (${size} bytes); has the file changed?`,
      );
    yield* createReadStream(file.path, { start, highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>;
    return;
  }
  const gunzip = createGunzip({ chunkSize: READ_CHUNK });
  // pipeline forwards read errors into gunzip, where the loop below sees them.
  pipeline(createReadStream(file.path, { highWaterMark: READ_CHUNK }), gunzip, () => undefined);
  let skip = start;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (skip >= chunk.byteLength) {
        skip -= chunk.byteLength;
        continue;
      }
      yield skip > 0 ? chunk.subarray(skip) : chunk;
      skip = 0;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code?.startsWith('Z_'))
      throw new Error(`${file.path}: cannot decompress gzip data (${(error as Error).message})`);
    throw error;
  }
  if (skip > 0) {
    throw new Error(
      `${file.path}: position ${start} is beyond the end of the decompressed data (${start - skip} bytes); has the file changed?`,
    );
  }
}
