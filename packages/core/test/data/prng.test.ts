import { describe, expect, it } from 'vitest';
import { ShuffleBuffer, Xoshiro128 } from '../../src/data/index.js';

describe('Xoshiro128', () => {
  it('follows the xoshiro128** recurrence (outputs worked out by hand from state [1, 2, 3, 4])', () => {
    const rng = Xoshiro128.fromState([1, 2, 3, 4]);
    // out = rotl(s1 * 5, 7) * 9: s1 = 2 -> 11520; then s1 = 0 -> 0; then s1 = 1029 -> 5927040.
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([11520, 0, 5927040]);
  });

  it('is deterministic per seed, differs across seeds, and resumes from its state', () => {
    const a = Xoshiro128.fromSeed(42);
    const b = Xoshiro128.fromSeed(42);
    const c = Xoshiro128.fromSeed(43);
    const first = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(first);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(first);
    const saved = JSON.parse(JSON.stringify(a.state()));
    const resumed = Xoshiro128.fromState(saved);
    expect(Array.from({ length: 8 }, () => resumed.nextUint32())).toEqual(
      Array.from({ length: 8 }, () => a.nextUint32()),
    );
    // Seeds above 2^32 still matter.
    expect(Xoshiro128.fromSeed(2 ** 40).state()).not.toEqual(Xoshiro128.fromSeed(0).state());
  });

  it('draws integers in range without visible bias', () => {
    const rng = Xoshiro128.fromSeed(7);
    const counts = new Array(6).fill(0);
    const draws = 60_000;
    for (let i = 0; i < draws; i++) counts[rng.nextInt(6)]++;
    // Chi-square with 5 degrees of freedom; 20.5 is the 0.1% critical value.
    const expected = draws / 6;
    const chi2 = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(20.5);
    const f = rng.nextFloat();
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThan(1);
  });

  it('rejects bad seeds, states and bounds', () => {
    expect(() => Xoshiro128.fromSeed(-1)).toThrow(/seed must be a non-negative safe integer, got -1/);
    expect(() => Xoshiro128.fromSeed(1.5)).toThrow(/got 1.5/);
    expect(() => Xoshiro128.fromState([0, 0, 0, 0])).toThrow(/not all zero/);
    expect(() => Xoshiro128.fromState([1, 2, 3])).toThrow(/four unsigned 32-bit integers/);
    expect(() => Xoshiro128.fromSeed(1).nextInt(0)).toThrow(/integer in \[1, 2\^32\], got 0/);
  });
});

describe('ShuffleBuffer', () => {
  it('emits every item exactly once, in a seeded order, and passes through with capacity 1', async () => {
    const run = (capacity: number, seed: number) => {
      const buffer = new ShuffleBuffer<number>(capacity, Xoshiro128.fromSeed(seed));
      const out: number[] = [];
      for (let i = 0; i < 100; i++) {
        const item = buffer.offer(i);
        if (item !== undefined) out.push(item);
      }
      for (let item = buffer.take(); item !== undefined; item = buffer.take()) out.push(item);
      return out;
    };
    const shuffled = run(16, 1);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(shuffled).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(run(16, 1)).toEqual(shuffled);
    expect(run(16, 2)).not.toEqual(shuffled);
    expect(run(1, 1)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('rejects a restored content larger than its capacity', () => {
    expect(() => new ShuffleBuffer(2, Xoshiro128.fromSeed(0), [1, 2, 3])).toThrow(
      /holds 3 items but its capacity is 2/,
    );
  });
});
