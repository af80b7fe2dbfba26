/**
 * The WebAssembly SIMD row kernels of softmax, log-softmax and cross-entropy (softmax-simd.ts)
 * against float64 formulas and against the JS loops (`simd` false), at the conformance suite's
 * tolerances: rows of any length (not whole vectors, one float, a vocabulary across a chunk
 * boundary), causal masks, ignored targets; float64 storages keep the exact JS loops.
 */
import { describe, expect, it } from 'vitest';
import type { SoftmaxParams } from '../../../src/backend.js';
import { crossEntropy, crossEntropyBackward } from '../../../src/backends/cpu/cross-entropy.js';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from '../../../src/backends/cpu/softmax.js';
import { crossEntropySimd } from '../../../src/backends/cpu/softmax-simd.js';
import type { DType } from '../../../src/dtype.js';
import { empty, expectClose, randomValues, storage, values } from './helpers.js';

// test/conformance/tolerances.ts
const TOLERANCE = {
  softmax: [2e-6, 1e-5],
  backward: [2e-6, 1e-5],
  crossEntropy: [1e-5, 1e-5],
  crossEntropyBackward: [2e-6, 1e-5],
} as const;
const IGNORE = -100;
// [rows, cols]: one float, tails of 1-3 floats, whole vectors, a vocabulary over two chunks (16384 floats).
const SHAPES = [
  [1, 1],
  [3, 5],
  [4, 7],
  [2, 8],
  [9, 258],
  [70, 258],
] as const;

function rowsOf(x: readonly number[], cols: number): number[][] {
  return Array.from({ length: x.length / cols }, (_, r) => x.slice(r * cols, (r + 1) * cols));
}

/** softmax or log-softmax of each row's first visible(r) values, float64; masked columns 0 / -Infinity. */
function softmaxReference(x: number[], cols: number, visible: (r: number) => number, log: boolean): number[] {
  return rowsOf(x, cols).flatMap((row, r) => {
    const seen = visible(r);
    const masked = log ? Number.NEGATIVE_INFINITY : 0;
    if (seen <= 0) return row.map(() => masked);
    const max = Math.max(...row.slice(0, seen));
    const sum = row.slice(0, seen).reduce((s, v) => s + Math.exp(v - max), 0);
    return row.map((v, j) => (j >= seen ? masked : log ? v - max - Math.log(sum) : Math.exp(v - max) / sum));
  });
}

function backwardReference(y: number[], dy: number[], cols: number, log: boolean): number[] {
  const g = rowsOf(dy, cols);
  return rowsOf(y, cols).flatMap((row, r) => {
    const gr = g[r] as number[];
    const total = row.reduce((s, v, j) => s + (gr[j] as number) * (log ? 1 : v), 0);
    return row.map((v, j) => (log ? (gr[j] as number) - Math.exp(v) * total : v * ((gr[j] as number) - total)));
  });
}

function crossEntropyReference(x: number[], cols: number, targets: number[], dloss: number[]) {
  const loss: number[] = [];
  const dx: number[] = [];
  rowsOf(x, cols).forEach((row, r) => {
    const target = targets[r] as number;
    if (target === IGNORE) {
      loss.push(0);
      dx.push(...row.map(() => 0));
      return;
    }
    const max = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
    loss.push(max + Math.log(sum) - (row[target] as number));
    dx.push(...row.map((v, j) => (dloss[r] as number) * (Math.exp(v - max) / sum - (j === target ? 1 : 0))));
  });
  return { loss, dx };
}

function runSoftmax(dtype: DType, x: number[], params: SoftmaxParams, log: boolean, simd: boolean) {
  const out = empty(dtype, x.length);
  (log ? logSoftmax : softmax)(storage(dtype, x), out, params, simd);
  return values(out);
}

function runBackward(dtype: DType, y: number[], dy: number[], rows: number, cols: number, log: boolean, simd: boolean) {
  const dx = empty(dtype, y.length);
  (log ? logSoftmaxBackward : softmaxBackward)(storage(dtype, y), storage(dtype, dy), dx, rows, cols, simd);
  return values(dx);
}

function runCrossEntropy(dtype: DType, x: number[], targets: number[], dloss: number[], cols: number, simd: boolean) {
  const rows = targets.length;
  const params = { rows, cols, ignoreIndex: IGNORE };
  const [logits, t] = [storage(dtype, x), storage('int32', targets)];
  const [loss, dx] = [empty(dtype, rows), empty(dtype, x.length)];
  crossEntropy({ logits, targets: t, loss }, params, simd);
  crossEntropyBackward({ logits, targets: t, dloss: storage(dtype, dloss), dx }, params, simd);
  return { loss: values(loss), dx: values(dx) };
}

