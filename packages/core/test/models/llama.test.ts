import { describe, expect, it } from 'vitest';
import { createMetaBackend, manualSeed, noGrad, type Tensor, tensor, tidy, zeros } from '../../src/index.js';
import { type LlamaConfigInput, LlamaForCausalLM, llamaPreset } from '../../src/models/index.js';
import { AdamW } from '../../src/optim/index.js';
import { REFERENCE_IDS, REFERENCE_LABELS, REFERENCE_MODEL, referenceOutputs } from './llama-reference.js';

const TINY: LlamaConfigInput = REFERENCE_MODEL;

function weightsOf(model: LlamaForCausalLM): (name: string) => Float64Array {
  const dict = model.stateDict();
  return (name) => {
    const t = dict[name];
    if (!t) throw new Error(`no parameter ${name}`);
    return Float64Array.from(t.dataSync());
  };
}

function nested(t: Tensor): number[][][] {
  const [b, s, v] = t.shape as [number, number, number];
  const flat = t.dataSync();
  return Array.from({ length: b }, (_, i) =>
    Array.from({ length: s }, (_, j) => Array.from(flat.subarray((i * s + j) * v, (i * s + j + 1) * v))),
  );
}

describe('LlamaForCausalLM', () => {
  it('lists parameters with Hugging Face names in Hugging Face order', () => {
    const model = new LlamaForCausalLM({ ...TINY, num_hidden_layers: 1 });
    const layer = 'model.layers.0';
    expect([...model.namedParameters()].map(([name]) => name)).toEqual([
      'model.embed_tokens.weight',
      `${layer}.self_attn.q_proj.weight`,
      `${layer}.self_attn.k_proj.weight`,
      `${layer}.self_attn.v_proj.weight`,
      `${layer}.self_attn.o_proj.weight`,
      `${layer}.mlp.gate_proj.weight`,
      `${layer}.mlp.up_proj.weight`,
      `${layer}.mlp.down_proj.weight`,
      `${layer}.input_layernorm.weight`,
      `${layer}.post_attention_layernorm.weight`,
      'model.norm.weight',
      'lm_head.weight',
    ]);
    for (const [name, p] of model.namedParameters()) {
      expect(p.name).toBe(name);
      expect(p.requiresGrad).toBe(true);
    }
    model.dispose();
  });

  it('has GQA projection shapes: k and v project to num_key_value_heads * head_dim', () => {
    const model = new LlamaForCausalLM(TINY);
    const dict = model.stateDict();
    // head_dim = 16 / 4 = 4; 2 kv heads -> 8 rows.
    expect(dict['model.layers.1.self_attn.q_proj.weight']!.shape).toEqual([16, 16]);
    expect(dict['model.layers.1.self_attn.k_proj.weight']!.shape).toEqual([8, 16]);
    expect(dict['model.layers.1.self_attn.v_proj.weight']!.shape).toEqual([8, 16]);
    expect(dict['model.layers.1.self_attn.o_proj.weight']!.shape).toEqual([16, 16]);
    const { logits } = model.forward(tensor([[1, 2, 3]], { dtype: 'int32' }));
    expect(logits.shape).toEqual([1, 3, 11]);
    logits.dispose();
    model.dispose();
  });

  it('counts llama_60m and llama_7b parameters as computed by hand from their sizes', () => {
    const meta = createMetaBackend();
    // 60m: V=32000, H=512, I=1376, L=8: embed + lm_head = 2*V*H = 32,768,000;
    // per layer 4*H*H + 3*H*I + 2*H = 1,048,576 + 2,113,536 + 1,024 = 3,163,136; final norm 512.
    const m60 = new LlamaForCausalLM(llamaPreset('llama_60m'), { backend: meta });
    expect(m60.numParameters()).toBe(32_768_000 + 8 * 3_163_136 + 512);
    expect(m60.parameters()).toHaveLength(1 + 8 * 9 + 1 + 1);
    // 7b: 2*32000*4096 = 262,144,000; per layer 4*4096^2 + 3*4096*11008 + 2*4096 = 202,383,360.
    const m7 = new LlamaForCausalLM(llamaPreset('llama_7b'), { backend: meta });
    expect(m7.numParameters()).toBe(262_144_000 + 32 * 202_383_360 + 4096);
    expect(meta.tracker.snapshot().live.parameter).toBe(4 * (m60.numParameters() + m7.numParameters()));
    m60.dispose();
    m7.dispose();
    expect(meta.tracker.snapshot().live.parameter).toBe(0);
  });

  it('sizes the CPU presets as documented (llama_tiny ~1.3M, llama_small ~14.4M)', () => {
    const meta = createMetaBackend();
    // tiny: V=258, H=128, I=352, L=6: 2*V*H = 66,048; per layer 65,536 + 135,168 + 256 = 200,960.
    const tiny = new LlamaForCausalLM(llamaPreset('llama_tiny'), { backend: meta });
    expect(tiny.numParameters()).toBe(66_048 + 6 * 200_960 + 128);
    // small: H=384, I=1024, L=8: 2*V*H = 198,144; per layer 589,824 + 1,179,648 + 768 = 1,770,240.
    const small = new LlamaForCausalLM(llamaPreset('llama_small'), { backend: meta });
    expect(small.numParameters()).toBe(198_144 + 8 * 1_770_240 + 384);
  });

  it('ties lm_head to embed_tokens when tie_word_embeddings is set', () => {
    const model = new LlamaForCausalLM({ ...TINY, tie_word_embeddings: true });
    const dict = model.stateDict();
    expect(dict['lm_head.weight']).toBe(dict['model.embed_tokens.weight']);
    const names = [...model.namedParameters()].map(([n]) => n);
    expect(names).not.toContain('lm_head.weight');
    // Untied has one more V x H matrix.
    const untied = new LlamaForCausalLM(TINY);
    expect(untied.numParameters() - model.numParameters()).toBe(11 * 16);
    model.dispose();
    untied.dispose();
  });

  for (const tied of [false, true]) {
    it(`matches a from-the-definition float64 reference (logits and shifted loss, tied=${tied})`, () => {
      manualSeed(3);
      const config = { ...TINY, tie_word_embeddings: tied };
      const model = new LlamaForCausalLM(config, { dtype: 'float64' });
      const ids = REFERENCE_IDS;
      const labels = REFERENCE_LABELS;
      const { logits, loss } = model.forward(tensor(ids, { dtype: 'int32' }), {
        labels: tensor(labels, { dtype: 'int32' }),
      });
      const reference = referenceOutputs(weightsOf(model), tied);
      const expected = reference.logits;
      const got = nested(logits);
      for (let b = 0; b < 2; b++) {
        for (let s = 0; s < 5; s++) {
          for (let v = 0; v < 11; v++) expect(got[b]![s]![v]).toBeCloseTo(expected[b]![s]![v]!, 10);
        }
      }
      expect(loss!.itemSync()).toBeCloseTo(reference.loss, 10);
      logits.dispose();
      loss!.dispose();
      model.dispose();
    });
  }

  it('computes GQA as multi-head attention with each kv head repeated for its query group', () => {
    manualSeed(5);
    const gqa = new LlamaForCausalLM(TINY, { dtype: 'float64' });
    const mha = new LlamaForCausalLM({ ...TINY, num_key_value_heads: 4 }, { dtype: 'float64' });
    const gqaDict = gqa.stateDict();
    // Query heads 0,1 read kv head 0 and heads 2,3 read kv head 1 (head_dim 4): repeat rows blockwise.
    const repeated: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(gqaDict)) {
      if (!/(k|v)_proj/.test(name)) continue;
      const rows = Array.from(t.dataSync());
      const block = (h: number) => rows.slice(h * 4 * 16, (h + 1) * 4 * 16);
      repeated[name] = tensor([...block(0), ...block(0), ...block(1), ...block(1)], {
        shape: [16, 16],
        dtype: 'float64',
      });
    }
    mha.loadStateDict({ ...gqaDict, ...repeated });
    const ids = tensor([[4, 8, 1, 0, 9, 2]], { dtype: 'int32' });
    const a = gqa.forward(ids).logits.dataSync();
    const b = mha.forward(ids).logits.dataSync();
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 12);
    gqa.dispose();
    mha.dispose();
  });

  it('frees every activation once outputs are disposed after forward and backward', () => {
    const model = new LlamaForCausalLM(TINY);
    const backend = model.backend;
    const before = backend.tracker.snapshot().live.activation;
    const ids = tensor([[1, 2, 3, 4]], { dtype: 'int32' });
    const { logits, loss } = model.forward(ids, { labels: ids });
    loss!.backward();
    for (const t of [ids, logits, loss!]) t.dispose();
    expect(backend.tracker.snapshot().live.activation).toBe(before);
    model.dispose();
  });

  it('rejects bad input ids with clear errors', () => {
    const model = new LlamaForCausalLM({ ...TINY, max_position_embeddings: 4 });
    expect(() => model.forward(tensor([[1, 2]]))).toThrow(/input ids must be int32, got float32/);
    expect(() => model.forward(tensor([1, 2], { dtype: 'int32' }))).toThrow(/shape \[batch, seq\], got \[2\]/);
    expect(() => model.forward(zeros([1, 5], { dtype: 'int32' }))).toThrow(/sequence length 5 is outside 1..4/);
    const ids = zeros([1, 3], { dtype: 'int32' });
    expect(() => model.forward(ids, { labels: zeros([1, 2], { dtype: 'int32' }) })).toThrow(
      /labels \[1, 2\] must have the shape of input ids \[1, 3\]/,
    );
    model.dispose();
  });

  it('runs with bfloat16 weights: logits close to float32 with the same weights, bf16 gradients', () => {
    manualSeed(4);
    const bf16 = new LlamaForCausalLM(TINY).toDType('bfloat16');
    const f32 = new LlamaForCausalLM(TINY);
    f32.loadStateDict(bf16.stateDict()); // identical values: every bf16 value is a float32 value
    const ids = tensor([[1, 7, 3, 9, 2]], { dtype: 'int32' });
    const low = bf16.forward(ids, { labels: ids });
    const high = f32.forward(ids, { labels: ids });
    expect(low.logits.dtype).toBe('bfloat16');
    const a = low.logits.dataSync();
    const b = high.logits.dataSync();
    const scale = Math.max(...Array.from(b, Math.abs));
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(0.02 * scale);
    low.loss!.backward();
    for (const p of bf16.parameters()) expect(p.grad?.dtype).toBe('bfloat16');
    bf16.dispose();
    f32.dispose();
  });

  it('overfits a fixed batch: loss from ~ln(vocab) to below 0.1 within 80 AdamW steps', () => {
    manualSeed(7);
    const vocab = 32;
    const model = new LlamaForCausalLM({
      vocab_size: vocab,
      hidden_size: 32,
      intermediate_size: 64,
      num_attention_heads: 4,
      num_hidden_layers: 2,
    });
    const rows = [0, 1].map((r) => Array.from({ length: 16 }, (_, i) => (i * 7 + r * 13 + 3) % vocab));
    const ids = tensor(rows, { dtype: 'int32' });
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
    const losses: number[] = [];
    for (let step = 0; step < 80; step++) {
      tidy(() => {
        const { loss } = model.forward(ids, { labels: ids });
        losses.push(loss!.itemSync());
        loss!.backward();
        optimizer.step();
        optimizer.zeroGrad();
      });
    }
    expect(losses[0]).toBeGreaterThan(Math.log(vocab) - 0.5);
    expect(losses[0]).toBeLessThan(Math.log(vocab) + 0.5);
    expect(losses.at(-1)).toBeLessThan(0.1);
    model.dispose();
  });
});

