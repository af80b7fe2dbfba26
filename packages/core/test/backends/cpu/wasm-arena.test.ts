/**
 * The WebAssembly arena of CPU storages (wasm-arena.ts): its allocator, its setting, and the
 * kernels' in-place path on arrays that live in it, which must give the same bits as the chunked
 * path on ordinary arrays.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { adamwSimd } from '../../../src/backends/cpu/adamw-simd.js';
import { binarySimd } from '../../../src/backends/cpu/binary-simd.js';
import { giveArray, pooledArrayBytes, takeArray } from '../../../src/backends/cpu/buffer-pool.js';
import { copySimd } from '../../../src/backends/cpu/copy-simd.js';
import { rmsNormBackwardSimd, rmsNormSimd } from '../../../src/backends/cpu/rmsnorm-simd.js';
import { ropeSimd } from '../../../src/backends/cpu/rope-simd.js';
import { siluMulBackwardSimd, siluMulSimd } from '../../../src/backends/cpu/silu-simd.js';
import { inArena, inChunks } from '../../../src/backends/cpu/simd-chunks.js';
import {
  crossEntropyBackwardSimd,
  crossEntropySimd,
  softmaxBackwardSimd,
  softmaxSimd,
} from '../../../src/backends/cpu/softmax-simd.js';
import { ARENA_SCRATCH_BYTES, arenaBytesFromEnv, cpuArena, WasmArena } from '../../../src/backends/cpu/wasm-arena.js';
import { backend, randomValues } from './helpers.js';

const backendModule = fileURLToPath(new URL('../../../src/backends/cpu/index.ts', import.meta.url));

/** SiLU-gate of fixed inputs on a CpuBackend in a fresh process under GALORE_CPU_ARENA_MB=`setting`. */
function siluInSubprocess(setting: string) {
  const script = `const { CpuBackend } = await import(${JSON.stringify(backendModule)});
    const b = new CpuBackend();
    const [gate, up, out] = [0, 1, 2].map(() => b.alloc(1030, 'float32', 'other'));
    gate.data.forEach((_, i) => { gate.data[i] = Math.sin(i); up.data[i] = Math.cos(i); });
    b.run('siluMul', { gate, up, out }, {});
    const own = out.data.buffer.byteLength === out.data.byteLength;
    console.log(JSON.stringify({ own, out: Array.from(out.data) }));`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, GALORE_CPU_ARENA_MB: setting },
    encoding: 'utf8',
  });
}

const arena = cpuArena();

/** `count` float32 arrays of `size` random values: one set in the arena, one as ordinary arrays. */
function pairOfSets(count: number, size: number, seed: number): [Float32Array[], Float32Array[]] {
  const plain = Array.from({ length: count }, (_, k) => Float32Array.from(randomValues(size, seed + k, 2)));
  const placed = plain.map((values) => {
    const array = takeArray('float32', size) as Float32Array;
    array.set(values);
    return array;
  });
  return [placed, plain];
}

function bits(array: Float32Array | Float64Array): number[] {
  return Array.from(new Uint32Array(array.buffer, array.byteOffset, array.byteLength / 4));
}

function expectSameBits(
  placed: readonly (Float32Array | Float64Array)[],
  plain: readonly (Float32Array | Float64Array)[],
) {
  placed.forEach((array, k) => {
    expect(array.buffer).toBe(arena?.buffer);
    expect(bits(array), `array ${k}`).toEqual(bits(plain[k]!));
  });
}

