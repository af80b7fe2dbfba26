import { afterAll, describe, expect, it } from 'vitest';
import { createMetaBackend, getBackend, setBackend, tensor } from '../../src/index.js';
import { EncoderForSequenceClassification, encoderConfig } from '../../src/models/index.js';

/** roberta-base's config.json (the fields that matter). */
const ROBERTA_BASE = {
  architectures: ['RobertaForMaskedLM'] as string[],
  model_type: 'roberta' as const,
  vocab_size: 50265,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  max_position_embeddings: 514,
  type_vocab_size: 1,
  layer_norm_eps: 1e-5,
  pad_token_id: 1,
};

const previous = getBackend();
afterAll(() => {
  setBackend(previous);
});

describe('RoBERTa-base on the meta backend', () => {
  it('has the parameter count transformers reports and dry-runs a training step', async () => {
    const meta = createMetaBackend();
    setBackend(meta);
    const model = new EncoderForSequenceClassification(encoderConfig({ ...ROBERTA_BASE }), { backend: meta });
    // transformers: RobertaForSequenceClassification.from_pretrained('roberta-base') has 124,647,170.
    expect(model.numParameters()).toBe(124_647_170);
    expect(meta.tracker.snapshot().live.parameter).toBe(124_647_170 * 4);
    const batch = 2;
    const seq = 16;
    const ids = tensor(new Int32Array(batch * seq).fill(5), { backend: meta }).reshape(batch, seq);
    const mask = tensor(new Int32Array(batch * seq).fill(1), { backend: meta }).reshape(batch, seq);
    const { loss } = model.forward(ids, { attentionMask: mask, labels: [0, 1] });
    loss!.backward();
    expect(meta.tracker.snapshot().live.gradient).toBe(124_647_170 * 4);
    model.dispose();
  }, 60_000);
});