describe('gradient checkpointing', () => {
  function lossAndGrads(checkpointing: boolean): { loss: number; grads: Map<string, Float64Array> } {
    manualSeed(11);
    const model = new LlamaForCausalLM(TINY, { dtype: 'float64', gradientCheckpointing: checkpointing });
    const ids = tensor(
      [
        [3, 1, 4, 1, 5, 9],
        [2, 6, 5, 3, 5, 8],
      ],
      { dtype: 'int32' },
    );
    const hooks: string[] = [];
    for (const [name, p] of model.namedParameters()) p.onGradReady(() => hooks.push(name));
    const loss = tidy(() => {
      const out = model.forward(ids, { labels: ids });
      out.loss!.backward();
      return out.loss!.itemSync();
    });
    // Every parameter's gradient-ready hook fires exactly once per backward.
    expect(hooks.sort()).toEqual([...model.namedParameters()].map(([n]) => n).sort());
    const grads = new Map([...model.namedParameters()].map(([n, p]) => [n, Float64Array.from(p.grad!.dataSync())]));
    model.dispose();
    return { loss, grads };
  }

  it('gives the same loss and the same gradients as the plain forward', () => {
    const plain = lossAndGrads(false);
    const recomputed = lossAndGrads(true);
    expect(recomputed.loss).toBeCloseTo(plain.loss, 12);
    expect([...recomputed.grads.keys()]).toEqual([...plain.grads.keys()]);
    for (const [name, g] of plain.grads) {
      const r = recomputed.grads.get(name)!;
      for (let i = 0; i < g.length; i++) expect(r[i]).toBeCloseTo(g[i]!, 12);
    }
  });

  it('lowers the activation peak of a training step (meta backend, llama_130m, batch 2, seq 256)', () => {
    const peakWith = (checkpointing: boolean): number => {
      const meta = createMetaBackend();
      const model = new LlamaForCausalLM(llamaPreset('llama_130m'), {
        backend: meta,
        gradientCheckpointing: checkpointing,
      });
      const ids = zeros([2, 256], { dtype: 'int32', backend: meta });
      meta.tracker.resetPeak();
      tidy(() => model.forward(ids, { labels: ids }).loss!.backward());
      const peak = meta.tracker.snapshot().peak.activation;
      model.dispose();
      return peak;
    };
    const plain = peakWith(false);
    const recomputed = peakWith(true);
    // 12 layers each keep [2, 256, 768] inputs plus attention scores [2, 12, 256, 256] and MLP
    // activations without checkpointing; with it only the layer inputs stay.
    expect(recomputed).toBeLessThan(plain * 0.6);
    expect(recomputed).toBeGreaterThan(0);
  });

  it('is off in eval mode and without grad (no recording, same outputs)', () => {
    manualSeed(2);
    const model = new LlamaForCausalLM(TINY, { gradientCheckpointing: true });
    const ids = tensor([[1, 2, 3]], { dtype: 'int32' });
    const train = noGrad(() => model.forward(ids).logits.dataSync());
    model.eval();
    const evaluated = model.forward(ids).logits;
    expect(evaluated.gradFn?.name).not.toBe('checkpoint');
    expect(Array.from(evaluated.dataSync())).toEqual(Array.from(train));
    model.dispose();
  });
});

describe('meta backend dry run', () => {
  it('runs llama_7b forward and backward at batch 1, seq 256 in seconds, allocating nothing real', () => {
    const meta = createMetaBackend();
    const started = performance.now();
    const model = new LlamaForCausalLM(llamaPreset('llama_7b'), { backend: meta });
    const ids = zeros([1, 256], { dtype: 'int32', backend: meta });
    meta.tracker.resetPeak();
    tidy(() => model.forward(ids, { labels: ids }).loss!.backward());
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeLessThan(10);
    for (const p of model.parameters()) expect(p.grad?.shape).toEqual(p.shape);
    const snap = meta.tracker.snapshot();
    expect(snap.live.parameter).toBe(4 * 6_738_415_616);
    expect(snap.live.gradient).toBe(4 * 6_738_415_616);
    expect(snap.peak.activation).toBeGreaterThan(0);
    model.dispose();
  });
});
