// GaLore's 8-bit codec kernels on the CPU (the reference), through the public kernel entry point.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../src/quantization/kernels.js';
import { backend, empty, randomValues, storage, values } from '../../core/test/backends/cpu/helpers.js';

describe('8-bit blockwise quantisation', () => {
  /** A signed, non-uniform 256-entry codebook in [-1, 1] (denser near 0, like dynamic quantisation). */
  const codebook = Array.from({ length: 256 }, (_, i) => {
    const t = (i - 127.5) / 127.5;
    return Math.fround(Math.sign(t) * Math.abs(t) ** 2);
  }).sort((a, b) => a - b);

  /** Largest gap between the entries neighbouring `value` (the bound says half of it). */
  function localGap(value: number): number {
    let j = codebook.findIndex((c) => c >= value);
    if (j < 0) j = codebook.length - 1;
    const lower = Math.max(0, j - 1);
    const upper = Math.min(codebook.length - 1, j + 1);
    return Math.max(
      (codebook[j] as number) - (codebook[lower] as number),
      (codebook[upper] as number) - (codebook[j] as number),
    );
  }

  it('round trip error is at most absmax * half the local codebook gap, and codes are nearest', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer(),
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        (size, blockSize, seed, scale) => {
          const xs = randomValues(size, seed, scale);
          const blocks = Math.ceil(size / blockSize);
          const x = storage('float32', xs);
          const book = storage('float32', codebook);
          const codes = empty('uint8', size);
          const absmax = empty('float32', blocks);
          backend.run('quantizeBlockwise', { x, codebook: book, codes, absmax }, { blockSize });
          const out = empty('float32', size);
          backend.run('dequantizeBlockwise', { codes, codebook: book, absmax, out }, { blockSize });
          const stored = values(x);
          const scales = values(absmax);
          const restored = values(out);
          const codeValues = values(codes);
          stored.forEach((v, i) => {
            const block = Math.floor(i / blockSize);
            const blockValues = stored.slice(block * blockSize, (block + 1) * blockSize);
            expect(scales[block]).toBe(Math.max(...blockValues.map(Math.abs)));
            const s = scales[block] as number;
            const normalised = s === 0 ? 0 : v / s;
            expect(Math.abs(v - (restored[i] as number))).toBeLessThanOrEqual(
              (s * localGap(normalised)) / 2 + s * 1e-6,
            );
            // No other entry is strictly nearer than the chosen one.
            const chosen = Math.abs((codebook[codeValues[i] as number] as number) - normalised);
            const best = Math.min(...codebook.map((c) => Math.abs(c - normalised)));
            expect(chosen).toBeLessThanOrEqual(best + 1e-7);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('quantises an all-zero block to the code nearest 0 with absmax 0', () => {
    const codes = empty('uint8', 4);
    const absmax = empty('float32', 1);
    backend.run(
      'quantizeBlockwise',
      { x: storage('float32', [0, 0, 0, 0]), codebook: storage('float32', codebook), codes, absmax },
      {
        blockSize: 4,
      },
    );
    expect(values(absmax)).toEqual([0]);
    const out = empty('float32', 4);
    backend.run(
      'dequantizeBlockwise',
      { codes, codebook: storage('float32', codebook), absmax, out },
      { blockSize: 4 },
    );
    expect(values(out).map((v) => v + 0)).toEqual([0, 0, 0, 0]);
  });

  it('refuses an unsorted codebook and a wrong absmax size', () => {
    const x = storage('float32', [1, 2, 3]);
    const codes = empty('uint8', 3);
    expect(() =>
      backend.run(
        'quantizeBlockwise',
        { x, codebook: storage('float32', [0, 1, 0.5]), codes, absmax: empty('float32', 2) },
        { blockSize: 2 },
      ),
    ).toThrow(/codebook must be sorted ascending; entry 2/);
    expect(() =>
      backend.run(
        'quantizeBlockwise',
        { x, codebook: storage('float32', codebook), codes, absmax: empty('float32', 1) },
        { blockSize: 2 },
      ),
    ).toThrow(/absmax has 1 elements; expected ceil\(x.size \/ blockSize\) = 2/);
  });
});
