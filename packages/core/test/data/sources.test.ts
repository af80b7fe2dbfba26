import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  type DataFile,
  FILE_START,
  type FilePosition,
  FileSegmentReader,
  listDataFiles,
  type TextSegment,
} from '../../src/data/index.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir('galore-sources-');

async function readAll(
  file: DataFile,
  options = { textField: 'text', chunkBytes: 16 },
  start: FilePosition = FILE_START,
) {
  const reader = new FileSegmentReader(file, start, options);
  const segments: (TextSegment & { after: FilePosition })[] = [];
  try {
    for (let s = await reader.next(); s !== null; s = await reader.next())
      segments.push({ ...s, after: reader.position });
  } finally {
    await reader.close();
  }
  return segments;
}

const textFile = (path: string, gzip = false): DataFile => ({ path, name: path, format: 'text', gzip });
const jsonlFile = (path: string, gzip = false): DataFile => ({ path, name: path, format: 'jsonl', gzip });

describe('listDataFiles', () => {
  it('lists supported files of a folder in name order, skipping others and hidden files', async () => {
    const folder = join(tmp.path, 'shards');
    await mkdir(folder);
    for (const name of [
      'c4-train.00001-of-00002.json.gz',
      'c4-train.00000-of-00002.json.gz',
      'b.txt',
      'A.jsonl',
      'README.md',
      '.hidden.txt',
    ]) {
      await writeFile(join(folder, name), '');
    }
    const files = await listDataFiles(folder);
    expect(files.map((f) => [f.name, f.format, f.gzip])).toEqual([
      ['A.jsonl', 'jsonl', false],
      ['b.txt', 'text', false],
      ['c4-train.00000-of-00002.json.gz', 'jsonl', true],
      ['c4-train.00001-of-00002.json.gz', 'jsonl', true],
    ]);
  });

  it('explains what it expected when nothing fits', async () => {
    await expect(listDataFiles(join(tmp.path, 'nope'))).rejects.toThrow(/does not exist/);
    const docs = join(tmp.path, 'docs');
    await mkdir(docs);
    await writeFile(join(docs, 'notes.md'), '');
    await expect(listDataFiles(docs)).rejects.toThrow(
      /has no data files \(expected .jsonl.gz, .json.gz, .txt.gz, .jsonl, .json, .txt\); it holds notes.md/,
    );
    await expect(listDataFiles(join(docs, 'notes.md'))).rejects.toThrow(/notes.md" has an unsupported type/);
  });
});

describe('FileSegmentReader on text files', () => {
  const text = 'line one\nline two is longer\nx\n\nthe end without newline';

  it('cuts pieces after newlines, loses nothing, and marks only the last piece as the end', async () => {
    const path = join(tmp.path, 'doc.txt');
    await writeFile(path, text);
    const segments = await readAll(textFile(path));
    expect(segments.map((s) => s.text).join('')).toBe(text);
    expect(segments.map((s) => s.endOfDocument)).toEqual([...new Array(segments.length - 1).fill(false), true]);
    for (const s of segments.slice(0, -1)) {
      expect(Buffer.byteLength(s.text)).toBeLessThanOrEqual(16);
    }
    expect(segments[0]!.text).toBe('line one\n');
    expect(segments.at(-1)!.after.byteOffset).toBe(Buffer.byteLength(text));
  });

  it('never splits a multi-byte character when a piece has no newline', async () => {
    const path = join(tmp.path, 'wide.txt');
    const wide = 'é€🌍'.repeat(20);
    await writeFile(path, wide);
    const segments = await readAll(textFile(path));
    expect(segments.length).toBeGreaterThan(4);
    expect(segments.every((s) => !s.text.includes('\ufffd'))).toBe(true);
    expect(segments.map((s) => s.text).join('')).toBe(wide);
  });

  it('resumes from a saved position with the same pieces, for plain and gzip files', async () => {
    const plain = join(tmp.path, 'resume.txt');
    const gz = join(tmp.path, 'resume.txt.gz');
    const body = Array.from({ length: 40 }, (_, i) => `row ${i} ${'ab'.repeat(i % 7)}\n`).join('');
    await writeFile(plain, body);
    await writeFile(gz, gzipSync(Buffer.from(body)));
    for (const file of [textFile(plain), textFile(gz, true)]) {
      const all = await readAll(file);
      expect(all.map((s) => s.text).join('')).toBe(body);
      const k = 5;
      const rest = await readAll(file, undefined, all[k - 1]!.after);
      expect(rest).toEqual(all.slice(k));
    }
  });

  it('reports a position past the end of a changed file', async () => {
    const path = join(tmp.path, 'short.txt');
    await writeFile(path, 'abc');
    await expect(readAll(textFile(path), undefined, { byteOffset: 10, line: 1 })).rejects.toThrow(
      /position 10 is beyond the end of the file \(3 bytes\); has the file changed\?/,
    );
  });
});

describe('FileSegmentReader on JSONL', () => {
  const lines = [{ text: 'first doc' }, { text: 'second\ndoc', meta: 1 }, { text: '' }, { text: 'é'.repeat(50) }];
  const body = `${lines.map((l) => JSON.stringify(l)).join('\n')}\n\n  \n${JSON.stringify({ text: 'last, no newline' })}`;

  it('yields one document per non-blank line, in plain and gzip files, and resumes by line', async () => {
    const plain = join(tmp.path, 'docs.jsonl');
    const gz = join(tmp.path, 'docs.json.gz');
    await writeFile(plain, body);
    await writeFile(gz, gzipSync(Buffer.from(body)));
    for (const file of [jsonlFile(plain), jsonlFile(gz, true)]) {
      const all = await readAll(file);
      expect(all.map((s) => s.text)).toEqual(['first doc', 'second\ndoc', '', 'é'.repeat(50), 'last, no newline']);
      expect(all.every((s) => s.endOfDocument)).toBe(true);
      expect(all.map((s) => s.after.line)).toEqual([2, 3, 4, 5, 8]);
      expect(await readAll(file, undefined, all[1]!.after)).toEqual(all.slice(2));
    }
  });

  it('reads a custom text field', async () => {
    const path = join(tmp.path, 'content.jsonl');
    await writeFile(path, '{"content":"x"}\n');
    expect((await readAll(jsonlFile(path), { textField: 'content', chunkBytes: 16 })).map((s) => s.text)).toEqual([
      'x',
    ]);
  });

  it('names the file and line of a record without text, or of broken JSON', async () => {
    const missing = join(tmp.path, 'missing.jsonl');
    await writeFile(missing, '{"text":"ok"}\n{"url":"http://example.com"}\n');
    await expect(readAll(jsonlFile(missing))).rejects.toThrow(
      /missing\.jsonl:2: expected a JSON object with a string field "text", found no "text" field/,
    );
    const number = join(tmp.path, 'number.jsonl');
    await writeFile(number, '{"text":42}\n');
    await expect(readAll(jsonlFile(number))).rejects.toThrow(/number\.jsonl:1: .* found "text" is 42/);
    const broken = join(tmp.path, 'broken.jsonl');
    await writeFile(broken, '{"text":"ok"}\n\n{"text": oops}\n');
    await expect(readAll(jsonlFile(broken))).rejects.toThrow(/broken\.jsonl:3: not valid JSON/);
  });

  it('reports corrupt gzip data with the file name', async () => {
    const path = join(tmp.path, 'corrupt.json.gz');
    await writeFile(path, 'this is not gzip');
    await expect(readAll(jsonlFile(path, true))).rejects.toThrow(/corrupt\.json\.gz: cannot decompress gzip data/);
  });

  it('joins a line much longer than the read chunk', async () => {
    const path = join(tmp.path, 'long.jsonl');
    const long = 'word '.repeat(100_000);
    await writeFile(path, `${JSON.stringify({ text: long })}\n${JSON.stringify({ text: 'next' })}\n`);
    expect((await readAll(jsonlFile(path))).map((s) => s.text)).toEqual([long, 'next']);
  });
});
