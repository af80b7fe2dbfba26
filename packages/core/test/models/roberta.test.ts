import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gelu, manualSeed, type Tensor, tensor } from '../../src/index.js';
import { saveTensors } from '../../src/io/tensors.js';
import {
  AutoModelForSequenceClassification,
  type EncoderConfig,
  EncoderForSequenceClassification,
  encoderConfig,
  saveEncoderClassifier,
} from '../../src/models/index.js';
import { erfExact } from '../helpers/erf-reference.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { type RefConfig, type RefWeights, referenceLogits, referenceLoss } from './roberta-reference.js';
import { TINY_ENCODER, TINY_ENCODER_BATCH } from './tiny-encoder.js';

const tmp = useTempDir('roberta-');

function rawConfig(type: 'roberta' | 'bert', labels: number): Record<string, unknown> {
  return {
    ...TINY_ENCODER,
    model_type: type,
    pad_token_id: type === 'roberta' ? 1 : 0,
    architectures: [type === 'roberta' ? 'RobertaForSequenceClassification' : 'BertForSequenceClassification'],
    id2label: Object.fromEntries(Array.from({ length: labels }, (_, i) => [String(i), `L${i}`])),
  };
}

/** A seeded stream of values in [-scale, scale), independent of the library's generator. */
function uniforms(seed: number) {
  let s = seed >>> 0;
  return (scale: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  };
}

/** Writes a folder of random float64 weights (norms around 1, everything else around 0). */
async function randomFolder(
  name: string,
  raw: Record<string, unknown>,
  extra: Record<string, Tensor> = {},
  rename: (key: string) => string | undefined = (k) => k,
): Promise<string> {
  const dir = join(tmp.path, name);
  await mkdir(dir, { recursive: true });
  const template = new EncoderForSequenceClassification(encoderConfig(raw as Partial<EncoderConfig>), {
    initialize: false,
  });
  const next = uniforms(name.length * 7919 + 17);
  const tensors: Record<string, Tensor> = { ...extra };
  for (const [key, p] of template.namedParameters()) {
    const values = Float64Array.from({ length: p.size }, () => next(0.6) + (key.includes('LayerNorm.weight') ? 1 : 0));
    const renamed = rename(key);
    if (renamed !== undefined) tensors[renamed] = tensor(values, { dtype: 'float64' }).reshape(...p.shape);
  }
  template.dispose();
  await saveTensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeFile(join(dir, 'config.json'), JSON.stringify(raw));
  return dir;
}

const { ids: IDS, mask: MASK, types: TYPES } = TINY_ENCODER_BATCH;
const int2d = (rows: number[][]) => tensor(Int32Array.from(rows.flat()), {}).reshape(rows.length, rows[0]!.length);

function refConfig(model: EncoderForSequenceClassification): RefConfig {
  const c = model.config;
  return {
    type: c.model_type,
    hidden: c.hidden_size,
    heads: c.num_attention_heads,
    layers: c.num_hidden_layers,
    intermediate: c.intermediate_size,
    labels: model.numLabels,
    pad: c.pad_token_id,
    eps: c.layer_norm_eps,
    regression: model.problemType === 'regression',
  };
}

