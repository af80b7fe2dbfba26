import { describe, expect, it } from 'vitest';
import { createMetaBackend, getBackend, manualSeed, sum, type Tensor, tensor, tidy, zeros } from '../../src/index.js';
import { checkpoint, Linear, Module, ModuleList, RMSNorm } from '../../src/nn/index.js';

class Block extends Module {
  readonly proj: Linear;
  readonly norm: RMSNorm;
  constructor() {
    super();
    this.proj = this.registerModule('proj', new Linear(3, 2, { bias: true }));
    this.norm = this.registerModule('norm', new RMSNorm(2));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.norm.forward(this.proj.forward(x).silu()));
  }
}

class Net extends Module {
  readonly blocks = this.registerModule('blocks', new ModuleList([new Block(), new Block()]));
  readonly scale = this.registerParameter('scale', tensor([2]));
}

class Tied extends Module {
  readonly a = this.registerModule('a', new Linear(2, 2));
  readonly b = this.registerModule('b', new Linear(2, 2, { tiedWeight: this.a.weight }));
}

const liveParameterBytes = (): number => getBackend().tracker.snapshot().live.parameter;

describe('Module', () => {
  it('names parameters and modules with dots, in registration order', () => {
    const net = new Net();
    expect([...net.namedParameters()].map(([n, p]) => [n, p.shape])).toEqual([
      ['scale', [1]],
      ['blocks.0.proj.weight', [2, 3]],
      ['blocks.0.proj.bias', [2]],
      ['blocks.0.norm.weight', [2]],
      ['blocks.1.proj.weight', [2, 3]],
      ['blocks.1.proj.bias', [2]],
      ['blocks.1.norm.weight', [2]],
    ]);
    expect([...net.namedModules()].map(([n]) => n)).toEqual([
      '',
      'blocks',
      'blocks.0',
      'blocks.0.proj',
      'blocks.0.norm',
      'blocks.1',
      'blocks.1.proj',
      'blocks.1.norm',
    ]);
    expect(net.numParameters()).toBe(1 + 2 * (6 + 2 + 2));
    net.nameParameters();
    expect(net.blocks.at(1).proj.weight.name).toBe('blocks.1.proj.weight');
    net.dispose();
  });

  it('makes parameters that require grad, count as parameter memory and outlive tidy scopes', () => {
    const before = liveParameterBytes();
    const layer = tidy(() => new Linear(4, 5, { bias: true }));
    expect(layer.weight.isDisposed).toBe(false);
    expect(layer.weight.requiresGrad).toBe(true);
    expect(layer.weight.storage.category).toBe('parameter');
    expect(liveParameterBytes() - before).toBe(4 * (20 + 5));
    layer.dispose();
    expect(liveParameterBytes()).toBe(before);
  });

  it('rejects dotted and repeated names', () => {
    class Bad extends Module {
      constructor(name: string, twice: boolean) {
        super();
        this.registerModule(name, new RMSNorm(2));
        if (twice) this.registerParameter(name, tensor([1]));
      }
    }
    expect(() => new Bad('a.b', false)).toThrow(/module name 'a.b' must be letters, digits and underscores/);
    expect(() => new Bad('a', true)).toThrow(/the name 'a' is already registered/);
  });

  it('lists a tied weight once in parameters() and under every name in stateDict()', () => {
    const tied = new Tied();
    expect([...tied.namedParameters()].map(([n]) => n)).toEqual(['a.weight']);
    expect(Object.keys(tied.stateDict())).toEqual(['a.weight', 'b.weight']);
    expect(tied.parameterAliases().get('b.weight')).toEqual(['a.weight']);
    tied.dispose();
  });

  it('sets training mode recursively', () => {
    const net = new Net().eval();
    expect([...net.namedModules()].every(([, m]) => !m.training)).toBe(true);
    net.train();
    expect(net.blocks.at(0).norm.training).toBe(true);
    net.dispose();
  });
});

