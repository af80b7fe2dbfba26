import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CpuBackend, createCpuBackend } from '../../../src/backends/cpu/index.js';
import {
  bfloat16BitsToFloat32,
  DTYPES,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '../../../src/dtype.js';
import { MemoryTracker } from '../../../src/memory.js';

describe('CpuBackend storage', () => {
  it('reports alloc, retag and free to its tracker', () => {
    const tracker = new MemoryTracker();
    const be = createCpuBackend({ tracker });
    expect(be.tracker).toBe(tracker);
    const a = be.alloc(10, 'float32', 'parameter');
    const b = be.alloc(3, 'float64', 'activation');
    expect(a.byteLength).toBe(40);
    expect(tracker.snapshot().live.parameter).toBe(40);
    expect(tracker.snapshot().totalLive).toBe(64);
    be.retag(a, 'optimizer');
    expect(a.category).toBe('optimizer');
    expect(tracker.snapshot().live.parameter).toBe(0);
    expect(tracker.snapshot().live.optimizer).toBe(40);
    be.free(a);
    be.free(b);
    const after = tracker.snapshot();
    expect(after.totalLive).toBe(0);
    expect(after.liveAllocations).toBe(0);
    expect(after.totalPeak).toBe(64);
  });

  it('refuses a double free and any use after free, naming the storage', () => {
    const be = new CpuBackend();
    const a = be.alloc(4, 'float32', 'other');
    be.free(a);
    expect(() => be.free(a)).toThrow(/already freed/);
    expect(() => be.run('fill', { out: a }, { value: 1 })).toThrow(/already freed/);
    expect(() => be.readSync(a)).toThrow(/already freed/);
    expect(be.tracker.snapshot().liveAllocations).toBe(0);
  });

  it('refuses storages of another backend instance', () => {
    const one = new CpuBackend();
    const two = new CpuBackend();
    const a = one.alloc(2, 'float32', 'other');
    expect(() => two.run('fill', { out: a }, { value: 0 })).toThrow(/another cpu backend instance/);
  });

  it('checks sizes, dtypes and categories on alloc and write', () => {
    const be = new CpuBackend();
    expect(() => be.alloc(-1, 'float32', 'other')).toThrow(/size must be a non-negative integer; got -1/);
    expect(() => be.alloc(2, 'int64' as never, 'other')).toThrow(/unknown dtype "int64"/);
    expect(() => be.alloc(2, 'float32', 'weights' as never)).toThrow(/unknown memory category "weights"/);
    const a = be.alloc(3, 'float32', 'other');
    expect(() => be.write(a, new Float32Array(2))).toThrow(/data has 2 elements; the storage holds 3/);
    expect(() => be.write(a, new Float64Array(3))).toThrow(/takes a Float32Array; got Float64Array/);
  });

  it('supports every dtype and returns copies from read', async () => {
    const be = new CpuBackend();
    for (const dtype of DTYPES) expect(be.supportsDType(dtype)).toBe(true);
    const a = be.alloc(3, 'int32', 'other');
    be.write(a, new Int32Array([1, 2, 3]));
    const first = (await be.read(a)) as Int32Array;
    first[0] = 99;
    expect(Array.from(be.readSync(a))).toEqual([1, 2, 3]);
  });

  it('is unusable after destroy', () => {
    const be = new CpuBackend();
    const a = be.alloc(1, 'float32', 'other');
    be.destroy();
    expect(() => be.alloc(1, 'float32', 'other')).toThrow(/destroyed/);
    expect(() => be.run('fill', { out: a }, { value: 0 })).toThrow(/destroyed/);
  });
});

describe('16-bit storage round trip', () => {
  const be = new CpuBackend();
  const roundTrip = (dtype: 'bfloat16' | 'float16', xs: number[]): number[] => {
    const src = be.alloc(xs.length, 'float32', 'other');
    be.write(src, Float32Array.from(xs));
    const half = be.alloc(xs.length, dtype, 'other');
    const back = be.alloc(xs.length, 'float32', 'other');
    be.run('cast', { x: src, out: half }, {});
    be.run('cast', { x: half, out: back }, {});
    return Array.from(be.readSync(back));
  };

  it('bfloat16 keeps 8 significant bits: relative error <= 2^-8 (unit round-off) and idempotent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }), {
          minLength: 1,
          maxLength: 50,
        }),
        (xs) => {
          const once = roundTrip('bfloat16', xs);
          once.forEach((y, i) => {
            const x = Math.fround(xs[i] as number);
            expect(Math.abs(y - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -8 + 1e-40);
          });
          expect(roundTrip('bfloat16', once)).toEqual(once);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('bfloat16 cast agrees with the dtype helpers bit for bit', () => {
    const xs = [0, -0, 1, -1.5, 3.25, 65504, 1e-20, 3.4e38];
    const half = be.alloc(xs.length, 'bfloat16', 'other');
    const src = be.alloc(xs.length, 'float64', 'other');
    be.write(src, Float64Array.from(xs));
    be.run('cast', { x: src, out: half }, {});
    expect(Array.from(be.readSync(half))).toEqual(xs.map(float32ToBfloat16Bits));
    expect(roundTrip('bfloat16', xs)).toEqual(xs.map((x) => bfloat16BitsToFloat32(float32ToBfloat16Bits(x))));
  });

  it('float16 round trip is exact for representable values and bounded otherwise', () => {
    const exact = [0, 1, -2, 0.5, 65504, 2 ** -24, -1023.5];
    expect(roundTrip('float16', exact)).toEqual(exact);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -60000, max: 60000, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (xs) => {
          const back = roundTrip('float16', xs);
          back.forEach((y, i) => {
            const x = xs[i] as number;
            expect(y).toBe(float16BitsToFloat32(float32ToFloat16Bits(x)));
            // Half precision: 11 significant bits, subnormal step 2^-24.
            expect(Math.abs(y - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25);
          });
        },
      ),
      { numRuns: 50 },
    );
  });
});