async function checkAgainstReference(type: 'roberta' | 'bert', labels: number, targets: number[]) {
  manualSeed(3);
  const dir = await randomFolder(`${type}-${labels}`, rawConfig(type, labels));
  const { model, loadingInfo } = await AutoModelForSequenceClassification.fromPretrained(dir, { dtype: 'float64' });
  expect(loadingInfo).toEqual({ newlyInitialized: [], unused: [] });
  model.eval();
  const ids = int2d(IDS);
  const { logits, loss } = model.forward(ids, {
    attentionMask: int2d(MASK),
    tokenTypeIds: int2d(TYPES),
    labels: labels === 1 ? tensor(Float64Array.from(targets), { dtype: 'float64' }) : targets,
  });
  const c = refConfig(model);
  const weights: RefWeights = new Map(
    [...model.namedParameters()].map(([n, p]) => [n, Float64Array.from(p.dataSync())]),
  );
  const refLogits = referenceLogits(c, weights, IDS, MASK, TYPES);
  const got = Array.from(logits.dataSync());
  expect(logits.shape).toEqual([2, labels]);
  const flat = refLogits.flat();
  // float64 throughout, erf included: only rounding separates the two.
  for (const [i, v] of got.entries()) expect(Math.abs(v - flat[i]!)).toBeLessThan(1e-12);
  const refLoss = referenceLoss(c, refLogits, targets);
  expect(Math.abs(loss!.itemSync() - refLoss)).toBeLessThan(1e-12);

  // Every gradient against central differences of the reference loss.
  loss!.backward();
  const h = 1e-6;
  let worst = 0;
  for (const [name, p] of model.namedParameters()) {
    const w = weights.get(name)!;
    if (!p.grad) throw new Error(`${name}: no gradient`);
    const grad = Array.from(p.grad.dataSync());
    for (let i = 0; i < w.length; i++) {
      const keep = w[i]!;
      w[i] = keep + h;
      const up = referenceLoss(c, referenceLogits(c, weights, IDS, MASK, TYPES), targets);
      w[i] = keep - h;
      const down = referenceLoss(c, referenceLogits(c, weights, IDS, MASK, TYPES), targets);
      w[i] = keep;
      const fd = (up - down) / (2 * h);
      const error = Math.abs(grad[i]! - fd) / Math.max(1, Math.abs(fd));
      worst = Math.max(worst, error);
      if (error > 1e-6) throw new Error(`${name}[${i}]: autograd ${grad[i]} vs reference ${fd}`);
    }
  }
  // Padding is unseen: the padded row's logits equal those of the row alone without padding.
  const alone = model.forward(int2d([IDS[0]!.slice(0, 4)]), { tokenTypeIds: int2d([TYPES[0]!.slice(0, 4)]) });
  for (const [i, v] of Array.from(alone.logits.dataSync()).entries()) expect(Math.abs(v - got[i]!)).toBeLessThan(1e-12);
  // The word embedding rows of unused ids get no gradient; padding rows are position/type lookups only.
  const wordGrad = Array.from(model.stateDict()[`${type}.embeddings.word_embeddings.weight`]!.grad!.dataSync());
  expect(wordGrad.slice(3 * 8, 4 * 8).every((g) => g === 0)).toBe(true); // id 3 appears nowhere
  model.dispose();
  return worst;
}

