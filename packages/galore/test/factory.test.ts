import { AdamW, randn, tensor } from '@galore-ts/core';
import { describe, expect, it } from 'vitest';
import {
  AdamW8bit,
  createOptimizer,
  GaLoreAdafactor,
  GaLoreAdamW,
  GaLoreAdamW8bit,
  NO_DECAY_BIAS_AND_NORM,
  OPTIMIZER_NAMES,
  selectTargets,
} from '../src/index.js';
import { tinyLlama } from './helpers.js';

describe('target selection (optim_target_modules)', () => {
  it('defaults to the attention and MLP linear weights of LLaMA', () => {
    const { targets, others } = selectTargets(tinyLlama().namedParameters());
    expect(targets.map(([n]) => n)).toEqual([
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.k_proj.weight',
      'model.layers.0.self_attn.v_proj.weight',
      'model.layers.0.self_attn.o_proj.weight',
      'model.layers.0.mlp.gate_proj.weight',
      'model.layers.0.mlp.up_proj.weight',
      'model.layers.0.mlp.down_proj.weight',
    ]);
    expect(others.map(([n]) => n)).toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.post_attention_layernorm.weight',
      'model.norm.weight',
      'lm_head.weight',
    ]);
  });

  it('matches a single string as a full regular expression, list entries as names, substrings or regexes', () => {
    const names = (t: Parameters<typeof selectTargets>[1]) =>
      selectTargets(tinyLlama().namedParameters(), t).targets.map(([n]) => n);
    expect(names('.*\\.(q|v)_proj')).toEqual([
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.v_proj.weight',
    ]);
    expect(names(['q_proj', '.*mlp\\.down_proj'])).toEqual([
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.mlp.down_proj.weight',
    ]);
    // A lone string is a regular expression for the whole module name, so a bare suffix matches nothing.
    expect(() => names('q_proj')).toThrow(/"q_proj" match no parameter/);
  });

  it('errors on a pattern that matches nothing, listing the modules', () => {
    expect(() => selectTargets(tinyLlama().namedParameters(), ['attn', 'feed_forward'])).toThrow(
      /target pattern\(s\) "feed_forward" match no parameter; modules with weights are: model.embed_tokens, /,
    );
  });

  it('errors when a pattern selects a weight that is not 2-D', () => {
    expect(() => selectTargets(tinyLlama().namedParameters(), ['layernorm'])).toThrow(
      /'model.layers.0.input_layernorm.weight' matches the target pattern "layernorm" but has shape \[8\]; GaLore projects 2-D weights only/,
    );
  });
});

