/**
 * CPU matmul GFLOPS of our CpuBackend next to @tensorflow/tfjs-backend-cpu and
 * @tensorflow/tfjs-backend-wasm, square float32 at 256, 512 and 1024, in one process.
 * Run by hand: `npx tsx bench/matmul.ts` (or `npm run bench:matmul`).
 * Options: SIZES=256,512,1024 RUNS=9 (timed rounds per size; the median is reported).
 *
 * Each library warms up per size for at least WARMUP_RUNS runs and WARMUP_MS milliseconds (V8
 * needs about ten 256-cube runs before the packing loops are optimised). Timed runs are
 * interleaved round by round (ours, tfjs-cpu, tfjs-wasm, ours, ...) so that load from other
 * processes on a shared machine hits all three alike. A run includes reading the result back
 * (tfjs `dataSync`), so lazy backends cannot hide work.
 *
 * Two figures per library: wall-clock GFLOPS, and GFLOPS over this process's CPU time (user +
 * system), which stays meaningful when other processes compete for the cores. The latter only
 * compares single-threaded runs; the output says whether tfjs-wasm used threads.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { CpuBackend } from '../packages/core/src/backends/cpu/index.js';

const sizes = (process.env.SIZES ?? '256,512,1024').split(',').map(Number);
const runs = Number(process.env.RUNS ?? 9);
const WARMUP_RUNS = 3;
const WARMUP_MS = 400;
const LIBRARIES = ['ours', 'cpu', 'wasm'] as const;
type Library = (typeof LIBRARIES)[number];

interface Timing {
  wall: number;
  cpu: number;
}
type Rates = Record<Library, Timing>;

function median(xs: number[]): number {
  const sorted = xs.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Wall-clock and process CPU seconds of one run. */
function time(run: () => void): Timing {
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  run();
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

function warmUp(run: () => void): void {
  const start = performance.now();
  for (let i = 0; i < WARMUP_RUNS || performance.now() - start < WARMUP_MS; i++) run();
}

function randomMatrix(n: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length: n * n }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}

/** One n x n x n product on our CPU backend, as a closure over its storages. */
function oursRunner(n: number, a: Float32Array, b: Float32Array): () => void {
  const backend = new CpuBackend();
  const alloc = () => backend.alloc(n * n, 'float32', 'other');
  const [sa, sb, out] = [alloc(), alloc(), alloc()];
  backend.write(sa, a);
  backend.write(sb, b);
  const params = { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
  return () => backend.run('matmul', { a: sa, b: sb, out }, params);
}

/** The same product on the active tfjs backend; inputs are created on (and stay on) that backend. */
function tfjsRunner(n: number, a: Float32Array, b: Float32Array): () => void {
  const ta = tf.tensor2d(a, [n, n]);
  const tb = tf.tensor2d(b, [n, n]);
  return () => {
    const product = tf.matMul(ta, tb);
    product.dataSync();
    product.dispose();
  };
}

async function activate(library: Library): Promise<void> {
  if (library === 'ours') return;
  if (!(await tf.setBackend(library))) throw new Error(`tfjs backend ${library} failed to initialise`);
  await tf.ready();
}

async function benchSize(n: number): Promise<Rates> {
  const a = randomMatrix(n, n);
  const b = randomMatrix(n, n + 1);
  const runners = {} as Record<Library, () => void>;
  for (const library of LIBRARIES) {
    await activate(library);
    const run = library === 'ours' ? oursRunner(n, a, b) : tfjsRunner(n, a, b);
    warmUp(run);
    runners[library] = run;
  }
  const times: Record<Library, Timing[]> = { ours: [], cpu: [], wasm: [] };
  for (let round = 0; round < runs; round++) {
    for (const library of LIBRARIES) {
      await activate(library);
      times[library].push(time(runners[library]));
    }
  }
  const gflops = (seconds: number[]) => (2 * n ** 3) / median(seconds) / 1e9;
  const rates = (library: Library): Timing => ({
    wall: gflops(times[library].map((t) => t.wall)),
    cpu: gflops(times[library].map((t) => t.cpu)),
  });
  return { ours: rates('ours'), cpu: rates('cpu'), wasm: rates('wasm') };
}

function printTable(title: string, results: Map<number, Rates>, pick: keyof Timing): void {
  console.log(`\n${title}`);
  const header = ['n', 'ours GFLOPS', 'tfjs-cpu GFLOPS', 'tfjs-wasm GFLOPS', 'ours / tfjs-cpu', 'ours / tfjs-wasm'];
  const rows = [...results].map(([n, r]) => {
    const [o, c, w] = [r.ours[pick], r.cpu[pick], r.wasm[pick]];
    return [String(n), o.toFixed(2), c.toFixed(2), w.toFixed(2), `${(o / c).toFixed(2)}x`, `${(o / w).toFixed(2)}x`];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i] as number)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<void> {
  // In Node the wasm backend loads its binaries from the file system: point it at dist/.
  const wasmPackage = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
  setWasmPaths(`${join(dirname(wasmPackage), 'dist')}/`);
  await activate('wasm');
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');

  const results = new Map<number, Rates>();
  for (const n of sizes) results.set(n, await benchSize(n));

  console.log(`float32 matmul n x n x n, median of ${runs} interleaved runs after warm-up; GFLOPS = 2 n^3 / time`);
  console.log(
    `peers: tfjs-backend-cpu, tfjs-backend-wasm (simd ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'})`,
  );
  printTable('wall clock', results, 'wall');
  printTable('process CPU time (comparable while every library runs single-threaded)', results, 'cpu');
}

await main();
