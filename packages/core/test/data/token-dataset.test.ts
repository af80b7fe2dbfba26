import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ByteTokenizer,
  type TokenBatch,
  TokenDataset,
  type TokenDatasetOptions,
  type TokenDatasetState,
} from '../../src/data/index.js';
import { useTempDir } from '../helpers/temp-dir.js';

const corpus = fileURLToPath(new URL('../../../cli/corpus/tinyshakespeare-excerpt.txt', import.meta.url));
const tokenizer = new ByteTokenizer();
const EOS = ByteTokenizer.EOS_ID;

const tmp = useTempDir('galore-dataset-');
let shards: string;
/** The documents of `shards`, in reading order. */
const documents: string[] = [];

beforeAll(async () => {
  shards = join(tmp.path, 'shards');
  await mkdir(shards);
  // A C4-like folder: two gzipped JSONL shards, a plain JSONL file and a text file, read in name order.
  // Every word is distinct, so no two windows of the token stream are equal and tests can compare by content.
  let words = 0;
  const word = () => `w${(words++).toString(36)}`;
  const doc = (shard: number, i: number) =>
    `s${shard}d${i} ${Array.from({ length: (i * 7 + shard) % 13 }, word).join(' ')} é`;
  const shard = (n: number, count: number) => Array.from({ length: count }, (_, i) => doc(n, i));
  const s0 = shard(0, 30);
  const s1 = shard(1, 25);
  const s2 = shard(2, 10);
  const text = Array.from({ length: 40 }, () => `${word()} ${word()} ${word()}\n`).join('');
  const jsonl = (docs: string[]) => docs.map((text) => JSON.stringify({ text, url: 'x' })).join('\n');
  await writeFile(join(shards, 'c4-train.00000-of-00002.json.gz'), gzipSync(Buffer.from(jsonl(s0))));
  await writeFile(join(shards, 'c4-train.00001-of-00002.json.gz'), gzipSync(Buffer.from(`${jsonl(s1)}\n`)));
  await writeFile(join(shards, 'extra.jsonl'), jsonl(s2));
  await writeFile(join(shards, 'story.txt'), text);
  documents.push(...s0, ...s1, ...s2, text);
});

/** The token stream of one epoch: every document's bytes followed by EOS. */
function expectedStream(): number[] {
  return documents.flatMap((d) => [...tokenizer.encode(d), EOS]);
}

async function take(dataset: TokenDataset, n: number): Promise<TokenBatch[]> {
  const out: TokenBatch[] = [];
  for (let i = 0; i < n; i++) {
    const batch = await dataset.nextBatch();
    if (batch === null) break;
    out.push(batch);
  }
  return out;
}

const rowsOf = (batch: TokenBatch) =>
  Array.from({ length: batch.shape[0] }, (_, r) =>
    Array.from(batch.tokens.subarray(r * batch.shape[1], (r + 1) * batch.shape[1])),
  );

/** Options over the test shards, read 64 bytes at a time (many reads per file). */
const smallReads = (options: Omit<TokenDatasetOptions, 'path' | 'tokenizer'>): TokenDatasetOptions => ({
  path: shards,
  tokenizer,
  chunkBytes: 64,
  ...options,
});

describe('packing', () => {
  it('packs every token of an epoch into seqLen+1 windows in order, with no padding, loss or duplication', async () => {
    const seqLen = 31;
    const dataset = await TokenDataset.open(smallReads({ seqLen, batchSize: 3, shuffleBuffer: 0, epochs: 1 }));
    const batches = await take(dataset, 1000);
    await dataset.close();
    expect(batches.every((b) => b.shape[0] === 3 && b.shape[1] === 32 && b.tokens.length === 96)).toBe(true);
    const stream = expectedStream();
    const sequences = Math.floor(stream.length / 32);
    const servedRows = batches.length * 3;
    expect(servedRows).toBe(sequences - (sequences % 3)); // the last partial batch is dropped
    const served = batches.flatMap((b) => Array.from(b.tokens));
    expect(served).toEqual(stream.slice(0, servedRows * 32));
  });

  it('appends no EOS when the tokenizer has none', async () => {
    const path = join(tmp.path, 'two.jsonl');
    await writeFile(path, '{"text":"ab"}\n{"text":"cd"}\n');
    const dataset = await TokenDataset.open({
      path,
      tokenizer: new ByteTokenizer({ specialTokens: false }),
      seqLen: 3,
      batchSize: 1,
      shuffleBuffer: 0,
      epochs: 1,
    });
    const batch = await dataset.nextBatch();
    expect(Array.from(batch!.tokens)).toEqual([97, 98, 99, 100]);
    expect(await dataset.nextBatch()).toBeNull();
  });

  it('reads the shipped corpus as one document streamed in pieces', async () => {
    const text = await readFile(corpus, 'utf8');
    const dataset = await TokenDataset.open({
      path: corpus,
      tokenizer,
      seqLen: 255,
      batchSize: 8,
      shuffleBuffer: 0,
      epochs: 1,
    });
    const batches = await take(dataset, 10_000);
    const perEpoch = Math.floor((Buffer.byteLength(text) + 1) / 256);
    expect(batches.length).toBe(Math.floor(perEpoch / 8));
    expect(Buffer.from(Uint8Array.from(batches[0]!.tokens)).toString('utf8')).toBe(text.slice(0, 8 * 256));
  });
});

