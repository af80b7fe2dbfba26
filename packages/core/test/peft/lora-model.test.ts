import { describe, expect, it } from 'vitest';
import { AdamW, LoraModel, Trainer } from '../../src/index.js';
import { FixedBatches, microModel, pseudoBatch } from '../train/helpers.js';
import { tinyModel } from './helpers.js';

describe('LoraModel.inject', () => {
  it('wraps every Linear but lm_head for all-linear, with PEFT parameter names, and freezes the rest', () => {
    const model = tinyModel();
    const before = model.numParameters();
    const adapted = LoraModel.inject(model, { r: 4, loraAlpha: 8 });
    expect(adapted.layers.map((l) => l.name)).toHaveLength(2 * 7);
    expect(adapted.targetNames().sort()).toEqual(
      ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj'].sort(),
    );
    const names = [...model.namedParameters()].map(([n]) => n);
    expect(names).toContain('model.layers.0.self_attn.q_proj.weight');
    expect(names).toContain('model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(names).toContain('model.layers.1.mlp.down_proj.lora_B.weight');
    const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n);
    expect(trainable.every((n) => /\.lora_[AB]\.weight$/.test(n))).toBe(true);
    expect(trainable).toHaveLength(28);
    // A is [r, in], B is [out, r].
    const q = adapted.layers[0]!.adapter;
    expect(q.loraA.weight.shape).toEqual([4, 16]);
    expect(q.loraB.weight.shape).toEqual([16, 4]);
    expect(model.numParameters()).toBe(before + adapted.adapterParameters().reduce((n, [, p]) => n + p.size, 0));
    model.dispose();
  });

  it('selects targets by PEFT rules: names (suffix match), a regular expression, modules_to_save', () => {
    const listed = tinyModel();
    const byName = LoraModel.inject(listed, { r: 2, targetModules: ['q_proj', 'v_proj'] });
    expect(byName.layers.map((l) => l.name)).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ]);
    listed.dispose();
    const regex = tinyModel();
    const byRegex = LoraModel.inject(regex, {
      r: 2,
      targetModules: 'model\\.layers\\.1\\..*_proj',
      modulesToSave: ['embed_tokens', 'lm_head'],
    });
    expect(byRegex.layers).toHaveLength(7);
    const trainable = [...regex.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n);
    expect(trainable).toContain('model.embed_tokens.weight');
    expect(trainable).toContain('lm_head.weight');
    expect(trainable).not.toContain('model.norm.weight');
    regex.dispose();
  });

  it('explains targets that match nothing and unknown options', () => {
    const model = tinyModel();
    expect(() => LoraModel.inject(model, { r: 2, targetModules: ['q_proj', 'qkv'] })).toThrow(
      /target_modules \["qkv"\] match no Linear layer; the model's are: model.layers.0.self_attn.q_proj/,
    );
    expect(() => LoraModel.inject(model, { r: 0 })).toThrow(/r must be a positive integer/);
    expect(() => LoraModel.inject(model, { r: 2, lora_alpha: 3 } as never)).toThrow(/unknown option\(s\) lora_alpha/);
    model.dispose();
  });

  it('low_rank frees every target weight and trains both factors', () => {
    const model = tinyModel();
    const adapted = LoraModel.inject(model, { r: 4, modulesToSave: ['embed_tokens', 'norm', 'lm_head'] }, 'low_rank');
    const names = [...model.namedParameters()].map(([n]) => n);
    expect(names).not.toContain('model.layers.0.self_attn.q_proj.weight');
    expect(names).toContain('model.layers.0.self_attn.q_proj.lora_B.weight');
    expect(names).toContain('model.layers.0.input_layernorm.weight');
    expect([...model.namedParameters()].every(([, p]) => p.requiresGrad)).toBe(true);
    expect(adapted.layers.every(({ linear }) => !linear.hasWeight)).toBe(true);
    model.dispose();
  });
});

describe('training with a frozen base', () => {
  it('only adapters get gradients and optimizer state; the frozen weights do not move; the loss falls', async () => {
    const model = microModel(4);
    const adapted = LoraModel.inject(model, { r: 4, loraAlpha: 16, targetModules: 'all-linear' });
    const frozen = [...model.namedParameters()].filter(([, p]) => !p.requiresGrad);
    const frozenBefore = frozen.map(([, p]) => Array.from(p.dataSync()));
    let optimizer: AdamW | undefined;
    const batch = pseudoBatch(2, 17, 9);
    const trainer = new Trainer({
      model,
      optimizer: (named) => {
        optimizer = new AdamW(
          named.map(([, p]) => p),
          { lr: 2e-2 },
        );
        return optimizer;
      },
      data: new FixedBatches(Array.from({ length: 12 }, () => batch)),
      steps: 12,
    });
    const losses: number[] = [];
    for (let s = 0; s < 12; s++) losses.push((await trainer.trainStep())!.loss);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.05);
    const groupParams = optimizer!.paramGroups.flatMap((g) => g.params);
    expect(groupParams).toHaveLength(adapted.adapterParameters().length);
    expect(Object.keys(optimizer!.stateDict().tensors)).toHaveLength(2 * groupParams.length);
    for (const [i, [name, p]] of frozen.entries()) {
      expect(p.grad, name).toBeNull();
      expect(Array.from(p.dataSync()), name).toEqual(frozenBefore[i]);
    }
    trainer.dispose();
    model.dispose();
  });
});
