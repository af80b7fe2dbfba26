import { describe, expect, it } from 'vitest';
import {
  collateGlueBatch,
  encodeGlueExample,
  type PairEncodingStyle,
  parseGlueTsv,
  truncateLongestFirst,
} from '../../src/data/index.js';
import { AdamW, manualSeed } from '../../src/index.js';
import { EncoderForSequenceClassification, encoderConfig } from '../../src/models/index.js';
import { evaluateGlue, shuffledOrder, trainGlueEpoch } from '../../src/tasks/index.js';
import { ROBERTA_LAYOUT, syntheticSst2Examples, TINY_ROBERTA } from '../tasks/synthetic-sst2.js';

const ROBERTA: PairEncodingStyle = ROBERTA_LAYOUT;
const BERT: PairEncodingStyle = { style: 'bert', clsId: 101, sepId: 102, padId: 0 };
/** A toy tokenizer: each word's length + 10. */
const encode = (text: string) =>
  text
    .split(' ')
    .filter(Boolean)
    .map((w) => w.length + 10);

describe('GLUE examples to model inputs', () => {
  it('lay out pairs as RoBERTa and BERT do', () => {
    const ex = { textA: 'a bb', textB: 'ccc', label: 1, line: 2 };
    expect(encodeGlueExample(ex, encode, ROBERTA, 32)).toEqual({
      ids: [0, 11, 12, 2, 2, 13, 2],
      tokenTypeIds: [0, 0, 0, 0, 0, 0, 0],
      label: 1,
    });
    expect(encodeGlueExample(ex, encode, BERT, 32)).toEqual({
      ids: [101, 11, 12, 102, 13, 102],
      tokenTypeIds: [0, 0, 0, 0, 1, 1],
      label: 1,
    });
    expect(encodeGlueExample({ textA: 'a bb ccc', label: 0, line: 2 }, encode, ROBERTA, 4).ids).toEqual([0, 11, 12, 2]);
  });

  it('truncate longest first, ties from the second sentence', () => {
    expect(truncateLongestFirst([1, 2, 3, 4, 5, 6], [7, 8], 5)).toEqual([
      [1, 2, 3],
      [7, 8],
    ]);
    expect(truncateLongestFirst([1, 2, 3], [4, 5, 6], 3)).toEqual([[1, 2], [4]]);
    expect(truncateLongestFirst([1], [2, 3, 4, 5], 10)).toEqual([[1], [2, 3, 4, 5]]);
    const long = { textA: 'a a a a a a', textB: 'b b b b', label: 0, line: 2 };
    expect(encodeGlueExample(long, encode, ROBERTA, 10).ids).toHaveLength(10);
    expect(() => encodeGlueExample(long, encode, ROBERTA, 5)).toThrow('leaves no room');
  });

  it('pad each batch to its longest row with a mask', () => {
    const rows = [
      { ids: [0, 11, 2], tokenTypeIds: [0, 0, 0], label: 1 },
      { ids: [0, 11, 12, 13, 2], tokenTypeIds: [0, 0, 0, 0, 0], label: 0 },
    ];
    const batch = collateGlueBatch(rows, 1, false);
    expect(batch.seqLen).toBe(5);
    expect([...batch.ids]).toEqual([0, 11, 2, 1, 1, 0, 11, 12, 13, 2]);
    expect([...batch.attentionMask]).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    expect([...batch.labels]).toEqual([1, 0]);
    expect(collateGlueBatch(rows, 1, true).labels).toBeInstanceOf(Float32Array);
  });

  it('shuffle with a seed: a permutation, reproducible', () => {
    const a = shuffledOrder(50, 3);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(shuffledOrder(50, 3)).toEqual(a);
    expect(shuffledOrder(50, 4)).not.toEqual(a);
  });

  it('a tiny RoBERTa learns a synthetic SST-2-format task well above chance (AdamW)', () => {
    const train = syntheticSst2Examples(256, 7);
    const dev = syntheticSst2Examples(128, 99);

    manualSeed(0);
    const model = new EncoderForSequenceClassification(encoderConfig(TINY_ROBERTA));
    const optimizer = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
    const losses: number[] = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      const { meanLoss } = trainGlueEpoch(model, train, optimizer, {
        batchSize: 16,
        padId: ROBERTA.padId,
        seed: epoch,
      });
      losses.push(meanLoss);
    }
    expect(losses[3]!).toBeLessThan(losses[0]!);
    const { metrics, predictions } = evaluateGlue(model, dev, 'sst2', { batchSize: 50, padId: ROBERTA.padId });
    expect(predictions).toHaveLength(dev.length);
    expect(model.training).toBe(true); // evaluation restores the mode
    expect(metrics.accuracy).toBeGreaterThan(0.9);
    model.dispose();
  }, 120_000);

  it('regression (STS-B pairs, BERT layout): MSE falls and Pearson/Spearman are reported', () => {
    // score = 1 when the pair holds the word w3, else 0 (scores near the untrained output)
    const header = 'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore';
    let s = 11;
    const rand = () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s / 2 ** 32;
    };
    const word = () => `w${Math.floor(rand() * 4)}`;
    const rows = (n: number) =>
      Array.from({ length: n }, (_, i) => {
        const a = [word(), word()];
        const b = [rand() < 0.5 ? a[0]! : word(), word()];
        const score = [...a, ...b].includes('w3') ? '1.000' : '0.000';
        return `${i}\tmain\tx\t2012\t${i}\tnone\tnone\t${a.join(' ')}\t${b.join(' ')}\t${score}`;
      });
    const file = (n: number) => `${header}\n${rows(n).join('\n')}\n`;
    const vocab = (t: string) =>
      t
        .split(' ')
        .filter(Boolean)
        .map((w) => 3 + Number(w.slice(1)));
    const bert = { style: 'bert', clsId: 0, sepId: 2, padId: 1 } as const;
    const train = parseGlueTsv('stsb', file(192), 'train.tsv').examples.map((e) =>
      encodeGlueExample(e, vocab, bert, 12),
    );
    const dev = parseGlueTsv('stsb', file(64), 'dev.tsv').examples.map((e) => encodeGlueExample(e, vocab, bert, 12));
    expect(train[0]!.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1, 1]);
    manualSeed(1);
    const model = new EncoderForSequenceClassification(
      encoderConfig({
        model_type: 'bert',
        vocab_size: 8,
        hidden_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        intermediate_size: 32,
        max_position_embeddings: 16,
        pad_token_id: 1,
        num_labels: 1,
        hidden_dropout_prob: 0,
        attention_probs_dropout_prob: 0,
      }),
    );
    expect(model.problemType).toBe('regression');
    const optimizer = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
    const losses: number[] = [];
    for (let epoch = 0; epoch < 8; epoch++) {
      losses.push(trainGlueEpoch(model, train, optimizer, { batchSize: 16, padId: 1, seed: epoch }).meanLoss);
    }
    expect(losses[7]!).toBeLessThan(losses[0]! / 10);
    const { metrics } = evaluateGlue(model, dev, 'stsb', { batchSize: 32, padId: 1 });
    expect(Object.keys(metrics)).toEqual(['pearson', 'spearmanr']);
    expect(metrics.pearson!).toBeGreaterThan(0.95);
    expect(metrics.spearmanr!).toBeGreaterThan(0.8);
    model.dispose();
  }, 120_000);
});