describe('shuffling and epochs', () => {
  it("serves each epoch's sequences exactly once, in a seeded order", async () => {
    const options = smallReads({ seqLen: 15, batchSize: 1, shuffleBuffer: 8, epochs: 2, seed: 5 });
    const ordered = await take(await TokenDataset.open({ ...options, shuffleBuffer: 0 }), 10_000);
    const shuffled = await take(await TokenDataset.open(options), 10_000);
    const again = await take(await TokenDataset.open(options), 10_000);
    const reseeded = await take(await TokenDataset.open({ ...options, seed: 6 }), 10_000);
    const key = (b: TokenBatch) => Array.from(b.tokens).join(',');
    expect(shuffled.length).toBe(ordered.length);
    expect(shuffled.map(key).sort()).toEqual(ordered.map(key).sort());
    expect(shuffled.map(key)).not.toEqual(ordered.map(key));
    expect(again.map(key)).toEqual(shuffled.map(key));
    expect(reseeded.map(key)).not.toEqual(shuffled.map(key));
  });

  it('cycles through epochs when none is set, reporting the epoch', async () => {
    const dataset = await TokenDataset.open({ path: shards, tokenizer, seqLen: 127, batchSize: 4, shuffleBuffer: 0 });
    const perEpoch = Math.floor(expectedStream().length / 128);
    await take(dataset, Math.ceil((perEpoch * 2.5) / 4));
    expect(dataset.epoch).toBe(2);
    await dataset.close();
  });
});

describe('validation split', () => {
  it('holds out the first sequences: validation serves them, training never does', async () => {
    const options = smallReads({ seqLen: 15, batchSize: 4, shuffleBuffer: 16, validationSequences: 10, epochs: 2 });
    const dataset = await TokenDataset.open(options);
    const validation: TokenBatch[] = [];
    for await (const batch of dataset.validationBatches()) validation.push(batch);
    expect(validation.map((b) => b.shape[0])).toEqual([4, 4, 2]);
    const stream = expectedStream();
    const windows = Array.from({ length: Math.floor(stream.length / 16) }, (_, i) =>
      stream.slice(i * 16, (i + 1) * 16).join(','),
    );
    expect(new Set(windows).size).toBe(windows.length); // premise: windows are distinct
    const held = validation.flatMap(rowsOf).map((r) => r.join(','));
    expect(held).toEqual(windows.slice(0, 10));
    const trained = (await take(dataset, 10_000)).flatMap(rowsOf).map((r) => r.join(','));
    const heldSet = new Set(held);
    expect(trained.some((r) => heldSet.has(r))).toBe(false);
    expect(trained.length).toBe(Math.floor(((windows.length - 10) * 2) / 4) * 4);
    expect(new Set(trained)).toEqual(new Set(windows.slice(10)));
    // Validation restarts from the beginning each time.
    const again: TokenBatch[] = [];
    for await (const batch of dataset.validationBatches(10)) again.push(batch);
    expect(again.flatMap(rowsOf).map((r) => r.join(','))).toEqual(held);
  });

  it('fails clearly when the data is too small for the split', async () => {
    const path = join(tmp.path, 'tiny.txt');
    await writeFile(path, 'only a few bytes');
    const dataset = await TokenDataset.open({ path, tokenizer, seqLen: 7, batchSize: 1, validationSequences: 2 });
    await expect(dataset.nextBatch()).rejects.toThrow(
      /tiny\.txt" yields 2 sequences of 8 tokens per epoch, but 2 are held out for validation/,
    );
    const empty = await TokenDataset.open({ path, tokenizer, seqLen: 1000, batchSize: 1 });
    await expect(empty.nextBatch()).rejects.toThrow(/yields 0 sequences of 1001 tokens per epoch/);
  });
});