describe('WasmArena', () => {
  it('hands out 16-byte aligned blocks after the scratch, reuses freed ones by size, and says when full', () => {
    const small = WasmArena.create(2 * ARENA_SCRATCH_BYTES); // whole pages: the scratch and 64 KiB of blocks;
    expect(small).not.toBeNull();
    const a = small!.take(100)!;
    const b = small!.take(4)!;
    expect(a).toEqual({ offset: ARENA_SCRATCH_BYTES, recycled: false });
    expect(b.offset).toBe(ARENA_SCRATCH_BYTES + 112);
    small!.give(a.offset, 100);
    expect(small!.freeBytes).toBe(112);
    expect(small!.take(104)).toEqual({ offset: a.offset, recycled: true }); // same 16-byte block size
    expect(small!.freeBytes).toBe(0);
    expect(small!.take(ARENA_SCRATCH_BYTES)).toBeNull(); // past the end: the caller falls back to ordinary arrays
    expect(small!.take(ARENA_SCRATCH_BYTES - 128 - 16)).not.toBeNull();
    expect(small!.untouchedBytes).toBe(0);
  });

  it('is sized by GALORE_CPU_ARENA_MB, which refuses anything but a whole number of MiB in range', () => {
    expect(arenaBytesFromEnv(undefined)).toBe(1024 * 2 ** 20);
    expect(arenaBytesFromEnv('0')).toBe(0);
    expect(arenaBytesFromEnv('64')).toBe(64 * 2 ** 20);
    expect(arenaBytesFromEnv('2048')).toBe(2 ** 31);
    for (const bad of ['-1', '1.5', 'lots', '2049']) {
      expect(() => arenaBytesFromEnv(bad)).toThrow(/GALORE_CPU_ARENA_MB/);
    }
  });

  it('GALORE_CPU_ARENA_MB=0 keeps storages in their own arrays with the same results; a bad value stops the first allocation', () => {
    const off = siluInSubprocess('0');
    expect(off.status, off.stderr).toBe(0);
    const { own, out } = JSON.parse(off.stdout) as { own: boolean; out: number[] };
    expect(own).toBe(true);
    const [gate, up, here] = [0, 1, 2].map(() => backend.alloc(1030, 'float32', 'other'));
    gate!.data.forEach((_, i) => {
      gate!.data[i] = Math.sin(i);
      up!.data[i] = Math.cos(i);
    });
    backend.run('siluMul', { gate: gate!, up: up!, out: here! }, {});
    expect(here!.data.buffer).toBe(arena?.buffer);
    expect(Array.from(here!.data)).toEqual(out);
    for (const s of [gate, up, here]) backend.free(s!);
    const bad = siluInSubprocess('lots');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/GALORE_CPU_ARENA_MB must be a whole number of MiB/);
  });

  it('takes back the block of a storage that is never freed once its array is collected; a double give is ignored', () => {
    const poolModule = fileURLToPath(new URL('../../../src/backends/cpu/buffer-pool.ts', import.meta.url));
    const arenaModule = fileURLToPath(new URL('../../../src/backends/cpu/wasm-arena.ts', import.meta.url));
    const script = `const { takeArray, giveArray } = await import(${JSON.stringify(poolModule)});
      const { cpuArena } = await import(${JSON.stringify(arenaModule)});
      const arena = cpuArena();
      const freed = takeArray('float32', 1000);
      giveArray('float32', freed);
      giveArray('float32', freed);
      const afterGive = arena.freeBytes;
      (() => { for (let i = 0; i < 50; i++) takeArray('float32', 2000 + i); })();
      for (let i = 0; i < 20 && arena.freeBytes === afterGive; i++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      console.log(JSON.stringify({ afterGive, afterGc: arena.freeBytes }));`;
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, GALORE_CPU_ARENA_MB: '64' },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const { afterGive, afterGc } = JSON.parse(run.stdout) as { afterGive: number; afterGc: number };
    // Given twice, held once: the block of 1000 floats.
    expect(afterGive).toBe(4000);
    // The 50 dropped arrays' blocks (2000 + i floats each) came back without a free.
    const dropped = Array.from({ length: 50 }, (_, i) => Math.ceil(((2000 + i) * 4) / 16) * 16).reduce((a, b) => a + b);
    expect(afterGc).toBe(afterGive + dropped);
  });

  it('holds float32 and float64 storages; a freed one comes back zeroed unless uninitialized', () => {
    expect(arena).not.toBeNull();
    const s = backend.alloc(1000, 'float32', 'activation');
    expect(s.data.buffer).toBe(arena!.buffer);
    expect(backend.alloc(10, 'float64', 'other').data.buffer).toBe(arena!.buffer);
    expect(backend.alloc(10, 'int32', 'other').data.buffer).not.toBe(arena!.buffer);
    backend.run('fill', { out: s }, { value: 3 });
    const offset = s.data.byteOffset;
    const before = pooledArrayBytes();
    backend.free(s);
    expect(pooledArrayBytes()).toBe(before + 4000);
    const kept = backend.alloc(1000, 'float32', 'activation', true);
    expect(kept.data.byteOffset).toBe(offset);
    expect(kept.data.every((x) => x === 3)).toBe(true);
    backend.free(kept);
    const zeroed = backend.alloc(1000, 'float32', 'activation');
    expect(zeroed.data.byteOffset).toBe(offset);
    expect(zeroed.data.every((x) => x === 0)).toBe(true);
    backend.free(zeroed);
  });

  it('never gives a live storage memory that another live storage holds', () => {
    const live = Array.from({ length: 6 }, (_, k) => backend.alloc(257 + (k % 2), 'float32', 'other'));
    for (const s of live.filter((_, k) => k % 3 === 0)) backend.free(s);
    const kept = live.filter((_, k) => k % 3 !== 0);
    const fresh = Array.from({ length: 4 }, (_, k) => backend.alloc(257 + (k % 2), 'float32', 'other'));
    const blocks = [...kept, ...fresh].map((s) => [s.data.byteOffset, s.data.byteOffset + s.data.byteLength]);
    blocks.sort((x, y) => x[0]! - y[0]!);
    for (let k = 1; k < blocks.length; k++) expect(blocks[k]![0]).toBeGreaterThanOrEqual(blocks[k - 1]![1]!);
    for (const s of [...kept, ...fresh]) backend.free(s);
  });
});

