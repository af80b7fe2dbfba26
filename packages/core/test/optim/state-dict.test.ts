import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import { AdamW, LRScheduler, linearWarmupCosine, type Optimizer, SGD } from '../../src/optim/index.js';
import { param, pseudoRandom, setGrad, values } from './helpers.js';

const shapes = [[3, 2], [4]];
const grads = Array.from({ length: 6 }, (_, s) =>
  shapes.map((sh, k) => pseudoRandom(200 + 10 * s + k, sh[0]! * (sh[1] ?? 1))),
);

function freshParams(from?: readonly Tensor[]): Tensor[] {
  return shapes.map((sh, k) =>
    param(from ? values(from[k]!) : pseudoRandom(k + 1, sh[0]! * (sh[1] ?? 1)), sh, 'float32'),
  );
}

function train(opt: Optimizer, params: readonly Tensor[], steps: readonly number[], sched?: LRScheduler): void {
  for (const s of steps) {
    for (const [k, p] of params.entries()) setGrad(p, grads[s]![k]!);
    opt.step();
    sched?.step();
  }
}

const makers: [string, (ps: Tensor[]) => Optimizer][] = [
  [
    'AdamW fused',
    (ps) =>
      new AdamW([{ params: [ps[0]!] }, { params: [ps[1]!], options: { weightDecay: 0 } }], {
        lr: 0.05,
        weightDecay: 0.1,
      }),
  ],
  ['AdamW reference', (ps) => new AdamW(ps, { lr: 0.05, fused: false })],
  ['SGD nesterov', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
];

describe('state dict round trip', () => {
  it.each(makers)('%s: 3 steps, save, load into a new optimizer, 3 more == 6 straight', (_, make) => {
    const straightParams = freshParams();
    const straight = make(straightParams);
    const straightSched = new LRScheduler(straight, linearWarmupCosine({ warmupSteps: 2, totalSteps: 6 }));
    train(straight, straightParams, [0, 1, 2, 3, 4, 5], straightSched);

    const firstParams = freshParams();
    const first = make(firstParams);
    const firstSched = new LRScheduler(first, linearWarmupCosine({ warmupSteps: 2, totalSteps: 6 }));
    train(first, firstParams, [0, 1, 2], firstSched);
    const saved = first.stateDict();
    const json = JSON.parse(JSON.stringify(saved.json));
    const schedJson = JSON.parse(JSON.stringify(firstSched.stateDict()));

    const resumedParams = freshParams(firstParams);
    const resumed = make(resumedParams);
    resumed.loadStateDict({ tensors: saved.tensors, json });
    first.dispose(); // the loaded state holds its own copies
    const resumedSched = new LRScheduler(resumed, linearWarmupCosine({ warmupSteps: 2, totalSteps: 6 }));
    resumedSched.loadStateDict(schedJson);
    train(resumed, resumedParams, [3, 4, 5], resumedSched);

    for (const [k, p] of resumedParams.entries()) expect(values(p)).toEqual(values(straightParams[k]!));
    const a = resumed.stateDict();
    const b = straight.stateDict();
    expect(Object.keys(a.tensors).sort()).toEqual(Object.keys(b.tensors).sort());
    for (const key of Object.keys(b.tensors)) expect(values(a.tensors[key]!)).toEqual(values(b.tensors[key]!));
    expect(a.json).toEqual(b.json);
    resumed.dispose();
    straight.dispose();
  });

  it('AdamW names its state as PyTorch does and counts steps per parameter', () => {
    const ps = freshParams();
    const opt = new AdamW(ps);
    train(opt, ps, [0, 1]);
    ps[1]!.zeroGrad();
    setGrad(ps[0]!, grads[2]![0]!);
    opt.step();
    const sd = opt.stateDict();
    expect(Object.keys(sd.tensors).sort()).toEqual([
      'state.0.exp_avg',
      'state.0.exp_avg_sq',
      'state.1.exp_avg',
      'state.1.exp_avg_sq',
    ]);
    expect(sd.json.type).toBe('AdamW');
    expect(sd.json.values).toEqual({ '0': { step: 3 }, '1': { step: 2 } });
    expect(sd.json.groups[0]).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2 });
    opt.dispose();
  });

  it('refuses a state saved by another optimizer type', () => {
    const ps = freshParams();
    const sgd = new SGD(ps, { momentum: 0.5 });
    train(sgd, ps, [0]);
    expect(() => new AdamW(ps).loadStateDict(sgd.stateDict())).toThrow(/the state is for SGD, this optimizer is AdamW/);
    sgd.dispose();
  });
});
