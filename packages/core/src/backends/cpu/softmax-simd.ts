/**
 * Runs the row kernels of softmax-wasm-kernel.ts on float32 arrays, a chunk of whole rows at a
 * time, in place where the arrays live in the storages' arena (wasm-arena.ts; the per-row scalars
 * in its scratch), else through the kernel's own memory: softmax and log-softmax (causal rows one visible prefix at a
 * time), their backward passes, and cross-entropy. What needs a log (log-sum-exp) or a row's
 * target is finished in JS from the kernels' per-row max, sum and scale, in float64 like the JS
 * loops. Each function returns false (doing nothing) where WebAssembly SIMD is unavailable.
 */

import { fastExp } from './fast-exp.js';
import { inArena } from './simd-chunks.js';
import { softmaxModuleBytes } from './softmax-wasm-kernel.js';
import { ARENA_SCRATCH_BYTES } from './wasm-arena.js';
import { arenaKernelLoader, kernelLoader, regionOffsets, reserveFloats } from './wasm-instance.js';

/** Floats of x per chunk: with the other regions, a few hundred KiB, which stays in L2. */
const CHUNK = 16384;
/** Floats after a row region for its last row's masked vector (softmax-wasm-kernel.ts). */
const SLACK = 3;

type RowStats = (x: number, max: number, sum: number, rows: number, cols: number) => void;
type ExpScaled = (x: number, g: number, out: number, max: number, scale: number, rows: number, cols: number) => void;
type RowPair = (a: number, b: number, out: number, rows: number, cols: number) => void;

const bind = (exports: Record<string, unknown>) => ({
  maxSumExp: exports.maxSumExp as RowStats,
  expScaled: exports.expScaled as ExpScaled,
  subtractRow: exports.subtractRow as RowPair,
  softmaxBackward: exports.softmaxBackward as RowPair,
  logSoftmaxBackward: exports.logSoftmaxBackward as RowPair,
});
const loadKernel = kernelLoader(() => softmaxModuleBytes(1), bind);
const loadArenaKernel = arenaKernelLoader(() => softmaxModuleBytes(1, 'imported'), bind);

/**
 * The kernel and where a chunk of whole rows lies, as float offsets into `heap` (byte pointers are
 * 4x): `row(k, first)` is row `first` of `arrays[k]`, and `scalars` are regions of one float per
 * row of a chunk. In place (`inPlace`), where every array lives in the arena and the written ones
 * (indices `written`) overlap no other, the rows are the arrays' own and the scalars lie in the
 * arena's scratch; else `arrays[k]` has region k of the kernel's memory, which the caller fills
 * and empties.
 */
function layout(
  arrays: readonly Float32Array[],
  written: readonly number[],
  rows: number,
  cols: number,
  scalarRegions: number,
) {
  if (cols === 0) return null;
  const arena = rows > 0 ? loadArenaKernel() : null;
  const used = arrays.map((array) => array.subarray(0, rows * cols));
  if (arena && inArena(arena.arena.buffer, used, written, false)) {
    const perRegion = Math.floor(ARENA_SCRATCH_BYTES / 4 / Math.max(1, scalarRegions) / 4) * 4;
    const chunk = Math.min(rows, perRegion);
    const scalars = regionOffsets(0, new Array<number>(scalarRegions).fill(chunk)).offsets;
    const row = (k: number, first: number) => (arrays[k] as Float32Array).byteOffset / 4 + first * cols;
    return { kernel: arena as Kernel, heap: arena.arena.heap, chunk, inPlace: true, row, scalars };
  }
  const kernel = loadKernel();
  if (!kernel) return null;
  const chunk = Math.max(1, Math.min(rows, Math.floor(CHUNK / cols)));
  const sizes = [
    ...new Array<number>(arrays.length).fill(chunk * cols + SLACK),
    ...new Array<number>(scalarRegions).fill(chunk),
  ];
  const { offsets, end } = regionOffsets(0, sizes);
  const heap = reserveFloats(kernel, end);
  const row = (k: number) => offsets[k] as number;
  return { kernel: kernel as Kernel, heap, chunk, inPlace: false, row, scalars: offsets.slice(arrays.length) };
}

type Kernel = ReturnType<typeof bind>;

/** Calls `body(first, n)` for each chunk of n rows starting at row `first`. */
function eachChunk(rows: number, chunk: number, body: (first: number, n: number) => void): void {
  for (let first = 0; first < rows; first += chunk) body(first, Math.min(chunk, rows - first));
}

/** loss[r] = max + log(sum(exp(x - max))) - x[target] per row; 0 where the target is `ignoreIndex`. */
export function crossEntropySimd(
  x: Float32Array,
  targets: Int32Array,
  loss: Float32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
): boolean {
  const plan = layout([x], [], rows, cols, 2);
  if (!plan) return false;
  const { kernel, heap } = plan;
  const [MAX, SUM] = plan.scalars as [number, number];
  eachChunk(rows, plan.chunk, (first, n) => {
    const X = plan.row(0, first);
    if (!plan.inPlace) heap.set(x.subarray(first * cols, (first + n) * cols), X);
    kernel.maxSumExp(X * 4, MAX * 4, SUM * 4, n, cols);
    for (let i = 0; i < n; i++) {
      const r = first + i;
      const label = targets[r] as number;
      loss[r] =
        label === ignoreIndex
          ? 0
          : (heap[MAX + i] as number) + Math.log(heap[SUM + i] as number) - (x[r * cols + label] as number);
    }
  });
  return true;
}

