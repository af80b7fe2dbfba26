import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that readers see either the old content or the complete new one, never a torn
 * mix: `write` fills `<path>.tmp-<pid>-<random>`, which is flushed to disk and renamed over `path`
 * (rename is atomic within one filesystem), then the directory is flushed so the rename survives a
 * crash. If `write` throws, the temporary file is removed and `path` is left as it was.
 */
export async function withAtomicFile(path: string, write: (file: FileHandle) => Promise<void>): Promise<void> {
  const directory = dirname(path);
  const temporary = join(directory, `${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const file = await open(temporary, 'wx');
  try {
    await write(file);
    await file.sync();
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  await file.close();
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

/** Atomically replaces `path` with `data` (see withAtomicFile). */
export async function atomicWriteFile(path: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  await withAtomicFile(path, (file) => writeFully(file, bytes, 0));
}

/** Writes all of `bytes` at `position`; a single write() may write fewer bytes than asked. */
export async function writeFully(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write made no progress at byte ${position + done}`);
    done += bytesWritten;
  }
}

async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Windows and some filesystems cannot open or fsync a directory; the rename itself is done.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
