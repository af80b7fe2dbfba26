import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { atomicWriteFile, withAtomicFile, writeFully } from '../../src/io/index.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir('galore-atomic-');

describe('atomicWriteFile', () => {
  it('creates and replaces files with strings or bytes', async () => {
    const path = join(tmp.path, 'state.json');
    await atomicWriteFile(path, '{"step":1}');
    expect(await readFile(path, 'utf8')).toBe('{"step":1}');
    await atomicWriteFile(path, new Uint8Array([104, 105]));
    expect(await readFile(path, 'utf8')).toBe('hi');
    expect(await readdir(tmp.path)).toEqual(['state.json']);
  });

  it('keeps the old content and removes the temporary file when the writer throws', async () => {
    const path = join(tmp.path, 'keep.json');
    await atomicWriteFile(path, 'old');
    await expect(
      withAtomicFile(path, async (file) => {
        await writeFully(file, Buffer.from('new partial content'), 0);
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await readFile(path, 'utf8')).toBe('old');
    expect((await readdir(tmp.path)).filter((f) => f.startsWith('keep.json'))).toEqual(['keep.json']);
  });

  it('fails clearly when the directory does not exist', async () => {
    await expect(atomicWriteFile(join(tmp.path, 'missing', 'x.json'), 'x')).rejects.toThrow(/ENOENT/);
  });
});
