import {
  EncoderForSequenceClassification,
  encoderConfig,
  evaluateGlue,
  manualSeed,
  trainGlueEpoch,
} from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import { ROBERTA_LAYOUT, syntheticSst2Examples, TINY_ROBERTA } from '../../core/test/tasks/synthetic-sst2.js';
import { GaLoreAdamW, selectTargets } from '../src/index.js';

describe('GaLore fine-tunes a RoBERTa classifier on a GLUE-format task', () => {
  it('GaLore AdamW (rank 4, the official bert-family targets) learns well above chance', () => {
    manualSeed(0);
    const model = new EncoderForSequenceClassification(encoderConfig(TINY_ROBERTA)).nameParameters();
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
    const train = syntheticSst2Examples(256, 7);
    const dev = syntheticSst2Examples(128, 99);
    const before = evaluateGlue(model, dev, 'sst2', { batchSize: 64, padId: ROBERTA_LAYOUT.padId }).metrics.accuracy!;
    for (let epoch = 0; epoch < 5; epoch++) {
      trainGlueEpoch(model, train, optimizer, { batchSize: 16, padId: ROBERTA_LAYOUT.padId, seed: epoch });
    }
    const after = evaluateGlue(model, dev, 'sst2', { batchSize: 64, padId: ROBERTA_LAYOUT.padId }).metrics.accuracy!;
    expect(before).toBeLessThan(0.75);
    expect(after).toBeGreaterThan(0.9);
    model.dispose();
  }, 180_000);
});
