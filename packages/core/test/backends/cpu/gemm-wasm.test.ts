import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gebpModuleBytes } from '../../../src/backends/cpu/gemm-wasm-kernel.js';
import { signedLeb, unsignedLeb } from '../../../src/backends/cpu/wasm-encoding.js';
import { randomValues } from './helpers.js';

/** Decoders written independently of the encoders, straight from the LEB128 definition. */
function decodeUnsigned(bytes: number[]): number {
  return bytes.reduce((value, byte, i) => value + (byte & 0x7f) * 2 ** (7 * i), 0);
}

function decodeSigned(bytes: number[]): number {
  const unsigned = decodeUnsigned(bytes);
  const bits = 7 * bytes.length;
  return (bytes[bytes.length - 1] as number) & 0x40 ? unsigned - 2 ** bits : unsigned;
}

describe('LEB128', () => {
  it('matches the specification examples', () => {
    expect(unsignedLeb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(signedLeb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(unsignedLeb(0)).toEqual([0]);
    expect(signedLeb(-1)).toEqual([0x7f]);
    expect(signedLeb(64)).toEqual([0xc0, 0x00]);
  });

  it('round-trips any 32-bit value with continuation bits only before the last byte', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 32 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (u, s) => {
        const ub = unsignedLeb(u);
        const sb = signedLeb(s);
        expect(decodeUnsigned(ub)).toBe(u);
        expect(decodeSigned(sb)).toBe(s);
        for (const bytes of [ub, sb]) {
          expect(bytes.slice(0, -1).every((b) => b & 0x80)).toBe(true);
          expect((bytes[bytes.length - 1] as number) & 0x80).toBe(0);
        }
      }),
    );
  });
});

interface Gebp {
  gebp: (...args: number[]) => void;
  heap: Float32Array;
}

function instantiate(mr: number, nr: number): Gebp {
  const wasm = (
    globalThis as unknown as {
      WebAssembly: {
        Module: new (b: Uint8Array) => object;
        Instance: new (m: object) => { exports: Record<string, unknown> };
      };
    }
  ).WebAssembly;
  const instance = new wasm.Instance(new wasm.Module(gebpModuleBytes({ mr, nr }, 4)));
  const memory = instance.exports.memory as { buffer: ArrayBuffer };
  return { gebp: instance.exports.gebp as Gebp['gebp'], heap: new Float32Array(memory.buffer) };
}

describe('generated GEBP kernel', () => {
  it('adds packed A times packed B into C for any micro-tile shape and panel counts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(4, 8, 12, 16),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer(),
        (mr, nr, mPanels, nPanels, kc, seed) => {
          const { gebp, heap } = instantiate(mr, nr);
          const [m, n] = [mPanels * mr, nPanels * nr];
          // Packed layouts: A panel ip holds [p][mr]; B panel jp holds [p][nr]. C has a padded row stride.
          const aBase = 0;
          const bBase = aBase + m * kc;
          const ldc = n + 4;
          const cBase = bBase + n * kc + 4;
          const a = randomValues(m * kc, seed).map(Math.fround);
          const b = randomValues(n * kc, seed + 1).map(Math.fround);
          const c0 = randomValues(m * ldc, seed + 2).map(Math.fround);
          heap.set(a, aBase);
          heap.set(b, bBase);
          heap.set(c0, cBase);
          gebp(aBase * 4, bBase * 4, cBase * 4, mPanels, nPanels, kc, ldc * 4);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < ldc; j++) {
              let expected = c0[i * ldc + j] as number;
              if (j < n) {
                const [ip, ii, jp, jj] = [Math.floor(i / mr), i % mr, Math.floor(j / nr), j % nr];
                for (let p = 0; p < kc; p++) {
                  expected += (a[ip * kc * mr + p * mr + ii] as number) * (b[jp * kc * nr + p * nr + jj] as number);
                }
              }
              // Float32 accumulation of kc products of magnitude <= 1, plus C0.
              expect(Math.abs((heap[cBase + i * ldc + j] as number) - expected)).toBeLessThanOrEqual(
                (kc + 2) * 2 ** -24 * (kc + 1),
              );
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