describe('Module.loadStateDict', () => {
  it('copies values into the existing parameters, converting floating dtypes', () => {
    const layer = new Linear(2, 2, { bias: true });
    const weight = layer.weight;
    layer.loadStateDict({ weight: tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'bfloat16' }), bias: tensor([5, 6]) });
    expect(layer.weight).toBe(weight); // in place: optimizers holding it stay valid
    expect(Array.from(layer.weight.dataSync())).toEqual([1, 2, 3, 4]);
    expect(Array.from(layer.bias!.dataSync())).toEqual([5, 6]);
    layer.dispose();
  });

  it('lists missing and unexpected keys when strict, and reports them when not', () => {
    const layer = new Linear(2, 2, { bias: true });
    const extra = { weight: zeros([2, 2]), other: zeros([1]), more: zeros([1]) };
    expect(() => layer.loadStateDict(extra)).toThrow(
      'loadStateDict: the state dict does not match the module; missing keys: bias; unexpected keys: other, more',
    );
    expect(layer.loadStateDict(extra, { strict: false })).toEqual({
      missingKeys: ['bias'],
      unexpectedKeys: ['other', 'more'],
    });
    expect(Array.from(layer.weight.dataSync())).toEqual([0, 0, 0, 0]);
    layer.dispose();
  });

  it('lists every shape and dtype mismatch', () => {
    const layer = new Linear(2, 2, { bias: true });
    expect(() => layer.loadStateDict({ weight: zeros([2, 3]), bias: zeros([2], { dtype: 'int32' }) })).toThrow(
      'loadStateDict: 2 tensor(s) do not fit the module: weight: expected shape [2, 2], got [2, 3], bias: expected a floating tensor (float32), got int32',
    );
    expect(() =>
      layer.loadStateDict({ weight: zeros([2, 2], { backend: createMetaBackend() }), bias: zeros([2]) }),
    ).toThrow(/weight: the tensor is on the meta backend, the module on cpu/);
    layer.dispose();
  });

  it('accepts a tied weight under any one of its names', () => {
    const tied = new Tied();
    tied.loadStateDict({
      'b.weight': tensor([
        [1, 2],
        [3, 4],
      ]),
    });
    expect(Array.from(tied.a.weight.dataSync())).toEqual([1, 2, 3, 4]);
    tied.dispose();
  });
});

describe('Module.toDType', () => {
  it('converts parameters to bfloat16 storage, keeping names and ties and halving parameter memory', () => {
    const tied = new Tied().nameParameters();
    const before = liveParameterBytes();
    const original = Array.from(tied.a.weight.dataSync());
    tied.toDType('bfloat16');
    expect(tied.a.weight.dtype).toBe('bfloat16');
    expect(tied.b.weight).toBe(tied.a.weight);
    expect(tied.a.weight.name).toBe('a.weight');
    expect(tied.a.weight.requiresGrad).toBe(true);
    expect(before - liveParameterBytes()).toBe(4 * 2); // 4 elements: 16 bytes -> 8 bytes
    const converted = tied.a.weight.dataSync();
    for (const [i, v] of original.entries()) expect(Math.abs(converted[i]! - v)).toBeLessThanOrEqual(Math.abs(v) / 128);
    expect(() => tied.toDType('int32')).toThrow(/expected a floating dtype, got int32/);
    tied.dispose();
  });
});

describe('checkpoint', () => {
  it('gives the same input and parameter gradients as running the module directly', () => {
    const run = (recompute: boolean) => {
      manualSeed(9);
      const block = new Block();
      const x = tensor(
        [
          [0.5, -1, 2],
          [1, 0.25, -0.75],
        ],
        { requiresGrad: true },
      );
      tidy(() => {
        const y = recompute ? checkpoint(block, x, (t) => block.forward(t)) : block.forward(x);
        expect(y.gradFn?.name === 'checkpoint').toBe(recompute);
        sum(y.square()).backward();
      });
      const grads = [x, ...block.parameters()].map((t) => Array.from(t.grad!.dataSync()));
      block.dispose();
      return grads;
    };
    const direct = run(false);
    const recomputed = run(true);
    expect(direct.flat().some((g) => g !== 0)).toBe(true);
    expect(recomputed).toEqual(direct);
  });
});