describe('createOptimizer', () => {
  it.each([
    ['adamw', AdamW, false],
    ['adamw_8bit', AdamW8bit, false],
    ['galore_adamw', GaLoreAdamW, false],
    ['galore_adamw_8bit', GaLoreAdamW8bit, false],
    ['galore_adafactor', GaLoreAdafactor, false],
    ['adafactor', GaLoreAdafactor, false],
    ['galore_adamw_layerwise', GaLoreAdamW, true],
    ['galore_adamw_8bit_layerwise', GaLoreAdamW8bit, true],
    ['galore_adafactor_layerwise', GaLoreAdafactor, true],
  ] as const)('%s', (name, cls, layerwise) => {
    expect(OPTIMIZER_NAMES).toContain(name);
    const setup = createOptimizer(name, tinyLlama().namedParameters(), name.startsWith('galore') ? { rank: 4 } : {});
    expect(setup.optimizer).toBeInstanceOf(cls);
    expect(setup.layerwise !== null).toBe(layerwise);
    expect(setup.projected.length).toBe(name.startsWith('galore') ? 7 : 0);
    if (name.startsWith('galore')) {
      const projectedGroup = setup.optimizer.paramGroups.find((g) => g.options.rank !== undefined)!;
      expect(projectedGroup.options).toMatchObject({ rank: 4, updateProjGap: 200, scale: 0.25, projType: 'std' });
    }
    setup.layerwise?.dispose();
  });

  it("uses the paper's defaults (T 200, alpha 0.25, rank a quarter of the hidden size) when none are given", () => {
    const setup = createOptimizer('galore_adamw', tinyLlama().namedParameters());
    expect(setup.optimizer.paramGroups[1]!.options).toMatchObject({ rank: 2, updateProjGap: 200, scale: 0.25 });
  });

  it.each(['galore_adafactor', 'adafactor'])('%s uses a fixed lr as Hugging Face sets it up', (name) => {
    const setup = createOptimizer(name, tinyLlama().namedParameters(), { lr: 0.01 });
    expect(setup.optimizer.paramGroups[0]!.options).toMatchObject({
      lr: 0.01,
      relativeStep: false,
      scaleParameter: false,
    });
    // Plain adafactor projects nothing: one group holds every parameter.
    if (name === 'adafactor') expect(setup.optimizer.paramGroups).toHaveLength(1);
  });

  it('rejects unknown names and invalid options before training', () => {
    const params = () => tinyLlama().namedParameters();
    expect(() => createOptimizer('galore_sgd', params())).toThrow(
      /unknown optimizer 'galore_sgd'; expected one of adamw, adamw_8bit/,
    );
    expect(() => createOptimizer('galore_adamw', params(), { rank: -1 })).toThrow(
      /rank must be a positive integer, got -1/,
    );
    expect(() => createOptimizer('galore_adamw', params(), { updateProjGap: 0 })).toThrow(
      /updateProjGap must be a positive integer/,
    );
    expect(() => createOptimizer('galore_adamw', params(), { projType: 'sideways' as 'std' })).toThrow(
      /projType must be one of/,
    );
    expect(() => createOptimizer('galore_adamw', params(), { targetModules: ['nope'] })).toThrow(
      /"nope" match no parameter/,
    );
  });

  it('accepts plain [name, tensor] pairs', () => {
    const w = randn([6, 6], { requiresGrad: true });
    const b = tensor([0, 0, 0], { requiresGrad: true });
    const setup = createOptimizer(
      'galore_adamw',
      [
        ['block.mlp.fc.weight', w],
        ['block.mlp.fc.bias', b],
      ],
      { rank: 2 },
    );
    expect(setup.projected).toEqual(['block.mlp.fc.weight']);
  });

  it.each(['adamw', 'adamw_8bit', 'galore_adamw', 'galore_adafactor'])(
    '%s decays no bias or LayerNorm weight under noDecay (run_glue.py), and decays the rest',
    (name) => {
      const params: [string, ReturnType<typeof tensor>][] = [
        [
          'encoder.dense.weight',
          tensor(
            [
              [1, 1, 1],
              [1, 1, 1],
            ],
            { requiresGrad: true },
          ),
        ],
        ['encoder.dense.bias', tensor([1, 1], { requiresGrad: true })],
        ['encoder.LayerNorm.weight', tensor([1, 1], { requiresGrad: true })],
      ];
      const galore = name.startsWith('galore');
      const setup = createOptimizer(name, params, {
        lr: 0.1,
        weightDecay: 0.5,
        noDecay: NO_DECAY_BIAS_AND_NORM,
        ...(galore ? { rank: 1, targetModules: ['dense'] } : {}),
      });
      const exempt = setup.optimizer.paramGroups.filter((g) => g.options.weightDecay === 0);
      expect(exempt.flatMap((g) => g.names)).toEqual(['encoder.dense.bias', 'encoder.LayerNorm.weight']);
      // Zero gradients: only decoupled decay moves a weight, by lr * weightDecay.
      for (const [, p] of params) p.mul(0).sum().backward();
      setup.optimizer.step();
      const [weight, bias, norm] = params.map(([, p]) => [...p.dataSync()]);
      for (const v of weight!) expect(v).toBeCloseTo(0.95, 6);
      expect([...bias!, ...norm!]).toEqual([1, 1, 1, 1]);
    },
  );

  it('refuses a noDecay that is not a list of name parts', () => {
    const params = () => tinyLlama().namedParameters();
    expect(() => createOptimizer('adamw', params(), { noDecay: 'bias' as never })).toThrow(/noDecay must be a list/);
    expect(() => createOptimizer('adamw', params(), { noDecay: [''] })).toThrow(/noDecay must be a list/);
  });
});
