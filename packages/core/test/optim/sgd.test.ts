import { describe, expect, it } from 'vitest';
import { getBackend } from '../../src/index.js';
import { SGD, type SGDOptions } from '../../src/optim/index.js';
import { expectClose, param, pseudoRandom, setGrad, values } from './helpers.js';

interface Hyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  wd: number;
}

/** torch.optim.SGD's update written out on plain float64 numbers. */
function sgdByHand(p0: readonly number[], grads: readonly (readonly number[])[], h: Hyper): number[] {
  const p = [...p0];
  let buf: number[] | undefined;
  for (const g of grads) {
    const d = g.map((gi, i) => gi + h.wd * p[i]!);
    let step = d;
    if (h.momentum !== 0) {
      buf = buf ? buf.map((b, i) => h.momentum * b + (1 - h.dampening) * d[i]!) : [...d];
      const b = buf;
      step = h.nesterov ? d.map((di, i) => di + h.momentum * b[i]!) : b;
    }
    for (let i = 0; i < p.length; i++) p[i]! -= h.lr * step[i]!;
  }
  return p;
}

const cases: [string, Hyper][] = [
  ['plain', { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, wd: 0 }],
  ['weight decay', { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, wd: 0.05 }],
  ['momentum', { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, wd: 0 }],
  ['momentum with dampening and weight decay', { lr: 0.05, momentum: 0.8, dampening: 0.3, nesterov: false, wd: 0.01 }],
  ['nesterov', { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: true, wd: 0.01 }],
];

function optionsOf(h: Hyper): Partial<SGDOptions> {
  return { lr: h.lr, momentum: h.momentum, dampening: h.dampening, nesterov: h.nesterov, weightDecay: h.wd };
}

describe('SGD against the PyTorch formulas', () => {
  it.each(cases)('%s: four float64 steps', (_, h) => {
    const start = pseudoRandom(21, 6);
    const grads = Array.from({ length: 4 }, (_, s) => pseudoRandom(30 + s, 6));
    const p = param(start, [2, 3]);
    const opt = new SGD([p], optionsOf(h));
    for (const g of grads) {
      setGrad(p, g);
      opt.step();
    }
    expectClose(values(p), sgdByHand(start, grads, h), 1e-13, 1e-15);
    const keys = Object.keys(opt.stateDict().tensors);
    expect(keys).toEqual(h.momentum !== 0 ? ['state.0.momentum_buffer'] : []);
    opt.dispose();
  });

  it('one momentum step worked out by hand: the buffer starts as the first gradient', () => {
    // p = 1, g = 2, lr = 0.1, momentum = 0.9, dampening = 0.5: buf = 2 (no dampening on step 1), p = 0.8.
    // Step 2, g = 1: buf = 0.9 * 2 + 0.5 * 1 = 2.3, p = 0.8 - 0.23 = 0.57.
    const p = param([1]);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
    setGrad(p, [2]);
    opt.step();
    expect(values(p)[0]).toBeCloseTo(0.8, 14);
    setGrad(p, [1]);
    opt.step();
    expect(values(p)[0]).toBeCloseTo(0.57, 14);
    expect(values(opt.stateDict().tensors['state.0.momentum_buffer']!)[0]).toBeCloseTo(2.3, 14);
    opt.dispose();
  });

  it('updates bfloat16 parameters in float32 with a float32 buffer', () => {
    const p = param([1, -1], [2], 'bfloat16');
    const opt = new SGD([p], { lr: 0.5, momentum: 0.5 });
    setGrad(p, [0.5, 0.25]);
    opt.step();
    expect(p.dtype).toBe('bfloat16');
    expect(values(p)).toEqual([0.75, -1.125]);
    expect(opt.stateDict().tensors['state.0.momentum_buffer']!.dtype).toBe('float32');
    opt.dispose();
  });

  it('counts the momentum buffer as optimizer memory and leaks no temporaries', () => {
    const tracker = getBackend().tracker;
    const p = param(pseudoRandom(1, 10), [10], 'float32');
    setGrad(p, pseudoRandom(2, 10));
    const before = tracker.snapshot();
    const opt = new SGD([p], { momentum: 0.9, nesterov: true, weightDecay: 0.1 });
    opt.step();
    opt.step();
    const after = tracker.snapshot();
    expect(after.live.optimizer - before.live.optimizer).toBe(4 * 10);
    expect(after.liveAllocations - before.liveAllocations).toBe(1);
    opt.dispose();
    expect(tracker.snapshot().liveAllocations).toBe(before.liveAllocations);
  });
});

describe('SGD options', () => {
  it.each([
    [{ lr: -0.1 }, /SGD: parameter group 0: lr must be a finite number >= 0, got -0.1/],
    [{ momentum: -1 }, /group 0: momentum must be a finite number >= 0, got -1/],
    [{ weightDecay: Number.POSITIVE_INFINITY }, /group 0: weightDecay must be a finite number >= 0, got Infinity/],
    [{ nesterov: true }, /group 0: nesterov needs momentum > 0 and dampening 0, got momentum 0 and dampening 0/],
    [{ nesterov: true, momentum: 0.9, dampening: 0.1 }, /nesterov needs momentum > 0 and dampening 0/],
  ])('rejects %o', (options, message) => {
    expect(() => new SGD([param([1])], options)).toThrow(message);
  });
});
