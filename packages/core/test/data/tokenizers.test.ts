import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByteTokenizer, Gpt2Tokenizer, HuggingFaceTokenizer, loadTokenizer } from '../../src/data/index.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { special, WORD_PIECE as wordPiece } from './word-piece.js';

const tmp = useTempDir('galore-tokenizers-');

/** A tiny byte-level BPE (GPT-2 / LLaMA-3 style) with two merges. */
const bytePairs = {
  version: '1.0',
  added_tokens: [special(0, '<s>'), special(1, '</s>')],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: 'ByteLevel' },
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    vocab: { '<s>': 0, '</s>': 1, a: 2, b: 3, ab: 4, Ġ: 5, Ġab: 6 },
    merges: ['a b', 'Ġ ab'],
  },
};

/** A tiny Unigram (T5 / SentencePiece style) model with a Metaspace pre-tokenizer. */
const unigram = {
  version: '1.0',
  added_tokens: [special(0, '<pad>'), special(1, '</s>'), special(2, '<unk>')],
  normalizer: null,
  pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  post_processor: null,
  decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  model: {
    type: 'Unigram',
    unk_id: 2,
    byte_fallback: false,
    vocab: [
      ['<pad>', 0],
      ['</s>', 0],
      ['<unk>', 0],
      ['▁hello', -1],
      ['▁world', -1.5],
      ['▁', -3],
      ['h', -4],
      ['e', -4],
      ['l', -4],
      ['o', -4],
    ],
  },
};

describe('ByteTokenizer', () => {
  it('round-trips UTF-8 text through byte ids, with BOS 256 and EOS 257', () => {
    const tokenizer = new ByteTokenizer();
    expect(tokenizer).toMatchObject({ name: 'byte', vocabSize: 258, bosId: 256, eosId: 257 });
    expect(tokenizer.encode('aé€')).toEqual([0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac]);
    const text = 'Hello, wörld! 🌍\n';
    expect(tokenizer.decode([256, ...tokenizer.encode(text), 257])).toBe(text);
    expect(tokenizer.decode([0xff])).toBe('\ufffd');
  });

  it('can do without special tokens, and rejects ids outside the vocabulary', () => {
    const plain = new ByteTokenizer({ specialTokens: false });
    expect(plain).toMatchObject({ vocabSize: 256 });
    expect(plain.eosId).toBeUndefined();
    expect(() => plain.decode([65, 256])).toThrow(/id 256 at position 1 is outside the vocabulary \[0, 256\)/);
    expect(() => new ByteTokenizer().decode([1.5])).toThrow(/id 1.5/);
  });
});

describe('Gpt2Tokenizer', () => {
  it('encodes with the GPT-2 ranks offline and decodes back', async () => {
    const tokenizer = await loadTokenizer('gpt2');
    expect(tokenizer).toBeInstanceOf(Gpt2Tokenizer);
    expect(tokenizer).toMatchObject({ name: 'gpt2', vocabSize: 50257, eosId: 50256 });
    expect(tokenizer.encode('Hello world')).toEqual([15496, 995]);
    const text = 'To be, or not to be: that is the question.\n';
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    expect(tokenizer.decode([15496, 50256])).toBe('Hello<|endoftext|>');
  });

  it('treats a literal <|endoftext|> in the data as text, not as the special id', async () => {
    const tokenizer = await Gpt2Tokenizer.load();
    const ids = tokenizer.encode('a <|endoftext|> b');
    expect(ids).not.toContain(50256);
    expect(tokenizer.decode(ids)).toBe('a <|endoftext|> b');
  });
});

describe('HuggingFaceTokenizer', () => {
  it('loads a WordPiece tokenizer.json and reads BOS/EOS from tokenizer_config.json', async () => {
    const folder = join(tmp.path, 'wordpiece');
    await mkdir(folder);
    await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(wordPiece));
    await writeFile(
      join(folder, 'tokenizer_config.json'),
      JSON.stringify({ bos_token: '[CLS]', eos_token: { content: '[SEP]' } }),
    );
    const tokenizer = await loadTokenizer(folder);
    expect(tokenizer).toBeInstanceOf(HuggingFaceTokenizer);
    expect(tokenizer).toMatchObject({ name: `hf:${join(folder, 'tokenizer.json')}`, vocabSize: 8, bosId: 1, eosId: 2 });
    expect(tokenizer.encode('Hello World! galore')).toEqual([3, 4, 5, 6, 7]);
    expect(tokenizer.encode('unknown')).toEqual([0]);
    expect(tokenizer.decode([3, 4, 5, 2])).toBe('hello world!');
  });

  it('loads a byte-level BPE from a file path and finds </s> without a config', async () => {
    const file = join(tmp.path, 'bpe.json');
    await writeFile(file, JSON.stringify(bytePairs));
    const tokenizer = await loadTokenizer(file);
    expect(tokenizer).toMatchObject({ vocabSize: 7, bosId: 0, eosId: 1 });
    expect(tokenizer.encode('ab ab')).toEqual([4, 6]);
    expect(tokenizer.decode([4, 6, 1])).toBe('ab ab');
    expect(() => tokenizer.decode([7])).toThrow(/id 7 at position 0 is outside the vocabulary \[0, 7\)/);
  });

  it('loads a Unigram (T5-style) model', async () => {
    const file = join(tmp.path, 'unigram.json');
    await writeFile(file, JSON.stringify(unigram));
    const tokenizer = await HuggingFaceTokenizer.load(file);
    expect(tokenizer).toMatchObject({ vocabSize: 10, eosId: 1 });
    expect(tokenizer.bosId).toBeUndefined();
    expect(tokenizer.encode('hello world')).toEqual([3, 4]);
    expect(tokenizer.decode([3, 4])).toBe('hello world');
  });
});

describe('loadTokenizer errors', () => {
  it('names what it expected for unknown specs and bad files', async () => {
    await expect(loadTokenizer('llama')).rejects.toThrow(
      /unknown tokenizer "llama": no such file or folder; expected 'byte', 'gpt2', or the path/,
    );
    const empty = join(tmp.path, 'empty');
    await mkdir(empty);
    await expect(loadTokenizer(empty)).rejects.toThrow(/has no tokenizer.json/);
    const text = join(tmp.path, 'vocab.txt');
    await writeFile(text, 'a\nb\n');
    await expect(loadTokenizer(text)).rejects.toThrow(/is not a .json file/);
    const broken = join(tmp.path, 'broken.json');
    await writeFile(broken, '{"model": ');
    await expect(loadTokenizer(broken)).rejects.toThrow(/broken.json: tokenizer.json is not valid JSON/);
    const other = join(tmp.path, 'other.json');
    await writeFile(other, '{"name": "not a tokenizer"}');
    await expect(loadTokenizer(other)).rejects.toThrow(
      /other.json: not a Hugging Face tokenizer.json \(expected an object with a "model" field\)/,
    );
  });
});