describe('RoBERTa / BERT sequence classification', () => {
  it('the GELU the models run is the exact erf form, to float64 accuracy', () => {
    const xs = [-6, -3.2, -1.5, -0.3, 0, 1e-3, 0.7, 2.5, 5];
    const got = Array.from(gelu(tensor(Float64Array.from(xs), { dtype: 'float64' })).dataSync());
    for (const [i, x] of xs.entries()) {
      expect(Math.abs(got[i]! - 0.5 * x * (1 + erfExact(x / Math.SQRT2)))).toBeLessThan(1e-14);
    }
  });

  it('RoBERTa: logits, cross-entropy and every gradient match the float64 reference, padding included', async () => {
    expect(await checkAgainstReference('roberta', 3, [2, 0])).toBeLessThan(1e-6);
  }, 60_000);

  it('RoBERTa regression (STS-B): MSE loss and gradients match the reference', async () => {
    expect(await checkAgainstReference('roberta', 1, [3.8, 0.5])).toBeLessThan(1e-6);
  }, 60_000);

  it('BERT (pooler + classifier, positions 0..S-1): logits, loss and gradients match the reference', async () => {
    expect(await checkAgainstReference('bert', 2, [1, 0])).toBeLessThan(1e-6);
  }, 60_000);

  it('a RobertaForMaskedLM checkpoint initialises the classifier and reports new and unused weights', async () => {
    const raw = { ...rawConfig('roberta', 2), architectures: ['RobertaForMaskedLM'] };
    const H = TINY_ENCODER.hidden_size;
    const V = TINY_ENCODER.vocab_size;
    const f = (shape: number[]) =>
      tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1), {}).reshape(...shape);
    const extra = {
      'lm_head.dense.weight': f([H, H]),
      'lm_head.dense.bias': f([H]),
      'lm_head.layer_norm.weight': f([H]),
      'lm_head.layer_norm.bias': f([H]),
      'lm_head.decoder.weight': f([V, H]),
      'lm_head.bias': f([V]),
      'roberta.pooler.dense.weight': f([H, H]),
      'roberta.pooler.dense.bias': f([H]),
      'roberta.embeddings.position_ids': tensor(
        Int32Array.from({ length: 12 }, (_, i) => i),
        {},
      ).reshape(1, 12),
    };
    const dir = await randomFolder('mlm', raw, extra);
    // drop the classifier from the file: an MLM checkpoint has none
    const { loadTensors } = await import('../../src/io/tensors.js');
    const all = await loadTensors(join(dir, 'model.safetensors'));
    for (const k of Object.keys(all)) if (k.startsWith('classifier.')) delete all[k];
    await saveTensors(join(dir, 'model.safetensors'), all, { format: 'pt' });

    const { model, loadingInfo } = await AutoModelForSequenceClassification.fromPretrained(dir, { numLabels: 2 });
    expect(loadingInfo.newlyInitialized.sort()).toEqual(
      [
        'classifier.dense.bias',
        'classifier.dense.weight',
        'classifier.out_proj.bias',
        'classifier.out_proj.weight',
      ].sort(),
    );
    expect(loadingInfo.unused.sort()).toEqual(
      [
        'lm_head.bias',
        'lm_head.decoder.weight',
        'lm_head.dense.bias',
        'lm_head.dense.weight',
        'lm_head.layer_norm.bias',
        'lm_head.layer_norm.weight',
        'roberta.pooler.dense.bias',
        'roberta.pooler.dense.weight',
      ].sort(),
    );
    const word = model.stateDict()['roberta.embeddings.word_embeddings.weight']!.dataSync();
    const fileWord = all['roberta.embeddings.word_embeddings.weight']!.dataSync();
    expect(Array.from(word)).toEqual(Array.from(Float32Array.from(fileWord)));
    // The new head is drawn as transformers draws it: normal(0, 0.02) weights, zero biases.
    expect(Array.from(model.stateDict()['classifier.out_proj.bias']!.dataSync())).toEqual([0, 0]);
    model.dispose();
  });

  it('a bare RobertaModel file loads under the roberta prefix; save and load round-trip with the head', async () => {
    const raw = rawConfig('roberta', 2);
    // A RobertaModel file: the base model's keys without the prefix, no classifier.
    const dir = await randomFolder('bare', raw, {}, (k) => (k.startsWith('roberta.') ? k.slice(8) : undefined));
    const { model, loadingInfo } = await AutoModelForSequenceClassification.fromPretrained(dir, {
      labels: ['neg', 'pos'],
    });
    expect(loadingInfo.unused).toEqual([]);
    expect(loadingInfo.newlyInitialized).toEqual([
      'classifier.dense.weight',
      'classifier.dense.bias',
      'classifier.out_proj.weight',
      'classifier.out_proj.bias',
    ]);
    expect(model.config.id2label).toEqual({ 0: 'neg', 1: 'pos' });
    const saved = join(tmp.path, 'saved');
    await saveEncoderClassifier(model, saved);
    const again = await AutoModelForSequenceClassification.fromPretrained(saved);
    expect(again.loadingInfo).toEqual({ newlyInitialized: [], unused: [] });
    expect(again.model.config.architectures).toEqual(['RobertaForSequenceClassification']);
    expect(again.model.config.label2id).toEqual({ neg: 0, pos: 1 });
    const ids = int2d(IDS);
    model.eval();
    again.model.eval();
    const a = Array.from(model.forward(ids, { attentionMask: int2d(MASK) }).logits.dataSync());
    const b = Array.from(again.model.forward(ids, { attentionMask: int2d(MASK) }).logits.dataSync());
    expect(b).toEqual(a);
    model.dispose();
    again.model.dispose();
  });

  it('an old BERT checkpoint (LayerNorm gamma/beta, pre-training heads) loads as transformers loads it', async () => {
    const raw = { ...rawConfig('bert', 2), architectures: ['BertForPreTraining'] };
    const extra = { 'cls.predictions.bias': tensor(new Float32Array(TINY_ENCODER.vocab_size), {}) };
    const dir = await randomFolder('bert-legacy', raw, extra, (k) =>
      k.startsWith('classifier.')
        ? undefined
        : k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'),
    );
    const { model, loadingInfo } = await AutoModelForSequenceClassification.fromPretrained(dir);
    expect(loadingInfo).toEqual({
      newlyInitialized: ['classifier.weight', 'classifier.bias'],
      unused: ['cls.predictions.bias'],
    });
    const { loadTensors } = await import('../../src/io/tensors.js');
    const file = await loadTensors(join(dir, 'model.safetensors'), { names: ['bert.embeddings.LayerNorm.gamma'] });
    expect(Array.from(model.stateDict()['bert.embeddings.LayerNorm.weight']!.dataSync())).toEqual(
      Array.from(Float32Array.from(file['bert.embeddings.LayerNorm.gamma']!.dataSync())),
    );
    model.dispose();
  });

  it('refuses configs it cannot compute and bad inputs, by name', () => {
    expect(() => encoderConfig({ ...rawConfig('roberta', 2), hidden_act: 'relu' } as never)).toThrow(
      "hidden_act 'relu' is not supported",
    );
    expect(() =>
      encoderConfig({ ...rawConfig('roberta', 2), position_embedding_type: 'relative_key' } as never),
    ).toThrow("position_embedding_type 'relative_key'");
    expect(() => encoderConfig({ ...rawConfig('roberta', 2), model_type: 'gpt2' } as never)).toThrow('gpt2');
    const model = new EncoderForSequenceClassification(encoderConfig(rawConfig('roberta', 2) as never));
    expect(() => model.forward(int2d([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]))).toThrow('max_position_embeddings 12');
    expect(() => model.forward(int2d(IDS), { attentionMask: int2d([[1, 1]]) })).toThrow('attentionMask');
    model.dispose();
  });
});
