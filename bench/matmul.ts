/**
 * CPU matmul GFLOPS of our CpuBackend next to @tensorflow/tfjs-backend-cpu,
 * @tensorflow/tfjs-backend-wasm (in this process) and PyTorch (bench/torch_matmul.py, in a Python
 * process stepped run by run, when a Python with torch is found), square float32 at 256..2048.
 * Run by hand: `npx tsx bench/matmul.ts` (or `npm run bench:matmul`).
 * Options: SIZES=256,512,1024,2048 RUNS=9 (timed rounds per size; the median is reported);
 *          TFJS_CPU_MAX=1024 (tfjs-backend-cpu, at ~1 GFLOPS, is left out above this size);
 *          PYTHON=/usr/bin/python3, TORCH=0 (see bench/python-worker.ts);
 *          THREADS=n (ours and PyTorch on n threads, as in bench/train-step.ts).
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
import { describeTorch, findTorchPython, PythonWorker, type TorchInfo } from './python-worker.js';

const sizes = (process.env.SIZES ?? '256,512,1024,2048').split(',').map(Number);
const runs = Number(process.env.RUNS ?? 9);
const TFJS_CPU_MAX = Number(process.env.TFJS_CPU_MAX ?? 1024);
const THREADS = process.env.THREADS ? Number(process.env.THREADS) : undefined;
// OpenBLAS reads this when it is loaded (our first matmul; PyTorch's start), so set it first.
if (THREADS) process.env.OPENBLAS_NUM_THREADS = String(THREADS);
const WARMUP_RUNS = 3;
const WARMUP_MS = 400;
const LIBRARIES = ['ours', 'cpu', 'wasm', 'torch'] as const;
type Library = (typeof LIBRARIES)[number];

interface Timing {
  wall: number;
  cpu: number;
}
type Rates = Partial<Record<Library, Timing>>;

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

async function benchSize(n: number, python: string | null): Promise<Rates> {
  const a = randomMatrix(n, n);
  const b = randomMatrix(n, n + 1);
  const runners: Partial<Record<Library, () => Promise<Timing>>> = {};
  for (const library of ['ours', 'cpu', 'wasm'] as const) {
    if (library === 'cpu' && n > TFJS_CPU_MAX) continue;
    await activate(library);
    const run = library === 'ours' ? oursRunner(n, a, b) : tfjsRunner(n, a, b);
    warmUp(run);
    runners[library] = async () => {
      await activate(library);
      return time(run);
    };
  }
  let torch: PythonWorker<TorchInfo> | undefined;
  if (python) {
    const worker = await PythonWorker.start<TorchInfo>(python, 'torch_matmul.py', [String(n), String(THREADS ?? 0)]);
    if (n === sizes[0]) console.log(describeTorch(worker.info));
    runners.torch = () => worker.request<Timing>('run');
    torch = worker;
  }
  const times: Record<Library, Timing[]> = { ours: [], cpu: [], wasm: [], torch: [] };
  for (let round = 0; round < runs; round++) {
    for (const library of LIBRARIES) {
      const run = runners[library];
      if (run) times[library].push(await run());
    }
  }
  torch?.stop();
  const gflops = (seconds: number[]) => (2 * n ** 3) / median(seconds) / 1e9;
  const rates: Rates = {};
  for (const library of LIBRARIES) {
    const ts = times[library];
    if (ts.length > 0) rates[library] = { wall: gflops(ts.map((t) => t.wall)), cpu: gflops(ts.map((t) => t.cpu)) };
  }
  return rates;
}

function printTable(title: string, results: Map<number, Rates>, pick: keyof Timing): void {
  console.log(`\n${title}`);
  const names: Record<Library, string> = { ours: 'ours', cpu: 'tfjs-cpu', wasm: 'tfjs-wasm', torch: 'PyTorch' };
  const header = ['n', ...LIBRARIES.map((l) => `${names[l]} GFLOPS`), 'ours / tfjs-wasm', 'ours / PyTorch'];
  const rows = [...results].map(([n, r]) => {
    const rate = (l: Library) => r[l]?.[pick];
    const ratio = (l: Library) => (rate(l) === undefined ? '-' : `${(rate('ours')! / rate(l)!).toFixed(2)}x`);
    return [String(n), ...LIBRARIES.map((l) => rate(l)?.toFixed(1) ?? '-'), ratio('wasm'), ratio('torch')];
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

  const python = findTorchPython();
  console.log(`ours: ${new CpuBackend().gemm.summary}`);
  if (!python) console.log('PyTorch: no Python with torch found (set PYTHON); left out');

  const results = new Map<number, Rates>();
  for (const n of sizes) results.set(n, await benchSize(n, python));

  console.log(`float32 matmul n x n x n, median of ${runs} interleaved runs after warm-up; GFLOPS = 2 n^3 / time`);
  console.log(
    `peers: tfjs-backend-cpu (n <= ${TFJS_CPU_MAX}), tfjs-backend-wasm (simd ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'})${python ? ', PyTorch' : ''}`,
  );
  printTable('wall clock', results, 'wall');
  printTable("CPU time of each library's process, all threads (tfjs shares ours)", results, 'cpu');
}

await main();
