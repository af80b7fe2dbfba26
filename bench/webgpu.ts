/**
 * Matmul GFLOPS of @galore-ts/backend-webgpu next to @tensorflow/tfjs-backend-webgpu on the same
 * dawn adapter, at 256, 512 and 1024 (square, f32). Run by hand: `npx tsx bench/webgpu.ts`.
 * Options: SIZES=256,512 REPS=10 SKIP_TFJS=1 DTYPE=bfloat16 TILING=... (see tilingFromEnv) DAWN_FLAGS='a=b c=d'.
 */
import { create, globals } from 'webgpu';
import { createWebGPUBackend } from '../packages/backend-webgpu/src/index.js';
import type { AnyTiling } from '../packages/backend-webgpu/src/kernels/matmul.js';

const sizes = (process.env.SIZES ?? '256,512,1024').split(',').map(Number);
const reps = Number(process.env.REPS ?? 10);
/** Storage dtype of our operands (tfjs always runs float32). */
const dtype = (process.env.DTYPE ?? 'float32') as 'float32' | 'bfloat16' | 'float16';

/** TILING=tm,wg,cn (row-block), s,S,rows,cn (subgroup) or wgX,wgY,tm,tn,bk (tiled). */
function tilingFromEnv(): AnyTiling | undefined {
  const spec = process.env.TILING;
  if (!spec) return undefined;
  const parts = spec.split(',');
  const v = (i: number) => Number(parts[i]);
  if (parts[0] === 's') return { subgroup: v(1), rows: v(2), cn: v(3) };
  if (parts.length === 3) return { tm: v(0), wg: v(1), cn: v(2) };
  return { wgX: v(0), wgY: v(1), tm: v(2), tn: v(3), bk: v(4) };
}

function randomMatrix(n: number): Float32Array {
  return Float32Array.from({ length: n * n }, () => Math.random() * 2 - 1);
}

interface Timing {
  /** Best wall-clock milliseconds per matmul. */
  wallMs: number;
  /** Process CPU milliseconds per matmul in that batch (lavapipe's threads are ours). */
  cpuMs: number;
}

async function timeIt(run: () => void, sync: () => Promise<void>): Promise<Timing> {
  run(); // warm-up: compiles pipelines
  await sync();
  let best: Timing = { wallMs: Number.POSITIVE_INFINITY, cpuMs: Number.POSITIVE_INFINITY };
  // Best of three batches of `reps`: on a shared machine the best batch is the least disturbed.
  for (let trial = 0; trial < 3; trial++) {
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < reps; i++) run();
    await sync();
    const wallMs = (performance.now() - start) / reps;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000 / reps;
    if (wallMs < best.wallMs) best = { wallMs, cpuMs };
  }
  return best;
}

function gflops(n: number, ms: number): number {
  return (2 * n ** 3) / (ms * 1e6);
}

async function ours(n: number): Promise<Timing> {
  const tiling = tilingFromEnv();
  const dawnFlags = process.env.DAWN_FLAGS ? process.env.DAWN_FLAGS.split(' ') : undefined;
  const backend = await createWebGPUBackend({
    ...(tiling ? { matmulTiling: tiling } : {}),
    ...(dawnFlags ? { dawnFlags } : {}),
  });
  try {
    const input = () => {
      const f32 = backend.alloc(n * n, 'float32', 'other');
      backend.write(f32, randomMatrix(n));
      if (dtype === 'float32') return f32;
      const narrow = backend.alloc(n * n, dtype, 'other');
      backend.run('cast', { x: f32, out: narrow }, {});
      return narrow;
    };
    const a = input();
    const b = input();
    const out = backend.alloc(n * n, dtype, 'other');
    const params = { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
    return await timeIt(
      () => backend.run('matmul', { a, b, out }, params),
      () => backend.sync(),
    );
  } finally {
    await backend.destroy();
  }
}

async function tfjs(n: number): Promise<Timing> {
  Object.assign(globalThis, globals);
  const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu)
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  await tf.setBackend('webgpu');
  await tf.ready();
  const a = tf.tensor2d(randomMatrix(n), [n, n]);
  const b = tf.tensor2d(randomMatrix(n), [n, n]);
  let last: { dispose(): void } | null = null;
  return await timeIt(
    () => {
      last?.dispose();
      last = tf.matMul(a, b);
    },
    async () => {
      await (last as unknown as { data(): Promise<unknown> }).data();
    },
  );
}

function describe(n: number, t: Timing): string {
  return `${gflops(n, t.wallMs).toFixed(2)} GFLOPS (${gflops(n, t.cpuMs).toFixed(2)} per CPU-second)`;
}

console.log(
  `cores: ${(await import('node:os')).cpus().length}, load average: ${(await import('node:os')).loadavg()[0]?.toFixed(2)}`,
);
for (const n of sizes) {
  const mine = await ours(n);
  const theirs = process.env.SKIP_TFJS ? null : await tfjs(n);
  const ratio = theirs
    ? `  ratio ${(theirs.wallMs / mine.wallMs).toFixed(2)}x wall, ${(theirs.cpuMs / mine.cpuMs).toFixed(2)}x CPU`
    : '';
  console.log(
    `${n}x${n} ${dtype}: galore-ts ${describe(n, mine)} | tfjs-webgpu ${theirs ? describe(n, theirs) : '-'}${ratio}`,
  );
}
process.exit(0);
