import {
  type EncodedExample,
  EncoderForSequenceClassification,
  encodeGlueExample,
  encoderConfig,
  evaluateGlue,
  manualSeed,
  parseGlueTsv,
  trainGlueEpoch,
} from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { GaLoreAdamW, selectTargets } from '../src/index.js';

const ROBERTA = { style: 'roberta', clsId: 0, sepId: 2, padId: 1 } as const;
const WORDS = ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'good'];

/** A synthetic task in SST-2's file format: positive exactly when "good" appears. */
function syntheticSst2(n: number, seed: number): EncodedExample[] {
  let s = seed;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const lines = Array.from({ length: n }, () => {
    const len = 2 + Math.floor(rand() * 5);
    const ws = Array.from({ length: len }, () => WORDS[Math.floor(rand() * 6)]!);
    const positive = rand() < 0.5;
    if (positive) ws[Math.floor(rand() * len)] = 'good';
    return `${ws.join(' ')} \t${positive ? 1 : 0}`;
  });
  const text = `sentence\tlabel\n${lines.join('\n')}\n`;
  const vocab = (t: string) =>
    t
      .split(' ')
      .filter(Boolean)
      .map((w) => 3 + WORDS.indexOf(w));
  return parseGlueTsv('sst2', text, 'train.tsv').examples.map((e) => encodeGlueExample(e, vocab, ROBERTA, 16));
}

describe('GaLore fine-tunes a RoBERTa classifier on a GLUE-format task', () => {
  it('GaLore AdamW (rank 4, the official bert-family targets) learns well above chance', () => {
    manualSeed(0);
    const model = new EncoderForSequenceClassification(
      encoderConfig({
        model_type: 'roberta',
        vocab_size: 10,
        hidden_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        intermediate_size: 32,
        max_position_embeddings: 20,
        type_vocab_size: 1,
        layer_norm_eps: 1e-5,
        hidden_dropout_prob: 0,
        attention_probs_dropout_prob: 0,
      }),
    ).nameParameters();
    // The official run_glue.py with --lora_all_modules for bert-family models.
    const { targets, others } = selectTargets(model.namedParameters(), [
      'query',
      'value',
      'key',
      'intermediate.dense',
      'output.dense',
    ]);
    expect(targets.map(([n]) => n)).toContain('roberta.encoder.layer.0.attention.self.query.weight');
    const optimizer = new GaLoreAdamW(
      [
        { params: others.map(([, p]) => p) },
        { params: targets.map(([, p]) => p), rank: 4, update_proj_gap: 20, scale: 1, proj_type: 'std' },
      ],
      { lr: 3e-3 },
    );
    const train = syntheticSst2(256, 7);
    const dev = syntheticSst2(128, 99);
    const before = evaluateGlue(model, dev, 'sst2', { batchSize: 64, padId: ROBERTA.padId }).metrics.accuracy!;
    for (let epoch = 0; epoch < 5; epoch++) {
      trainGlueEpoch(model, train, optimizer, { batchSize: 16, padId: ROBERTA.padId, seed: epoch });
    }
    const after = evaluateGlue(model, dev, 'sst2', { batchSize: 64, padId: ROBERTA.padId }).metrics.accuracy!;
    expect(before).toBeLessThan(0.75);
    expect(after).toBeGreaterThan(0.9);
    model.dispose();
  }, 180_000);
});