function inputs(rows: number, cols: number, seed: number) {
  const x = randomValues(rows * cols, seed, 8).map(Math.fround);
  const dy = randomValues(rows * cols, seed + 1).map(Math.fround);
  const targets = Array.from({ length: rows }, (_, r) => (r % 4 === 3 ? IGNORE : (r * 97 + seed) % cols));
  const dloss = randomValues(rows, seed + 2).map(Math.fround);
  return { x, dy, targets, dloss };
}

describe('SIMD softmax rows', () => {
  for (const [rows, cols] of SHAPES) {
    it(`softmax and log-softmax of [${rows}, ${cols}], plain and causal, match float64 and the JS loop`, () => {
      const { x } = inputs(rows, cols, rows + cols);
      const causals = [undefined, { queryLen: Math.min(rows, 3), offset: 0 }, { queryLen: rows, offset: -1 }];
      for (const causal of causals) {
        const params: SoftmaxParams = { rows, cols, ...(causal ? { causal } : {}) };
        const visible = (r: number) =>
          causal ? Math.max(0, Math.min(cols, (r % causal.queryLen) + causal.offset + 1)) : cols;
        for (const log of [false, true]) {
          const want = softmaxReference(x, cols, visible, log);
          const got = runSoftmax('float32', x, params, log, true);
          expectClose(got, want, ...TOLERANCE.softmax);
          expectClose(got, runSoftmax('float32', x, params, log, false), ...TOLERANCE.softmax);
        }
      }
    });

    it(`softmax and log-softmax backward of [${rows}, ${cols}] match float64 and the JS loop`, () => {
      const { x, dy } = inputs(rows, cols, rows * cols);
      for (const log of [false, true]) {
        const y = runSoftmax('float32', x, { rows, cols }, log, false);
        const want = backwardReference(y, dy, cols, log);
        const got = runBackward('float32', y, dy, rows, cols, log, true);
        expectClose(got, want, ...TOLERANCE.backward);
        expectClose(got, runBackward('float32', y, dy, rows, cols, log, false), ...TOLERANCE.backward);
      }
    });

    it(`cross-entropy of [${rows}, ${cols}] with ignored rows matches float64 and the JS loop`, () => {
      const { x, targets, dloss } = inputs(rows, cols, rows + 2 * cols);
      const want = crossEntropyReference(x, cols, targets, dloss);
      const got = runCrossEntropy('float32', x, targets, dloss, cols, true);
      const js = runCrossEntropy('float32', x, targets, dloss, cols, false);
      expectClose(got.loss, want.loss, ...TOLERANCE.crossEntropy);
      expectClose(got.dx, want.dx, ...TOLERANCE.crossEntropyBackward);
      expectClose(got.loss, js.loss, ...TOLERANCE.crossEntropy);
      expectClose(got.dx, js.dx, ...TOLERANCE.crossEntropyBackward);
      targets.forEach((t, r) => {
        if (t !== IGNORE) return;
        expect(got.loss[r]).toBe(0);
        expect(got.dx.slice(r * cols, (r + 1) * cols).every((v) => v === 0)).toBe(true);
      });
    });
  }

  it('runs on float32 arrays where WebAssembly SIMD is available', () => {
    const loss = new Float32Array(1);
    expect(crossEntropySimd(Float32Array.of(0, 0, 0), Int32Array.of(1), loss, 1, 3, IGNORE)).toBe(true);
    expect(loss[0]).toBeCloseTo(Math.log(3), 6);
  });

  it('keeps masked and all -Infinity rows at 0 / -Infinity, and NaN rows NaN', () => {
    const x = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 1, Number.NaN, 2];
    for (const log of [false, true]) {
      const got = runSoftmax('float32', x, { rows: 2, cols: 3 }, log, true);
      expect(got.slice(0, 3)).toEqual(new Array(3).fill(log ? Number.NEGATIVE_INFINITY : 0));
      expect(got.slice(3).every(Number.isNaN)).toBe(true);
    }
  });

  it('float64 storages keep the JS loops exactly', () => {
    const [rows, cols] = [5, 13];
    const { x, dy, targets, dloss } = inputs(rows, cols, 3);
    const params = { rows, cols, causal: { queryLen: 5, offset: 2 } };
    for (const log of [false, true]) {
      expect(runSoftmax('float64', x, params, log, true)).toEqual(runSoftmax('float64', x, params, log, false));
      expect(runBackward('float64', x, dy, rows, cols, log, true)).toEqual(
        runBackward('float64', x, dy, rows, cols, log, false),
      );
    }
    expect(runCrossEntropy('float64', x, targets, dloss, cols, true)).toEqual(
      runCrossEntropy('float64', x, targets, dloss, cols, false),
    );
  });
});