describe('state and restore', () => {
  const options: TokenDatasetOptions = {
    path: '',
    tokenizer,
    seqLen: 23,
    batchSize: 3,
    shuffleBuffer: 5,
    validationSequences: 4,
    seed: 11,
    chunkBytes: 48,
  };

  it('a restored reader continues with exactly the batches of an uninterrupted one', async () => {
    const opts = { ...options, path: shards };
    const trainPerEpoch = Math.floor(expectedStream().length / 24) - 4;
    const total = Math.ceil((trainPerEpoch * 2.3) / 3); // beyond two epochs
    expect(total).toBeGreaterThan(41);
    const straight = await take(await TokenDataset.open(opts), total);
    expect(straight.length).toBe(total);
    for (const k of [0, 1, 7, 23, 41]) {
      const first = await TokenDataset.open(opts);
      const head = await take(first, k);
      const state = JSON.parse(JSON.stringify(first.state())) as TokenDatasetState;
      await first.close();
      const resumed = await TokenDataset.open(opts);
      await resumed.restore(state);
      const tail = await take(resumed, total - k);
      expect([...head, ...tail].map((b) => Array.from(b.tokens))).toEqual(straight.map((b) => Array.from(b.tokens)));
      expect(resumed.epoch).toBeGreaterThanOrEqual(2);
      await resumed.close();
    }
  });

  it('also resumes mid-way through a plain text file and near the end of a finite run', async () => {
    const opts = { ...options, path: corpus, chunkBytes: 1000, seqLen: 63, batchSize: 16, epochs: 1 };
    const straight = await take(await TokenDataset.open(opts), 10_000);
    const k = straight.length - 2;
    const first = await TokenDataset.open(opts);
    await take(first, k);
    const state = first.state();
    expect(state.byteOffset).toBeGreaterThan(0);
    const resumed = await TokenDataset.open(opts);
    await resumed.restore(state);
    const tail = await take(resumed, 10_000);
    expect(tail.map((b) => Array.from(b.tokens))).toEqual(straight.slice(k).map((b) => Array.from(b.tokens)));
    expect(await resumed.nextBatch()).toBeNull();
  });

  it('refuses a state saved with other settings, naming each difference', async () => {
    const dataset = await TokenDataset.open({ ...options, path: shards });
    await take(dataset, 2);
    const state = dataset.state();
    const other = await TokenDataset.open({ ...options, path: shards, seqLen: 31, seed: 12 });
    await expect(other.restore(state)).rejects.toThrow(
      /saved for a different dataset or settings; seqLen: state has 23, this dataset has 31; seed: state has 11, this dataset has 12/,
    );
    const textOnly = await TokenDataset.open({ ...options, path: corpus });
    await expect(textOnly.restore(state)).rejects.toThrow(/files: state has \["c4-train/);
    await expect(dataset.restore({ ...state, version: 2 } as never)).rejects.toThrow(/version 1/);
    await expect(dataset.restore({ ...state, carry: 'not base64!' })).rejects.toThrow(/carry must be a base64 string/);
    await expect(dataset.restore({ ...state, fileIndex: -1 })).rejects.toThrow(
      /fileIndex must be a non-negative integer, got -1/,
    );
  });

  it('refuses to save while a batch is being read', async () => {
    const dataset = await TokenDataset.open({ ...options, path: shards });
    const pending = dataset.nextBatch();
    expect(() => dataset.state()).toThrow(/while nextBatch\(\) is running/);
    await expect(dataset.nextBatch()).rejects.toThrow(/called again before the previous call finished/);
    await pending;
    expect(() => dataset.state()).not.toThrow();
  });
});

describe('options', () => {
  it('rejects bad options with what was expected', async () => {
    const base = { path: shards, tokenizer, seqLen: 8, batchSize: 2 };
    await expect(TokenDataset.open({ ...base, seqLen: 0 })).rejects.toThrow(/seqLen must be a positive integer, got 0/);
    await expect(TokenDataset.open({ ...base, batchSize: 1.5 })).rejects.toThrow(
      /batchSize must be a positive integer, got 1.5/,
    );
    await expect(TokenDataset.open({ ...base, shuffleBuffer: -1 })).rejects.toThrow(
      /shuffleBuffer must be a non-negative integer/,
    );
    await expect(TokenDataset.open({ ...base, seed: -3 })).rejects.toThrow(
      /seed must be a non-negative integer, got -3/,
    );
    await expect(TokenDataset.open({ ...base, tokenizer: {} as never })).rejects.toThrow(
      /tokenizer must implement Tokenizer/,
    );
    await expect(TokenDataset.open({ ...base, path: join(tmp.path, 'missing') })).rejects.toThrow(/does not exist/);
  });

  it('surfaces a JSONL record without text with its file and line', async () => {
    const folder = join(tmp.path, 'bad-shards');
    await mkdir(folder);
    await writeFile(join(folder, 'a.jsonl'), '{"text":"fine"}\n{"body":"no text here"}\n');
    const dataset = await TokenDataset.open({ path: folder, tokenizer, seqLen: 64, batchSize: 1 });
    await expect(dataset.nextBatch()).rejects.toThrow(
      /a\.jsonl:2: expected a JSON object with a string field "text", found no "text" field/,
    );
  });
});
