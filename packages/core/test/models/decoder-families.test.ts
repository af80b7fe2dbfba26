/**
 * Every decoder family against the float64 reference of llama-reference.ts: logits, the masked
 * shifted loss and every parameter's gradient (central differences of the reference loss), with
 * padding on both sides, GQA, explicit head_dim, RoPE scaling in both config spellings, biases,
 * tied embeddings and Mistral's sliding window.
 */
import { describe, expect, it } from 'vitest';
import { KVCache, manualSeed, noGrad, type Tensor, tensor } from '../../src/index.js';
import { type LlamaConfigInput, LlamaForCausalLM } from '../../src/models/index.js';
import { CASES, IDS, LABELS, MASK, randomize } from './decoder-family-cases.js';
import { referenceLogits, referenceLoss } from './llama-reference.js';

/** Host copies of the parameters, one array per tensor (a tied weight shares its array). */
function hostWeights(model: LlamaForCausalLM): Map<string, Float64Array> {
  const byTensor = new Map<Tensor, Float64Array>();
  const out = new Map<string, Float64Array>();
  for (const [name, p] of model.namedParameters({ removeDuplicate: false })) {
    let values = byTensor.get(p);
    if (!values) {
      values = Float64Array.from(p.dataSync());
      byTensor.set(p, values);
    }
    out.set(name, values);
  }
  return out;
}

function lookup(weights: Map<string, Float64Array>): (name: string) => Float64Array {
  return (name) => {
    const w = weights.get(name);
    if (!w) throw new Error(`no parameter ${name}`);
    return w;
  };
}

describe.each(CASES)('decoder family: $name', ({ config, reference }) => {
  it('matches the reference: logits at real tokens, masked loss, and every gradient', () => {
    manualSeed(7);
    const model = new LlamaForCausalLM(config as unknown as LlamaConfigInput, { dtype: 'float64' });
    randomize(model);
    const ids = tensor(IDS, { dtype: 'int32' });
    const { logits, loss } = model.forward(ids, {
      attentionMask: tensor(MASK, { dtype: 'int32' }),
      labels: tensor(LABELS, { dtype: 'int32' }),
    });
    const weights = hostWeights(model);
    const lmHead = model.config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    const expected = referenceLogits(reference, lookup(weights), IDS, lmHead, MASK);
    const got = logits.dataSync();
    for (let b = 0; b < 2; b++) {
      for (let s = 0; s < 6; s++) {
        if (!MASK[b]![s]) continue;
        for (let v = 0; v < 11; v++) expect(got[(b * 6 + s) * 11 + v]).toBeCloseTo(expected[b]![s]![v]!, 10);
      }
    }
    expect(loss!.itemSync()).toBeCloseTo(referenceLoss(expected, LABELS), 10);

    loss!.backward();
    const referenceAt = () => referenceLoss(referenceLogits(reference, lookup(weights), IDS, lmHead, MASK), LABELS);
    const h = 1e-5;
    for (const [name, p] of model.namedParameters()) {
      const values = weights.get(name)!;
      const grad = p.grad!.dataSync();
      for (const index of [0, Math.floor(p.size / 2), p.size - 1]) {
        const saved = values[index]!;
        values[index] = saved + h;
        const plus = referenceAt();
        values[index] = saved - h;
        const minus = referenceAt();
        values[index] = saved;
        const numeric = (plus - minus) / (2 * h);
        expect(Math.abs(grad[index]! - numeric), `${name}[${index}]`).toBeLessThan(1e-7 + 1e-5 * Math.abs(numeric));
      }
    }
    for (const t of [ids, logits, loss!]) t.dispose();
    model.dispose();
  });

  it('gives the same gradients with gradient checkpointing, padding mask included', () => {
    const gradients = (gradientCheckpointing: boolean) => {
      const model = new LlamaForCausalLM(config as unknown as LlamaConfigInput, {
        dtype: 'float64',
        gradientCheckpointing,
      });
      randomize(model);
      const { logits, loss } = model.forward(tensor(IDS, { dtype: 'int32' }), {
        attentionMask: tensor(MASK, { dtype: 'int32' }),
        labels: tensor(LABELS, { dtype: 'int32' }),
      });
      logits.dispose();
      loss!.backward();
      loss!.dispose();
      const out = [...model.namedParameters()].map(([, p]) => Array.from(p.grad!.dataSync()));
      model.dispose();
      return out;
    };
    const plain = gradients(false);
    for (const [i, g] of gradients(true).entries()) {
      for (const [j, v] of g.entries()) expect(v).toBeCloseTo(plain[i]![j]!, 12);
    }
  });

  it('decodes with a KV cache exactly as a full forward pass (prefill 4, then one token at a time)', () => {
    manualSeed(8);
    const model = new LlamaForCausalLM(config as unknown as LlamaConfigInput, { dtype: 'float64' });
    randomize(model);
    const row = [3, 1, 4, 1, 5, 9, 2];
    const full = noGrad(() => model.forward(tensor([row], { dtype: 'int32' })).logits);
    const cache = new KVCache(model.config.num_hidden_layers);
    const steps = [row.slice(0, 4), ...row.slice(4).map((id) => [id])];
    const pieces: number[] = [];
    for (const step of steps) {
      const { logits } = noGrad(() => model.forward(tensor([step], { dtype: 'int32' }), { cache }));
      pieces.push(...logits.dataSync());
      logits.dispose();
    }
    expect(cache.length).toBe(row.length);
    const whole = full.dataSync();
    for (const [i, v] of pieces.entries()) expect(v).toBeCloseTo(whole[i]!, 10);
    cache.dispose();
    full.dispose();
    model.dispose();
  });
});