describe('in-place kernels on arena arrays', () => {
  it('run once over the whole vectors in place and chunk only the tail', () => {
    const [x, y] = pairOfSets(2, 10, 1)[0] as [Float32Array, Float32Array];
    const calls: string[] = [];
    const plan = { heap: new Float32Array(64), base: 0, chunk: 8, arrays: [x, y], read: [0], written: [1] };
    const inPlace = {
      buffer: arena!.buffer,
      compute: (pointers: readonly number[], vectors: number) => calls.push(`in place ${pointers} ${vectors}`),
    };
    inChunks(plan, (vectors) => calls.push(`chunk ${vectors}`), inPlace);
    expect(calls).toEqual([`in place ${x.byteOffset},${y.byteOffset} 2`, 'chunk 1']);
    calls.length = 0;
    inChunks({ ...plan, arrays: [x, Float32Array.from(y)] }, (vectors) => calls.push(`chunk ${vectors}`), inPlace);
    expect(calls).toEqual(['chunk 2', 'chunk 1']);
  });

  it('refuse outputs that overlap an input, except exactly over it for elementwise kernels', () => {
    const whole = takeArray('float32', 64) as Float32Array;
    const [a, b] = [whole.subarray(0, 32), whole.subarray(16, 48)];
    expect(inArena(arena!.buffer, [a, whole.subarray(32)], [1], false)).toBe(true);
    expect(inArena(arena!.buffer, [a, b], [1], true)).toBe(false);
    expect(inArena(arena!.buffer, [a, a], [1], true)).toBe(true);
    expect(inArena(arena!.buffer, [a, a], [1], false)).toBe(false);
    expect(inArena(arena!.buffer, [a, a], [0, 1], true)).toBe(false);
    giveArray('float32', whole);
  });

  for (const size of [4096 * 3 + 5, 7, 64]) {
    it(`AdamW and the SiLU gate give the same bits in place and chunked (${size} elements)`, () => {
      const params = {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-8,
        weightDecay: 0.1,
        biasCorrection1: 0.19,
        biasCorrection2: 0.0199,
      };
      const [placed, plain] = pairOfSets(4, size, 3);
      for (const set of [placed, plain]) set[3]!.set(set[3]!.map(Math.abs));
      for (const [p, g, m, v] of [placed, plain] as Float32Array[][])
        expect(adamwSimd(p!, g!, m!, v!, params)).toBe(true);
      expectSameBits(placed, plain);

      const [placedSilu, plainSilu] = pairOfSets(5, size, 7);
      for (const [g, u, y] of [placedSilu, plainSilu] as Float32Array[][]) expect(siluMulSimd(g!, u!, y!)).toBe(true);
      for (const [g, u, dy, dg, du] of [placedSilu, plainSilu] as Float32Array[][]) {
        expect(siluMulBackwardSimd(g!, u!, dy!, dg!, du!)).toBe(true);
      }
      expectSameBits(placedSilu, plainSilu);
    });
  }

  it('add/sub/mul/div give the same bits in place and chunked: arrays, a broadcast value, float64, out over an input', () => {
    const size = 1030;
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      const [placed, plain] = pairOfSets(3, size, 11);
      for (const [a, b, out] of [placed, plain] as Float32Array[][]) {
        expect(binarySimd(op, a!, 0, b!, 0, out!)).toBe(true);
        expect(binarySimd(op, out!, 0, b!, 1, a!)).toBe(true); // broadcast value b[0]
        expect(binarySimd(op, a!, 1, out!, 0, out!)).toBe(true); // written over its input
      }
      expectSameBits(placed, plain);
    }
    const plain64 = [0, 1, 2].map((k) => Float64Array.from(randomValues(size + 1, 20 + k)));
    const placed64 = plain64.map((values) => {
      const array = takeArray('float64', values.length) as Float64Array;
      array.set(values);
      return array;
    });
    for (const [a, b, out] of [placed64, plain64] as Float64Array[][]) {
      expect(binarySimd('mul', a!, 0, b!, 0, out!)).toBe(true);
      expect(binarySimd('sub', out!, 0, b!, 1, out!)).toBe(true);
    }
    expectSameBits(placed64, plain64);
  });

  it('RMSNorm forward and backward give the same bits in place and chunked (rows spanning several chunks)', () => {
    const [rows, cols] = [300, 72];
    const [placed, plain] = pairOfSets(3, rows * cols, 30); // x, y, dy
    const [placedW, plainW] = pairOfSets(1, cols, 40);
    const [placedRows, plainRows] = pairOfSets(1, rows, 50); // rstd
    const [placedDx, plainDx] = pairOfSets(1, rows * cols, 60);
    const dws = [new Float64Array(cols), new Float64Array(cols)];
    const sets = [
      [placed, placedW, placedRows, placedDx, dws[0]],
      [plain, plainW, plainRows, plainDx, dws[1]],
    ] as const;
    for (const [[x, y, dy], [w], [rstd], [dx], dw] of sets) {
      expect(rmsNormSimd(x!, w!, y!, rstd!, rows, cols, 1e-5)).toBe(true);
      expect(rmsNormBackwardSimd(x!, w!, rstd!, dy!, dx!, dw!, rows, cols)).toBe(true);
    }
    expectSameBits([...placed, ...placedRows, ...placedDx], [...plain, ...plainRows, ...plainDx]);
    expect(Array.from(dws[0]!)).toEqual(Array.from(dws[1]!));
  });

  it('RoPE gives the same bits in place and chunked, forward and inverse', () => {
    const shape = { batch: 3, seq: 5, heads: 2, headDim: 16 };
    const size = shape.batch * shape.seq * shape.heads * shape.headDim;
    const table = shape.seq * (shape.headDim / 2);
    const [placed, plain] = pairOfSets(2, size, 70);
    const [placedTables, plainTables] = pairOfSets(2, table, 80);
    for (const inverse of [false, true]) {
      for (const [[x, y], [cos, sin]] of [
        [placed, placedTables],
        [plain, plainTables],
      ] as const) {
        expect(ropeSimd(x!, cos!, sin!, y!, { ...shape, inverse })).toBe(true);
      }
      expectSameBits(placed, plain);
    }
  });

  for (const [rows, cols] of [
    [70, 37],
    [6000, 4],
  ] as const) {
    it(`softmax, log-softmax, their backwards and cross-entropy give the same bits in place and chunked (${rows} x ${cols})`, () => {
      const size = rows * cols;
      const [placed, plain] = pairOfSets(4, size, 90); // x, y, dy, dx
      const [placedRows, plainRows] = pairOfSets(2, rows, 95); // loss, dloss
      const targets = Int32Array.from({ length: rows }, (_, r) => (r % 5 === 0 ? -100 : (r * 7) % cols));
      const causal = (row: number) => Math.min(cols, row % (cols + 1));
      for (const log of [false, true]) {
        for (const visible of [null, causal]) {
          for (const [[x, y, dy, dx]] of [[placed], [plain]] as const) {
            expect(softmaxSimd(x!, y!, rows, cols, visible, log)).toBe(true);
            expect(softmaxBackwardSimd(y!, dy!, dx!, rows, cols, log)).toBe(true);
          }
          expectSameBits(placed, plain);
        }
      }
      for (const [[x, , , dx], [loss, dloss]] of [
        [placed, placedRows],
        [plain, plainRows],
      ] as const) {
        expect(crossEntropySimd(x!, targets, loss!, rows, cols, -100)).toBe(true);
        expect(crossEntropyBackwardSimd(x!, dloss!, dx!, targets, rows, cols, -100)).toBe(true);
      }
      expectSameBits([...placed, ...placedRows], [...plain, ...plainRows]);
    });
  }

  it('a head split copies the same bits in place and through the kernel memory, and declines an overlap', () => {
    const [b, t, h, d] = [2, 9, 3, 8];
    const size = b * t * h * d;
    const srcView = { shape: [b, h, t, d], strides: [t * h * d, d, h * d, 1], offset: 0 };
    const dstView = { shape: [b, h, t, d], strides: [h * t * d, t * d, d, 1], offset: 0 };
    const [placed, plain] = pairOfSets(2, size, 100);
    for (const [from, to] of [placed, plain] as Float32Array[][])
      expect(copySimd(from!, srcView, to!, dstView)).toBe(true);
    expectSameBits(placed, plain);
    // Destination over the source's span: the kernel memory path (which copies the span first).
    const both = takeArray('float32', 2 * size) as Float32Array;
    both.set(plain[0]!);
    const shifted = both.subarray(d);
    expect(copySimd(both, srcView, shifted, dstView)).toBe(true);
    const want = Float32Array.from(plain[1]!);
    expect(bits(shifted.subarray(0, size))).toEqual(bits(want));
    giveArray('float32', both);
  });
});