/** dx = dloss (softmax(x) - onehot(target)) per row; 0 in rows whose target is `ignoreIndex`. */
export function crossEntropyBackwardSimd(
  x: Float32Array,
  dloss: Float32Array,
  dx: Float32Array,
  targets: Int32Array,
  rows: number,
  cols: number,
  ignoreIndex: number,
): boolean {
  const plan = layout([x, dx], [1], rows, cols, 3);
  if (!plan) return false;
  const { kernel, heap } = plan;
  const [G, MAX, SCALE] = plan.scalars as [number, number, number];
  eachChunk(rows, plan.chunk, (first, n) => {
    const [X, OUT] = [plan.row(0, first), plan.row(1, first)];
    if (!plan.inPlace) heap.set(x.subarray(first * cols, (first + n) * cols), X);
    for (let i = 0; i < n; i++) heap[G + i] = dloss[first + i] as number;
    kernel.expScaled(X * 4, G * 4, OUT * 4, MAX * 4, SCALE * 4, n, cols);
    if (!plan.inPlace) dx.set(heap.subarray(OUT, OUT + n * cols), first * cols);
    for (let i = 0; i < n; i++) {
      const r = first + i;
      const base = r * cols;
      const label = targets[r] as number;
      if (label === ignoreIndex) {
        dx.fill(0, base, base + cols);
        continue;
      }
      // The target's probability minus one, from its exponential recomputed from x, as the JS loop does.
      const e = fastExp((x[base + label] as number) - (heap[MAX + i] as number));
      dx[base + label] = (heap[SCALE + i] as number) * e - (dloss[r] as number);
    }
  });
  return true;
}

/**
 * Row softmax or log-softmax of x into y over each row's first `visible(r)` columns (all of them
 * when `visible` is null); the rest, and rows whose visible values are all -Infinity, get 0 or
 * -Infinity.
 */
export function softmaxSimd(
  x: Float32Array,
  y: Float32Array,
  rows: number,
  cols: number,
  visible: ((row: number) => number) | null,
  log: boolean,
): boolean {
  const plan = layout([x, y], [1], rows, cols, 3);
  if (!plan) return false;
  const { kernel, heap } = plan;
  const [G, MAX, SUM] = plan.scalars as [number, number, number];
  const masked = log ? Number.NEGATIVE_INFINITY : 0;
  heap.fill(1, G, G + plan.chunk);
  let [X, Y] = [0, 0];
  // Rows [from, from + n) of the chunk, `seen` columns each (one row at a time when causal).
  const compute = (from: number, n: number, seen: number) => {
    const [x0, y0] = [(X + from * cols) * 4, (Y + from * cols) * 4];
    const [max, sum] = [(MAX + from) * 4, (SUM + from) * 4];
    if (!log) {
      kernel.expScaled(x0, G * 4, y0, max, sum, n, seen);
      return;
    }
    kernel.maxSumExp(x0, max, sum, n, seen);
    // The shift max + log(sum), in float64, into the sum's slot for subtractRow.
    for (let i = from; i < from + n; i++) heap[SUM + i] = (heap[MAX + i] as number) + Math.log(heap[SUM + i] as number);
    kernel.subtractRow(x0, sum, y0, n, seen);
  };
  eachChunk(rows, plan.chunk, (first, n) => {
    [X, Y] = [plan.row(0, first), plan.row(1, first)];
    if (!plan.inPlace) heap.set(x.subarray(first * cols, (first + n) * cols), X);
    if (!visible) compute(0, n, cols);
    for (let i = 0; visible && i < n; i++) {
      const seen = visible(first + i);
      heap[MAX + i] = Number.NEGATIVE_INFINITY;
      if (seen > 0) compute(i, 1, seen);
      heap.fill(masked, Y + i * cols + seen, Y + (i + 1) * cols);
    }
    if (!plan.inPlace) y.set(heap.subarray(Y, Y + n * cols), first * cols);
    // An all -Infinity row (or one with no visible column) is a fully masked row, as in the JS loop.
    for (let i = 0; i < n; i++) {
      if (heap[MAX + i] === Number.NEGATIVE_INFINITY) y.fill(masked, (first + i) * cols, (first + i + 1) * cols);
    }
  });
  return true;
}

/** softmax: dx = y (dy - sum(dy y)); log-softmax (y its output): dx = dy - exp(y) sum(dy); per row. */
export function softmaxBackwardSimd(
  y: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  rows: number,
  cols: number,
  log: boolean,
): boolean {
  const plan = layout([y, dy, dx], [2], rows, cols, 0);
  if (!plan) return false;
  const { kernel, heap } = plan;
  const run = log ? kernel.logSoftmaxBackward : kernel.softmaxBackward;
  eachChunk(rows, plan.chunk, (first, n) => {
    const [Y, G, DX] = [plan.row(0, first), plan.row(1, first), plan.row(2, first)];
    if (!plan.inPlace) {
      heap.set(y.subarray(first * cols, (first + n) * cols), Y);
      heap.set(dy.subarray(first * cols, (first + n) * cols), G);
    }
    run(Y * 4, G * 4, DX * 4, n, cols);
    if (!plan.inPlace) dx.set(heap.subarray(DX, DX + n * cols), first * cols);
  });
  return true;
}
